"""Check that the quickstart's Lab renders and trains in Notebook 7 and in Voila.

    pip install notebook voila playwright        # plus Debian's chromium at /usr/bin/chromium
    python tools/check_notebook7_voila.py notebook
    python tools/check_notebook7_voila.py voila

Serves a temporary copy of notebooks/quickstart.ipynb on 127.0.0.1 (QUICKSTART_TRIALS=300
keeps its scripted training short), runs it (Notebook 7: Run > Run All Cells; Voila runs it
itself), presses Start, samples the loss curve's SVG path for ~5 s, presses Stop, and prints
how many distinct loss paths it saw, whether the PCA trajectories changed, and the status
line; a screenshot goes to /tmp/<frontend>_lab.png.  JupyterLab 4 is covered by the test
suite (tests/ui/test_jupyterlab.py).
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from playwright.sync_api import sync_playwright


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(url, t=60):
    end = time.time() + t
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError("no answer from " + url)


root = tempfile.mkdtemp()
shutil.copy(os.path.join(os.path.dirname(__file__), "..", "notebooks", "quickstart.ipynb"), root)
env = dict(
    os.environ,
    QUICKSTART_TRIALS="300",
    JUPYTER_RUNTIME_DIR=tempfile.mkdtemp(),
    JUPYTER_CONFIG_DIR=tempfile.mkdtemp())
which = sys.argv[1]
port = free_port()
token = "t0k3n"
if which == "notebook":
    cmd = [sys.executable, "-m", "notebook", "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    url = f"http://127.0.0.1:{port}/notebooks/quickstart.ipynb?token={token}"
else:
    cmd = [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           os.path.join(root, "quickstart.ipynb")]
    url = f"http://127.0.0.1:{port}/"
proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
try:
    wait_http(f"http://127.0.0.1:{port}/" + (f"api/status?token={token}" if which == "notebook" else ""), 90)
    with sync_playwright() as p:
        flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url, timeout=120000)
        if which == "notebook":
            page.wait_for_selector(".jp-Notebook", timeout=60000)
            time.sleep(3)
            page.get_by_text("Run", exact=True).first.click()
            page.get_by_text("Run All Cells").first.click()
        start = page.locator("button", has_text="Start").first
        start.wait_for(timeout=180000)
        time.sleep(2)

        def paths(title, first_only):
            return page.evaluate(
                """([title, firstOnly]) => {
                    const f = [...document.querySelectorAll('.bqplot')].find(e => e.textContent.includes(title));
                    if (!f) return null;
                    const d = [...f.querySelectorAll('path.line, .line path')].map(p => p.getAttribute('d'));
                    return firstOnly ? (d[0] || null) : d.join('|');
                }""", [title, first_only])

        def traj_d():
            return paths("hidden-state", False)
        before = traj_d()
        start.click()

        def loss_d():
            return paths("loss", True)
        samples = []
        for _ in range(8):
            time.sleep(0.6)
            samples.append(loss_d())
        page.locator("button", has_text="Stop").first.click()
        time.sleep(1.5)
        status = page.locator(".psychrnn-training-status").first.inner_text()
        after = traj_d()
        print("trajectory paths changed:", before != after, len(before or ""), len(after or ""))
        page.screenshot(path=f"/tmp/{which}_lab.png")
        print(which, "distinct loss paths:", len(set(s for s in samples if s)), "| status:", status[:90])
        b.close()
finally:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(20)
