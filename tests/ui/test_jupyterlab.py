"""The dashboard in a real browser: JupyterLab 4 + Debian's chromium driven by Playwright.

Opens ``notebooks/quickstart.ipynb`` (a temporary copy), runs all its cells from the Run
menu, presses the dashboard's **Start** button, checks that the loss line's SVG path keeps
changing for more than three seconds, presses **Stop**, checks the status line says the
run stopped and the line no longer moves, and saves a screenshot of the dashboard to
pytest's temporary directory (and, with ``PSYCHRNN_UPDATE_SCREENSHOT=1``, to
``docs/lab_training.png``, the picture in the README).

Skipped, with the reason, where ``/usr/bin/chromium`` or the ``playwright`` package is
missing (see ``conftest.py``).
"""
import os
import re
import shutil
import time

import pytest

pytestmark = pytest.mark.browser

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK = "notebooks/quickstart.ipynb"
SCREENSHOT = os.path.join(REPO, "docs", "lab_training.png")
VIEWPORT = {"width": 1400, "height": 1300}

NOTEBOOK_TIMEOUT = 150.0  # open + kernel start + run all cells (the scripted training is shortened)
FIRST_POINT_TIMEOUT = 60.0  # Start -> the first loss point drawn (includes compiling the step)
OBSERVE_SECONDS = 4.0  # watch the loss path for this long (the issue asks for >= 3 s)
SAMPLE_EVERY = 0.5

# The ``d`` attribute of the current network's loss line (drawn after the overlays of earlier networks).
LOSS_PATH_JS = """() => {
  const fig = document.querySelector('.psychrnn-loss-figure');
  if (!fig) return null;
  const paths = [...fig.querySelectorAll('g.curve path.line')];
  const path = paths.length ? paths[paths.length - 1] : null;
  return path ? (path.getAttribute('d') || '') : '';
}"""

# Every code cell shows an execution count ("[12]:", not "[ ]:" or "[*]:").
ALL_CELLS_RUN_JS = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def _kernels_idle(server):
    try:
        kernels = server.api("kernels")
    except OSError:  # e.g. a 500 while the kernel is still starting: ask again
        return False
    return bool(kernels) and all(k.get("execution_state") == "idle" for k in kernels)


def _wait(predicate, timeout, what, interval=0.25, hint=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{hint()}")
        time.sleep(interval)


def _notebook_errors(page):
    text = page.locator(".jp-OutputArea-output").all_inner_texts()
    return [t for t in text if "Traceback (most recent call last)" in t or re.search(r"^\w*Error\b", t, re.M)]


def test_start_grows_loss_curve_and_stop_stops(jupyter_lab, chromium, tmp_path):
    timings = {}
    t_begin = time.monotonic()
    context = chromium.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    console_errors = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))

    def widget_errors():
        errors = [e for e in console_errors
                  if "Error setting state" in e or "Could not create a view" in e or e.startswith("uncaught:")]
        return f" (browser console: {errors[:4]})" if errors else ""
    try:
        # ---- open the notebook and wait for its kernel
        page.goto(jupyter_lab.url(f"lab/tree/{NOTEBOOK}"), wait_until="domcontentloaded", timeout=60_000)
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="visible", timeout=60_000)
        _wait(lambda: _kernels_idle(jupyter_lab), 60, "the notebook's kernel to start")
        timings["open"] = time.monotonic() - t_begin
        # hide the file browser (Ctrl+B, application:toggle-left-area): the dashboard gets the width
        page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.keyboard.press("Escape")
        page.keyboard.press("Control+b")
        page.locator("#jp-left-stack").wait_for(state="hidden", timeout=10_000)

        # ---- Run > Run All Cells, as a user would
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()
        t_run = time.monotonic()

        def notebook_done():
            errors = _notebook_errors(page)
            assert not errors, "a notebook cell failed:\n" + "\n\n".join(errors)[-3000:]
            return page.evaluate(ALL_CELLS_RUN_JS) and _kernels_idle(jupyter_lab)

        _wait(notebook_done, NOTEBOOK_TIMEOUT, "all cells of the quickstart to run", interval=0.5)
        timings["run all cells"] = time.monotonic() - t_run

        # ---- the dashboard has rendered (widgets, not "Loading widget...")
        dashboard = page.locator(".jp-OutputArea-output", has=page.locator(".psychrnn-training-status")).first
        dashboard.wait_for(state="attached", timeout=30_000)
        dashboard.evaluate("element => element.scrollIntoView({block: 'start'})")
        status = dashboard.locator(".psychrnn-training-status")
        status.wait_for(state="visible")
        state = lambda: status.text_content().split(" · ")[0].strip()  # noqa: E731
        _wait(lambda: state() == "idle", 10, "the status line to say 'idle'")
        _wait(lambda: page.evaluate(LOSS_PATH_JS) is not None, 30, "the loss figure to render")
        before = page.evaluate(LOSS_PATH_JS)
        start = dashboard.locator("button.jupyter-button", has_text=re.compile(r"^\s*Start\s*$"))
        stop = dashboard.locator("button.jupyter-button", has_text=re.compile(r"^\s*Stop\s*$"))
        assert start.is_enabled() and stop.is_disabled()

        # ---- Start: the loss line appears and keeps changing for more than three seconds
        t_start = time.monotonic()
        start.click()
        _wait(lambda: (page.evaluate(LOSS_PATH_JS) or "") not in ("", before) and state() == "running",
              FIRST_POINT_TIMEOUT, "the first loss points after Start", interval=0.2, hint=widget_errors)
        timings["start -> first loss point"] = time.monotonic() - t_start
        samples = []  # (seconds since the first sample, d)
        t0 = time.monotonic()
        while True:
            elapsed = time.monotonic() - t0
            samples.append((elapsed, page.evaluate(LOSS_PATH_JS)))
            if elapsed >= OBSERVE_SECONDS:
                break
            time.sleep(SAMPLE_EVERY)
        changes = [t for (t, d), (_, previous) in zip(samples[1:], samples) if d != previous]
        distinct = len({d for _, d in samples})
        assert samples[-1][0] - samples[0][0] >= 3.0
        assert samples[-1][1] != samples[0][1], (
            f"the loss path did not change in {samples[-1][0]:.1f} s: {samples[0][1]!r:.80}{widget_errors()}")
        assert distinct >= 4 and changes and changes[-1] >= 3.0, (
            f"the loss path should keep changing for >= 3 s: {distinct} distinct paths in {len(samples)} "
            f"samples, changes at {[round(t, 1) for t in changes]} s{widget_errors()}")
        assert all(len(d) > 0 and d.startswith("M") for _, d in samples)
        running_text = status.text_content()
        assert re.search(r"step \d+", running_text) and "running" in running_text, running_text

        # ---- Stop: the run ends, the status says so, the line stops moving
        t_stop = time.monotonic()
        stop.click()
        _wait(lambda: state() == "stopped", 60,
              "the status line to say 'stopped'", interval=0.2)
        timings["stop -> stopped"] = time.monotonic() - t_stop
        _wait(lambda: start.is_enabled() and stop.is_disabled(), 10, "Start to be enabled again after Stop")
        stopped_text = status.text_content()
        assert re.search(r"step \d+", stopped_text), stopped_text
        _wait(lambda: _kernels_idle(jupyter_lab), 30, "the kernel to be idle after Stop")
        final = page.evaluate(LOSS_PATH_JS)
        time.sleep(1.5)
        assert page.evaluate(LOSS_PATH_JS) == final, "the loss path still changes after Stop"

        assert not widget_errors(), f"widget errors in the browser console{widget_errors()}"

        # ---- screenshot of the dashboard (kept small: CSS pixels, 1x)
        page.mouse.move(0, 0)  # no hover highlight or tooltip in the picture
        shot = tmp_path / "lab_training.png"
        dashboard.screenshot(path=str(shot), animations="disabled", scale="css")
        size = shot.stat().st_size
        assert 10_000 < size < 300_000, f"screenshot is {size} bytes"
        if os.environ.get("PSYCHRNN_UPDATE_SCREENSHOT"):  # refresh the README's picture on request
            os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)
        timings["total"] = time.monotonic() - t_begin
        print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
        print(f"status after Stop: {stopped_text}")
        print(f"screenshot: {shot} ({size} bytes)")
    except BaseException:
        try:
            page.screenshot(path=str(tmp_path / "failure.png"))
        except Exception:  # noqa: BLE001
            pass
        print("browser console errors:", console_errors[-20:])
        print("jupyter lab log:\n" + jupyter_lab.log())
        raise
    finally:
        context.close()
