"""Real-browser fixtures: a throw-away JupyterLab on 127.0.0.1 and Debian's chromium driven by Playwright.

Nothing here downloads a browser: Playwright's Python package only provides the driver,
and the browser is the system's ``/usr/bin/chromium`` (``apt-get install -y chromium``).
A machine without it (or without the ``playwright`` package) skips these tests with the
reason stated.

The server gets its own token, port, root directory (a copy of the repository's
``notebooks/``), workspace, settings, config, runtime and IPython directories under
pytest's temporary directory, and is shut down in the fixture's teardown: first through
its REST API (which also shuts the kernels down), then by signalling its process group
and any kernel it started, by PID.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

CHROMIUM = os.environ.get("PSYCHRNN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_START_TIMEOUT = 180.0  # a loaded 2-core machine starts a server slowly: a state waited for, not a timing
HOST = "127.0.0.1"


def _require_browser_stack():
    """Skip (with the reason) unless chromium, Playwright and JupyterLab are all available."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"real-browser test needs Debian's chromium at {CHROMIUM} "
                    "(apt-get install -y chromium); no browser is downloaded")
    pytest.importorskip("playwright.sync_api",
                        reason="real-browser test needs the 'playwright' Python package (pip install -e '.[test]')")
    pytest.importorskip("jupyterlab", reason="real-browser test needs JupyterLab (pip install -e '.[test]')")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _descendants(pid):
    """PIDs of all live descendants of ``pid`` (from /proc; empty where /proc is missing)."""
    children = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    try:  # a zombie counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ServerProcess:
    """A server started by a fixture (in its own session): its log, and stopping it with its children by PID."""

    def __init__(self, proc, port, log_path):
        self.proc, self.port, self.log_path = proc, port, log_path

    def log(self, tail=4000):
        try:
            with open(self.log_path, errors="replace") as fh:
                return fh.read()[-tail:]
        except OSError:
            return ""

    def terminate(self, started):
        """SIGTERM, then SIGKILL, to the server's process group and to ``started`` (PIDs); waits for them."""
        pid = self.proc.pid
        for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
            if self.proc.poll() is None:
                try:
                    os.killpg(pid, sig)  # start_new_session: the server's group id is its PID
                except ProcessLookupError:
                    pass
            for child in started:
                if _alive(child):
                    try:
                        os.kill(child, sig)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and (self.proc.poll() is None or any(map(_alive, started))):
                time.sleep(0.1)
        try:
            self.proc.wait(1)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


class LabServer(ServerProcess):
    """A running ``jupyter lab``: ``url(path)`` gives an authenticated URL."""

    def __init__(self, proc, port, token, root, log_path):
        super().__init__(proc, port, log_path)
        self.token, self.root = token, root
        self.base = f"http://{HOST}:{port}"

    def url(self, path=""):
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path, method="GET", timeout=5.0):
        request = urllib.request.Request(self.url(f"api/{path}"), method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.api("status", timeout=2.0)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        raise RuntimeError(f"the server did not answer on {self.base} within {timeout:.0f} s:\n{self.log()}")

    def stop(self):
        """Shut the server and its kernels down; escalate to signals by PID; never raises."""
        pid = self.proc.pid
        started = set(_descendants(pid))  # the kernels (each in its own session) and their children
        if self.proc.poll() is None:
            try:
                self.api("shutdown", method="POST", timeout=5.0)  # also shuts down the kernels
            except Exception:  # noqa: BLE001 - fall through to the signals
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self.terminate(started)


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """A JupyterLab 4 server on 127.0.0.1 serving a temporary copy of ``notebooks/``."""
    yield from _jupyter_server(tmp_path_factory, "jupyterlab")


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    """A Notebook 7 server on 127.0.0.1 serving a temporary copy of ``notebooks/`` (skipped without it)."""
    pytest.importorskip("notebook", reason="the Notebook 7 test needs notebook>=7 (pip install -e '.[lab]')")
    yield from _jupyter_server(tmp_path_factory, "notebook")


def _jupyter_server(tmp_path_factory, app):
    """``jupyter lab`` or ``jupyter notebook`` (``app``: its module) with a root, settings and runtime of its own."""
    _require_browser_stack()
    base = tmp_path_factory.mktemp(app)
    root = base / "root"
    shutil.copytree(os.path.join(REPO, "notebooks"), root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for notebook in (root / "notebooks").rglob("*.ipynb"):  # start clean: no stored counts or outputs
        content = json.loads(notebook.read_text(encoding="utf-8"))
        for cell in content.get("cells", []):
            if cell.get("cell_type") == "code":
                cell["execution_count"], cell["outputs"] = None, []
        notebook.write_text(json.dumps(content, indent=1), encoding="utf-8")
    dirs = {name: base / name for name in ("runtime", "config", "settings", "workspaces", "ipython")}
    for path in dirs.values():
        path.mkdir()
    if app == "jupyterlab":
        # no announcements toast / update check, no news fetching from the network.  (Notebook 7 has no such
        # plugin: a settings file for it makes its page throw "Cannot read properties of undefined (reading
        # 'schema')" in its shortcuts plugin)
        notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}))
    token = secrets.token_hex(24)
    port = _free_port()
    env = dict(os.environ)
    env.update(
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PLATFORM_DIRS="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        # the notebooks' scripted training (after the dashboard cells): short in these tests
        PSYCHRNN_WIDGETS_FAST="1",
        PYTHONPATH=os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p),
    )
    env.pop("JUPYTER_TOKEN", None)
    command = [
        sys.executable, "-m", app, "--allow-root", "--no-browser",
        f"--ip={HOST}", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
    ]
    if app == "jupyterlab":
        command += [
            f"--LabApp.workspaces_dir={dirs['workspaces']}",
            f"--LabApp.user_settings_dir={dirs['settings']}",
            "--LabApp.news_url=None",
            "--LabApp.extension_manager=readonly",
        ]
    else:
        command += [f"--JupyterNotebookApp.user_settings_dir={dirs['settings']}",
                    f"--JupyterNotebookApp.workspaces_dir={dirs['workspaces']}"]
    log_path = base / f"{app}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(proc, port, token, root, log_path)
    try:
        server.wait_ready(SERVER_START_TIMEOUT)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium, headless, launched by Playwright (never a downloaded browser)."""
    _require_browser_stack()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                             timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


class VoilaServer(ServerProcess):
    """A running ``voila`` serving one notebook; ``url`` is its page."""

    def __init__(self, proc, port, log_path):
        super().__init__(proc, port, log_path)
        self.url = f"http://{HOST}:{port}/"

    def stop(self):
        """Stop the server and the kernel it started, by PID (process group, then descendants); never raises."""
        self.terminate(set(_descendants(self.proc.pid)))


@pytest.fixture(scope="module")
def voila_server(tmp_path_factory):
    """Voilà on 127.0.0.1 serving a copy of ``notebooks/classroom.ipynb`` (skipped without voila)."""
    _require_browser_stack()
    pytest.importorskip("voila", reason="the Voilà test needs voila (pip install -e '.[lab]' or '.[test]')")
    base = tmp_path_factory.mktemp("voila")
    shutil.copy(os.path.join(REPO, "notebooks", "classroom.ipynb"), base / "classroom.ipynb")
    # the repository's voila.json (read from Voila's working directory): only the widget front-ends load
    shutil.copy(os.path.join(REPO, "voila.json"), base / "voila.json")
    runtime = base / "runtime"
    runtime.mkdir()
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(base / "config"),
               TF_CPP_MIN_LOG_LEVEL="2", PSYCHRNN_WIDGETS_FAST="1",
               PYTHONPATH=os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p))
    command = [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", f"--Voila.ip={HOST}",
               "--Voila.port_retries=0", str(base / "classroom.ipynb")]
    log_path = base / "voila.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=base, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = VoilaServer(proc, port, log_path)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited with {proc.returncode}:\n{server.log()}")
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"voila did not listen on {port}:\n{server.log()}")
                time.sleep(0.25)
        yield server
    finally:
        server.stop()
