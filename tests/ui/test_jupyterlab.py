"""The dashboard in a real browser: JupyterLab 4 (and Voilà) + Debian's chromium driven by Playwright.

* ``test_quickstart_dashboard``: opens ``notebooks/quickstart.ipynb`` at 1280x720 with the
  side bar open, runs all cells from the Run menu, checks that Start, the status line and
  the loss curve are on screen together, presses Start and checks that the loss line's
  SVG path keeps changing for more than three seconds, presses Stop, opens the Analysis
  tab and checks that the psychometric and PSTH plots are drawn, picks another task in
  the Task tab (its preview changes; Start would build a new network: said next to
  Start), and saves a screenshot (``docs/lab_1280x720.png`` with ``PSYCHRNN_UPDATE_SCREENSHOT=1``).
* ``test_curriculum_stage_is_shown``: ``notebooks/curriculum.ipynb``'s dashboard trains
  through a curriculum; the status line and the Curriculum tab show the stage reached.
* ``test_classroom_in_voila``: ``notebooks/classroom.ipynb`` served by Voilà on 127.0.0.1:
  pick a preset, press Train, the loss curve changes.

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
SCREENSHOT = os.path.join(REPO, "docs", "lab_1280x720.png")
VIEWPORT = {"width": 1280, "height": 720}

NOTEBOOK_TIMEOUT = 180.0  # open + kernel start + run all cells (the scripted training is shortened)
FIRST_POINT_TIMEOUT = 60.0  # Start -> the first loss point drawn (includes compiling the step)
OBSERVE_SECONDS = 4.0  # watch the loss path for this long (the issue asks for >= 3 s)
SAMPLE_EVERY = 0.5

# The ``d`` attribute of the current network's loss line (drawn after the overlays of earlier networks).
LOSS_PATH_JS = """(root) => {
  const scope = root || document;
  const fig = scope.querySelector('.psychrnn-loss-figure');
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

# Non-empty SVG paths of the marks in the figure with the given CSS class.
FIGURE_PATHS_JS = """(cls) => {
  const fig = document.querySelector('.' + cls);
  if (!fig) return -1;
  return [...fig.querySelectorAll('path')].filter(p => (p.getAttribute('d') || '').length > 10).length;
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


class Browser:
    """A page with its console errors recorded."""

    def __init__(self, chromium, viewport=VIEWPORT):
        self.context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.console = []
        self.page.on("console", lambda msg: self.console.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))

    def widget_errors(self):
        errors = [e for e in self.console
                  if "Error setting state" in e or "Could not create a view" in e or e.startswith("uncaught:")]
        return f" (browser console: {errors[:4]})" if errors else ""

    def close(self):
        self.context.close()


def open_and_run(browser, server, notebook, marker_class="psychrnn-training-status"):
    """Open ``notebook`` in JupyterLab, Run > Run All Cells, return the output area holding the dashboard."""
    page = browser.page
    # a workspace of its own, reset: JupyterLab would otherwise restore the tabs an earlier test
    # opened, and "Run All Cells" runs whichever notebook is active
    workspace = re.sub(r"\W", "-", notebook)
    page.goto(server.url(f"lab/workspaces/{workspace}/tree/{notebook}?reset"), wait_until="domcontentloaded",
              timeout=60_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(state="visible", timeout=60_000)
    _wait(lambda: _kernels_idle(server), 90, "the notebook's kernel to start")
    page.locator(".jp-NotebookPanel:visible .jp-Cell").first.click()  # focus this notebook
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()

    def notebook_done():
        errors = _notebook_errors(page)
        assert not errors, "a notebook cell failed:\n" + "\n\n".join(errors)[-3000:]
        return page.evaluate(ALL_CELLS_RUN_JS) and _kernels_idle(server)

    prompts = ("() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]"
               ".map(p => p.textContent)")
    _wait(notebook_done, NOTEBOOK_TIMEOUT, f"all cells of {notebook} to run", interval=0.5,
          hint=lambda: f" (prompts: {page.evaluate(prompts)}, kernels idle: {_kernels_idle(server)})")
    dashboard = page.locator(".jp-OutputArea-output", has=page.locator(f".{marker_class}")).first
    dashboard.wait_for(state="attached", timeout=30_000)
    return dashboard


def state_of(status):
    return status.text_content().split(" · ")[0].strip()


def inside_viewport(locator, viewport=VIEWPORT):
    box = locator.bounding_box()
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            and box["y"] + box["height"] <= viewport["height"]), box


def test_quickstart_dashboard(jupyter_lab, chromium, tmp_path):
    timings = {}
    t_begin = time.monotonic()
    browser = Browser(chromium)
    page = browser.page
    try:
        dashboard = open_and_run(browser, jupyter_lab, "notebooks/quickstart.ipynb")
        timings["open and run all"] = time.monotonic() - t_begin
        assert page.locator("#jp-left-stack").is_visible()  # the side bar stays open
        dashboard.evaluate("element => element.scrollIntoView({block: 'start'})")
        status = dashboard.locator(".psychrnn-training-status")
        status.wait_for(state="visible")
        _wait(lambda: state_of(status) == "idle", 10, "the status line to say 'idle'")
        _wait(lambda: page.evaluate(LOSS_PATH_JS, None) is not None, 30, "the loss figure to render")
        start = dashboard.locator("button.jupyter-button", has_text=re.compile(r"^\s*Start\s*$")).first
        stop = dashboard.locator("button.jupyter-button", has_text=re.compile(r"^\s*Stop\s*$")).first
        loss_figure = dashboard.locator(".psychrnn-loss-figure").first
        # at 1280x720 with the side bar open: Start, the status line and the loss curve on one screen
        for name, locator in (("Start", start), ("the status line", status), ("the loss curve", loss_figure)):
            inside, box = inside_viewport(locator)
            assert inside, f"{name} is not inside the 1280x720 viewport: {box}"
        before = page.evaluate(LOSS_PATH_JS, None)
        assert start.is_enabled() and stop.is_disabled()

        # ---- Start: the loss line appears and keeps changing for more than three seconds
        t_start = time.monotonic()
        start.click()
        _wait(lambda: (page.evaluate(LOSS_PATH_JS, None) or "") not in ("", before) and state_of(status) == "running",
              FIRST_POINT_TIMEOUT, "the first loss points after Start", interval=0.2, hint=browser.widget_errors)
        timings["start -> first loss point"] = time.monotonic() - t_start
        samples = []
        t0 = time.monotonic()
        while True:
            elapsed = time.monotonic() - t0
            samples.append((elapsed, page.evaluate(LOSS_PATH_JS, None)))
            if elapsed >= OBSERVE_SECONDS:
                break
            time.sleep(SAMPLE_EVERY)
        changes = [t for (t, d), (_, previous) in zip(samples[1:], samples) if d != previous]
        distinct = len({d for _, d in samples})
        assert samples[-1][1] != samples[0][1], f"the loss path did not change{browser.widget_errors()}"
        assert distinct >= 4 and changes and changes[-1] >= 3.0, (
            f"the loss path should keep changing for >= 3 s: {distinct} distinct paths in {len(samples)} "
            f"samples, changes at {[round(t, 1) for t in changes]} s{browser.widget_errors()}")
        running_text = status.text_content()
        assert re.search(r"step \d+", running_text) and "running" in running_text, running_text

        # ---- Stop: returns at once, the run ends, the line stops moving, the network is kept
        t_stop = time.monotonic()
        stop.click()
        _wait(lambda: state_of(status) == "stopped", 60, "the status line to say 'stopped'", interval=0.2)
        timings["stop -> stopped"] = time.monotonic() - t_stop
        _wait(lambda: start.is_enabled() and stop.is_disabled(), 10, "Start to be enabled again after Stop")
        stopped_text = status.text_content()
        assert re.search(r"step \d+", stopped_text), stopped_text
        _wait(lambda: _kernels_idle(jupyter_lab), 30, "the kernel to be idle after Stop")
        final = page.evaluate(LOSS_PATH_JS, None)
        time.sleep(1.0)
        assert page.evaluate(LOSS_PATH_JS, None) == final, "the loss path still changes after Stop"

        # ---- screenshot after Stop, 1280x720, side bar open
        page.mouse.move(0, 0)
        shot = tmp_path / "lab_1280x720.png"
        page.screenshot(path=str(shot), animations="disabled", scale="css")
        size = shot.stat().st_size
        assert 10_000 < size < 600_000, f"screenshot is {size} bytes"
        if os.environ.get("PSYCHRNN_UPDATE_SCREENSHOT"):
            os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)

        # ---- the Analysis tab: the psychometric curve and the PSTHs of the trained network are drawn
        dashboard.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Analysis\s*$")).first.click()
        t_analysis = time.monotonic()
        _wait(lambda: page.evaluate(FIGURE_PATHS_JS, "psychrnn-psychometric-figure") >= 1, 120,
              "the psychometric curve to be drawn", interval=0.5, hint=browser.widget_errors)
        dashboard.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Units\s*$")).first.click()
        _wait(lambda: page.evaluate(FIGURE_PATHS_JS, "psychrnn-psth-figure") >= 1, 120,
              "the PSTH plot to be drawn", interval=0.5, hint=browser.widget_errors)
        timings["analysis drawn"] = time.monotonic() - t_analysis

        # ---- pick another task: the preview changes; Start would build a new network (said next to Start)
        dashboard.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Task\s*$")).first.click()
        picker = dashboard.locator(".psychrnn-task-picker select").first
        preview_before = dashboard.locator(".psychrnn-task-preview").first.inner_html()
        picker.select_option("GoNoGo")
        _wait(lambda: dashboard.locator(".psychrnn-task-preview").first.inner_html() != preview_before, 30,
              "the task preview to change")
        _wait(lambda: "Start will build a new" in dashboard.inner_text(), 10,
              "the pending change next to Start", hint=browser.widget_errors)
        assert not browser.widget_errors(), f"widget errors in the browser console{browser.widget_errors()}"
        timings["total"] = time.monotonic() - t_begin
        print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
        print(f"status after Stop: {stopped_text}")
    except BaseException:
        try:
            page.screenshot(path=str(tmp_path / "failure.png"))
        except Exception:  # noqa: BLE001
            pass
        print("browser console errors:", browser.console[-20:])
        print("jupyter lab log:\n" + jupyter_lab.log())
        raise
    finally:
        browser.close()


def test_curriculum_stage_is_shown(jupyter_lab, chromium, tmp_path):
    browser = Browser(chromium, viewport={"width": 1280, "height": 900})
    page = browser.page
    try:
        dashboard = open_and_run(browser, jupyter_lab, "notebooks/curriculum.ipynb")
        dashboard.evaluate("element => element.scrollIntoView({block: 'start'})")
        status = dashboard.locator(".psychrnn-training-status").first
        assert "stage 1/4" in status.text_content()
        dashboard.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Curriculum\s*$")).first.click()
        dashboard.locator("button.jupyter-button", has_text=re.compile(r"^\s*Start\s*$")).first.click()
        _wait(lambda: re.search(r"stage [2-4]/4|curriculum finished", status.text_content()), 120,
              "the curriculum to pass stage 1", interval=0.5, hint=browser.widget_errors)
        stop = dashboard.locator("button.jupyter-button", has_text=re.compile(r"^\s*Stop\s*$")).first
        try:
            stop.click(timeout=5_000)
        except Exception:  # on a fast machine the curriculum can finish before Stop is pressed
            assert state_of(status) == "done", status.text_content()
        _wait(lambda: state_of(status) in ("stopped", "done"), 60, "the run to end")
        header_of = dashboard.locator("b", has_text="Curriculum").first.locator("xpath=..")

        def expected_header(text):
            if "curriculum finished (4/4)" in text:
                return "finished"
            return "stage %s of 4" % re.search(r"stage (\d)/4", text).group(1)

        # the status line and the Curriculum tab change in one flush, but the browser draws them one after the other
        _wait(lambda: expected_header(status.text_content()) in header_of.inner_text(), 10,
              "the Curriculum tab to show the stage of the status line",
              hint=lambda: f" (status: {status.text_content()}; tab: {header_of.inner_text()})")
        text, header = status.text_content(), header_of.inner_text()
        if "finished" not in header:
            stage = int(re.search(r"stage (\d) of 4", header).group(1))
            marked = dashboard.locator("span", has_text="\u25b6").first.inner_text()  # the current stage's row
            assert f"coherence={(0.7, 0.5, 0.3, 0.1)[stage - 1]:g}" in marked, marked
        assert "5/4" not in text and "5 of 4" not in header
        assert not browser.widget_errors(), browser.widget_errors()
        print("status after Stop:", status.text_content(), "| Curriculum tab:", header)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print("browser console errors:", browser.console[-20:])
        raise
    finally:
        browser.close()


def test_classroom_in_voila(voila_server, chromium, tmp_path):
    browser = Browser(chromium)
    page = browser.page
    try:
        page.goto(voila_server.url, wait_until="domcontentloaded", timeout=120_000)
        app = page.locator(".psychrnn-classroom").first
        app.wait_for(state="visible", timeout=180_000)
        # Voila shows the markdown and the widgets, never the code
        assert page.locator(".jp-CodeCell .jp-InputArea:visible, .cm-editor:visible").count() == 0
        assert "import Classroom" not in page.locator("body").inner_text()
        status = app.locator(".psychrnn-training-status").first
        # a student's path: pick a preset, Train, Stop part-way, Train again to the end of the budget
        page.locator("button", has_text=re.compile(r"^\s*with Dale's law\s*$")).first.click()
        _wait(lambda: re.search(r"preset .with Dale's law.:", app.inner_text()), 60, "the preset to build its network")
        assert "50 units · Dale 80% E" in app.inner_text(), app.inner_text()[:900]
        before = page.evaluate(LOSS_PATH_JS, None)
        train = page.locator("button", has_text=re.compile(r"^\s*Train\s*$")).first
        stop = page.locator("button", has_text=re.compile(r"^\s*Stop\s*$")).first
        train.click()
        _wait(lambda: (page.evaluate(LOSS_PATH_JS, None) or "") not in ("", before), 90,
              "the loss curve to change after Train", interval=0.2, hint=browser.widget_errors)
        assert stop.is_enabled() and not train.is_enabled()
        stop.click()
        _wait(lambda: state_of(status) in ("stopped", "done"), 60, "the run to end after Stop")
        stopped_at = int(re.search(r"step (\d+)", status.text_content()).group(1))
        trials_at_stop = int(re.search(r"([\d,]+) trials", status.text_content()).group(1).replace(",", ""))
        assert state_of(status) == "stopped", status.text_content()  # 15,000 trials take longer than this
        assert train.is_enabled() and not stop.is_enabled()
        train.click()  # continues the same network
        _wait(lambda: state_of(status) == "done", 120, "the run to finish its budget", interval=0.5,
              hint=lambda: f" (status: {status.text_content()})")
        steps = int(re.search(r"step (\d+)", status.text_content()).group(1))
        assert steps > stopped_at, (stopped_at, status.text_content())
        trials = int(re.search(r"([\d,]+) trials", status.text_content()).group(1).replace(",", ""))
        assert 15_000 <= trials - trials_at_stop < 15_000 + 256, (trials_at_stop, status.text_content())  # a budget more
        page.screenshot(path=str(tmp_path / "classroom.png"))
        assert not browser.widget_errors(), browser.widget_errors()
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print("browser console errors:", browser.console[-20:])
        print("voila log:\n" + voila_server.log())
        raise
    finally:
        browser.close()
