"""The dashboard in a real browser: JupyterLab 4, Notebook 7 and Voilà + Debian's chromium driven by Playwright.

Every test counts the browser console's errors (and uncaught exceptions) and asserts there
are none, and waits on states (a status line, a path that changed, a class that went away),
never on time: a loaded machine only makes it wait longer (issue 22: they pass three times
in a row with two busy processes beside them).

* ``test_quickstart_dashboard``: opens ``notebooks/quickstart.ipynb`` at 1280x720 with the
  side bar open, runs all cells from the Run menu; Start, the status line and the loss curve
  are on screen together; on every tab the Lab fits two screens and no button, label or tab
  title is cut; Start: the loss line's path changes several times; Stop: the status and
  progress lines count the same trials and no time left is shown; the Analysis tab draws the
  psychometric curve and the PSTHs; a second network (New network, trained a little) never
  shows the first one's accuracy, and after Runs > Bring back of the first one the Analysis
  tab shows the first network's results or a "computing…" state, never the second's; another
  task in the Task tab (its preview changes; Start would build a new network); a kernel
  restart mid-training shows the dashboard's "kernel restarted" note.  Screenshots
  ``docs/lab_1280x720.png`` and ``docs/runs_1280x720.png`` (with ``PSYCHRNN_UPDATE_SCREENSHOT=1``).
* ``test_quickstart_in_notebook7``: the same notebook in Notebook 7: Start, the loss changes,
  Stop, the Analysis tab; no console error.
* ``test_curriculum_stage_is_shown``: ``notebooks/curriculum.ipynb``'s dashboard trains
  through a curriculum; the status line and the Curriculum tab show the stage reached.
* ``test_classroom_in_voila``: ``notebooks/classroom.ipynb`` served by Voilà on 127.0.0.1:
  the three plots whole on the 1280x720 screen with tick labels >= 14 px; pick a preset,
  Train, Stop, Train to the end of the budget; screenshot ``docs/classroom_1280x720.png``.

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
DOCS = os.path.join(REPO, "docs")
VIEWPORT = {"width": 1280, "height": 720}
#: the whole Lab, on any of its tabs, within two screens of the viewport
MAX_LAB_HEIGHT = 2 * VIEWPORT["height"]

# Generous limits: every wait ends as soon as the state is reached (a slow machine only waits longer)
NOTEBOOK_TIMEOUT = 300.0  # open + kernel start + run all cells (the scripted training is shortened)
FIRST_POINT_TIMEOUT = 180.0  # Start -> the first loss point drawn (includes compiling the step)
CHANGES_TIMEOUT = 180.0  # Start -> the loss path seen changing several times
ANALYSIS_TIMEOUT = 240.0
DISTINCT_PATHS = 4  # the loss path must be seen in this many distinct states while training

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
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""

# Non-empty SVG paths of the marks in the figure with the given CSS class.
FIGURE_PATHS_JS = """(cls) => {
  const fig = document.querySelector('.' + cls);
  if (!fig) return -1;
  return [...fig.querySelectorAll('path')].filter(p => (p.getAttribute('d') || '').length > 10).length;
}"""

# Shown buttons, widget labels and tab titles whose text is cut (wider than their box).
CLIPPED_JS = """(root) => {
  const out = [];
  for (const el of root.querySelectorAll('button, .widget-label, .lm-TabBar-tabLabel')) {
    if (el.offsetParent === null || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.scrollWidth > el.clientWidth + 1) out.push((el.textContent || '').trim().slice(0, 40));
  }
  return out;
}"""

# Record, at every change inside the dashboard, the Lab's message line and the accuracy the Analysis tab shows.
WATCH_ANALYSIS_JS = """(root) => {
  window.__psychrnnLog = [];
  const read = () => {
    const message = root.querySelector('.psychrnn-lab-message');
    const fit = root.querySelector('.psychrnn-fit-label');
    const panel = root.querySelector('.psychrnn-analysis-behaviour');
    window.__psychrnnLog.push({
      message: message ? message.textContent : '',
      fit: fit ? fit.textContent : '',
      computing: panel ? panel.classList.contains('psychrnn-analysis-computing') : false,
    });
  };
  read();
  new MutationObserver(read).observe(root, {subtree: true, childList: true, characterData: true,
                                            attributes: true, attributeFilter: ['class']});
}"""


def _kernels_idle(server):
    try:
        kernels = server.api("kernels")
    except OSError:  # e.g. a 500 while the kernel is still starting: ask again
        return False
    return bool(kernels) and all(k.get("execution_state") == "idle" for k in kernels)


def _session_idle(server, notebook):
    """Whether ``notebook`` (its path under the server's root) has a session whose kernel is idle."""
    try:
        sessions = server.api("sessions")
    except OSError:
        return False
    return any(s.get("path", "").endswith(notebook) and (s.get("kernel") or {}).get("execution_state") == "idle"
               for s in sessions or ())


def _wait(predicate, timeout, what, interval=0.25, hint=lambda: ""):
    """Wait for a state: poll ``predicate`` until it is true (its value is returned) or ``timeout`` s pass."""
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
    """A page whose console errors (and uncaught exceptions) and version-mismatch warnings are counted."""

    def __init__(self, chromium, viewport=VIEWPORT):
        self.context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.errors = []
        self.warnings = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)
        self.stacks = {}  # uncaught error text -> its stack

    def _on_page_error(self, error):
        self.errors.append(f"uncaught: {error}")
        self.stacks[f"uncaught: {error}"] = error.stack or ""

    def _on_console(self, message):
        if message.type == "error":
            self.errors.append(message.text)
        elif message.type == "warning":
            self.warnings.append(message.text)

    def version_mismatches(self):
        return [w for w in self.warnings if re.search(r"version", w, re.I)
                and re.search(r"mismatch|unsatisf|does not satisfy|incompatible", w, re.I)]

    def console_hint(self):
        return f" (browser console errors: {self.errors[:4]})" if self.errors else ""

    # the names other browser tests use (tests/ui/test_compare_panel.py): every error counts now
    @property
    def console(self):
        return self.errors

    def widget_errors(self):
        return self.console_hint()

    def assert_no_console_errors(self, where):
        assert not self.errors, f"{len(self.errors)} browser console error(s) {where}: {self.errors[:6]}"

    def close(self):
        self.context.close()


def open_and_run(browser, server, notebook, marker_class="psychrnn-training-status", notebook7=False):
    """Open ``notebook`` in JupyterLab (or Notebook 7), Run > Run All Cells, return the output holding the dashboard."""
    page = browser.page
    if notebook7:
        page.goto(server.url(f"notebooks/{notebook}"), wait_until="domcontentloaded", timeout=120_000)
    else:
        # a workspace of its own, reset: JupyterLab would otherwise restore the tabs an earlier test
        # opened, and "Run All Cells" runs whichever notebook is active
        workspace = re.sub(r"\W", "-", notebook)
        page.goto(server.url(f"lab/workspaces/{workspace}/tree/{notebook}?reset"), wait_until="domcontentloaded",
                  timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(state="visible", timeout=120_000)
    # JupyterLab 4.5 asks which kernel to start when another notebook's kernel is running (an earlier
    # test's): answer as a user would, with the notebook's own (preselected) kernel
    select_kernel = page.locator(".jp-Dialog", has_text="Select Kernel")

    def kernel_ready():
        if select_kernel.count() and select_kernel.first.is_visible():
            select_kernel.first.locator("button", has_text=re.compile(r"^\s*Select\s*$")).first.click()
            return False
        return page.locator(".jp-Dialog").count() == 0 and _session_idle(server, notebook)

    _wait(kernel_ready, 180, "the notebook's kernel to start")
    page.locator(".jp-Notebook:visible .jp-Cell").first.click()  # focus this notebook
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()

    def notebook_done():
        errors = _notebook_errors(page)
        assert not errors, "a notebook cell failed:\n" + "\n\n".join(errors)[-3000:]
        return page.evaluate(ALL_CELLS_RUN_JS) and _kernels_idle(server)

    prompts = ("() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
               ".map(p => p.textContent)")
    _wait(notebook_done, NOTEBOOK_TIMEOUT, f"all cells of {notebook} to run", interval=0.5,
          hint=lambda: f" (prompts: {page.evaluate(prompts)}, kernels idle: {_kernels_idle(server)})")
    dashboard = page.locator(".jp-OutputArea-output", has=page.locator(f".{marker_class}")).first
    dashboard.wait_for(state="attached", timeout=60_000)
    return dashboard


def state_of(status):
    return status.text_content().split(" · ")[0].strip()


def status_counts(status):
    """(step, trials) of the status line, and (trials, target) of the progress line under it."""
    text = status.text_content()
    progress_text = status.locator("xpath=..").locator(".psychrnn-progress-text").first.text_content()
    text = f"{text} | {progress_text}"
    step, trials = re.search(r"step ([\d,]+) · ([\d,]+) trials", text).groups()
    match = re.search(r"([\d,]+)/([\d,]+) trials \[", progress_text)
    progress = tuple(int(v.replace(",", "")) for v in match.groups()) if match else None
    return int(step.replace(",", "")), int(trials.replace(",", "")), progress, text


def inside_viewport(locator, viewport=VIEWPORT):
    box = locator.bounding_box()
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            and box["y"] + box["height"] <= viewport["height"]), box


def button(scope, text):
    return scope.locator("button.jupyter-button", has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")).first


def open_tab(dashboard, title):
    """Select the Lab's tab ``title`` and wait until it is the current one."""
    tab = dashboard.locator(".psychrnn-lab-tabs > .lm-TabBar .lm-TabBar-tab",
                            has_text=re.compile(rf"^\s*{re.escape(title)}\s*$")).first
    tab.click()
    _wait(lambda: "lm-mod-current" in (tab.get_attribute("class") or ""), 30, f"the {title} tab to be shown")


def analysis_settled(dashboard):
    """The accuracy text the Analysis tab shows once its behaviour panel holds a result of the shown network."""
    panel = dashboard.locator(".psychrnn-analysis-behaviour").first
    fit = dashboard.locator(".psychrnn-fit-label").first
    text = fit.text_content() or ""
    computing = "psychrnn-analysis-computing" in (panel.get_attribute("class") or "")
    return text if ("accuracy" in text and not computing) else None


def watch_loss_until_it_changes(page, status, browser, before):
    """Wait (on states) until the loss path was seen in DISTINCT_PATHS states while the status says running."""
    seen = {before}

    def changed_enough():
        path = page.evaluate(LOSS_PATH_JS, None) or ""
        if path and state_of(status) == "running":
            seen.add(path)
        return len(seen) > DISTINCT_PATHS

    _wait(changed_enough, CHANGES_TIMEOUT, f"the loss path to change {DISTINCT_PATHS} times while training",
          interval=0.2, hint=lambda: f" ({len(seen) - 1} changes seen; status: {status.text_content()})"
                                     f"{browser.console_hint()}")
    return len(seen) - 1


def screenshot(page, tmp_path, name):
    """A 1280x720 screenshot; copied to docs/ with PSYCHRNN_UPDATE_SCREENSHOT=1."""
    page.mouse.move(0, 0)
    shot = tmp_path / name
    page.screenshot(path=str(shot), animations="disabled", scale="css")
    size = shot.stat().st_size
    assert 10_000 < size < 900_000, f"screenshot {name} is {size} bytes"
    if os.environ.get("PSYCHRNN_UPDATE_SCREENSHOT"):
        os.makedirs(DOCS, exist_ok=True)
        shutil.copyfile(shot, os.path.join(DOCS, name))
    return shot


def bring_back_first_run(dashboard):
    """Runs tab: select the first network (``#1 ·``) and press Bring back."""
    open_tab(dashboard, "Runs")
    runs = dashboard.locator(".psychrnn-lab-tabs select:visible").first
    value = runs.evaluate("s => [...s.options].find(o => /#1\\s·/.test(o.textContent)).value")
    runs.select_option(value=value)
    button(dashboard, "Bring back").click()


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
        lab = dashboard.locator(".psychrnn-lab").first
        status = dashboard.locator(".psychrnn-training-status").first
        status.wait_for(state="visible")
        _wait(lambda: state_of(status) == "idle", 30, "the status line to say 'idle'")
        _wait(lambda: page.evaluate(LOSS_PATH_JS, None) is not None, 60, "the loss figure to render")
        start, stop = button(dashboard, "Start"), button(dashboard, "Stop")
        loss_figure = dashboard.locator(".psychrnn-loss-figure").first
        # at 1280x720 with the side bar open: Start, the status line and the loss curve on one screen
        for name, locator in (("Start", start), ("the status line", status), ("the loss curve", loss_figure)):
            inside, box = inside_viewport(locator)
            assert inside, f"{name} is not inside the 1280x720 viewport: {box}"
        # the Lab is one row of tabs: on every tab it fits two screens, and nothing is cut
        titles = [t.strip() for t in dashboard.locator(".psychrnn-lab-tabs > .lm-TabBar .lm-TabBar-tab")
                  .all_text_contents()]
        assert titles[:2] == ["Task", "Network"] and "Analysis" in titles, titles
        for title in titles:
            open_tab(dashboard, title)
            _wait(lambda: lab.bounding_box()["height"] <= MAX_LAB_HEIGHT, 30,
                  f"the Lab to fit two screens on the {title} tab",
                  hint=lambda: f" (height {lab.bounding_box()['height']:.0f} px)")
            clipped = lab.evaluate(CLIPPED_JS)
            assert not clipped, f"cut text on the {title} tab: {clipped}"
        open_tab(dashboard, "Trajectories (PCA)")
        before = page.evaluate(LOSS_PATH_JS, None)
        assert start.is_enabled() and stop.is_disabled()

        # ---- Start: the loss line appears and keeps changing
        t_start = time.monotonic()
        start.click()
        _wait(lambda: (page.evaluate(LOSS_PATH_JS, None) or "") not in ("", before) and state_of(status) == "running",
              FIRST_POINT_TIMEOUT, "the first loss points after Start", interval=0.2, hint=browser.console_hint)
        timings["start -> first loss point"] = time.monotonic() - t_start
        changes = watch_loss_until_it_changes(page, status, browser, before)
        running_text = status.text_content()
        assert re.search(r"step \d+", running_text) and "running" in running_text, running_text

        # ---- Stop: the run ends, the network is kept; one trial count, a clock that stopped, no time left
        t_stop = time.monotonic()
        stop.click()
        _wait(lambda: state_of(status) == "stopped", 120, "the status line to say 'stopped'", interval=0.2)
        timings["stop -> stopped"] = time.monotonic() - t_stop
        _wait(lambda: start.is_enabled() and stop.is_disabled(), 30, "Start to be enabled again after Stop")
        _wait(lambda: _kernels_idle(jupyter_lab), 60, "the kernel to be idle after Stop")
        step, trials, progress, stopped_text = status_counts(status)
        assert progress is not None and progress[0] == trials, stopped_text  # the same count on both lines
        assert "<" not in stopped_text.split("trials [")[-1], stopped_text  # no estimate of the time left
        final = page.evaluate(LOSS_PATH_JS, None)
        assert status_counts(status)[:3] == (step, trials, progress)
        assert page.evaluate(LOSS_PATH_JS, None) == final, "the loss path still changes after Stop"

        # ---- screenshot after Stop: the Lab at 1280x720, side bar open
        screenshot(page, tmp_path, "lab_1280x720.png")

        # ---- the Analysis tab: the psychometric curve and the PSTHs of the trained network are drawn
        open_tab(dashboard, "Analysis")
        t_analysis = time.monotonic()
        first_accuracy = _wait(lambda: analysis_settled(dashboard), ANALYSIS_TIMEOUT,
                               "the Analysis tab's results for network #1", interval=0.5, hint=browser.console_hint)
        assert page.evaluate(FIGURE_PATHS_JS, "psychrnn-psychometric-figure") >= 1
        dashboard.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Units\s*$")).first.click()
        _wait(lambda: page.evaluate(FIGURE_PATHS_JS, "psychrnn-psth-figure") >= 1, ANALYSIS_TIMEOUT,
              "the PSTH plot to be drawn", interval=0.5, hint=browser.console_hint)
        dashboard.locator(".lm-TabBar-tab", has_text=re.compile(r"^\s*Behaviour\s*$")).first.click()
        timings["analysis drawn"] = time.monotonic() - t_analysis

        # ---- a second network, trained a little: the Analysis tab never shows #1's results for it
        lab.evaluate(WATCH_ANALYSIS_JS)
        button(dashboard, "New network").click()
        _wait(lambda: "#2" in dashboard.locator(".psychrnn-lab-message").first.text_content(), 60,
              "the second network to be built")
        assert analysis_settled(dashboard) is None  # blanked at once: not #1's numbers under #2's name
        start.click()
        _wait(lambda: state_of(status) == "running" and status_counts(status)[0] >= 20, FIRST_POINT_TIMEOUT,
              "network #2 to train 20 steps", interval=0.3)
        stop.click()
        _wait(lambda: state_of(status) == "stopped", 120, "network #2 to stop", interval=0.2)
        second_accuracy = _wait(lambda: analysis_settled(dashboard), ANALYSIS_TIMEOUT,
                                "the Analysis tab's results for network #2", interval=0.5)

        # ---- Bring back #1: from the moment it is the current network, the tab shows #1's results or none
        bring_back_first_run(dashboard)
        _wait(lambda: re.search(r"#1\s·.*current network", dashboard.locator(".psychrnn-lab-message").first
                                .text_content()), 60, "network #1 to be the current one again")
        screenshot(page, tmp_path, "runs_1280x720.png")
        open_tab(dashboard, "Analysis")
        again = _wait(lambda: analysis_settled(dashboard), ANALYSIS_TIMEOUT,
                      "the Analysis tab's results for network #1 brought back", interval=0.5)
        assert again == first_accuracy, (again, first_accuracy)  # the same network, the same trials
        log = page.evaluate("() => window.__psychrnnLog")
        current = [entry for entry in log if re.search(r"#1\s·.*current network", entry["message"])]
        assert current, log[-5:]
        shown = {entry["fit"] for entry in current if not entry["computing"]}
        assert shown <= {"", first_accuracy}, (shown, first_accuracy, second_accuracy)
        if second_accuracy != first_accuracy:
            assert second_accuracy not in {entry["fit"] for entry in current}

        # ---- pick another task: the preview changes; Start would build a new network (said next to Start)
        open_tab(dashboard, "Task")
        picker = dashboard.locator(".psychrnn-task-picker select").first
        preview_before = dashboard.locator(".psychrnn-task-preview").first.inner_html()
        picker.select_option("GoNoGo")
        _wait(lambda: dashboard.locator(".psychrnn-task-preview").first.inner_html() != preview_before, 60,
              "the task preview to change")
        _wait(lambda: "Start will build a new" in dashboard.inner_text(), 30,
              "the pending change next to Start", hint=browser.console_hint)
        browser.assert_no_console_errors("loading and training the quickstart in JupyterLab")

        # ---- a kernel restart mid-training is shown as such
        start.click()
        _wait(lambda: state_of(status) == "running", FIRST_POINT_TIMEOUT, "the run to start", interval=0.2)
        errors_before_restart = len(browser.errors)
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Kernel$")).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Restart Kernel…")).first.click()
        page.locator(".jp-Dialog button", has_text=re.compile(r"^\s*Restart\s*$")).first.click()
        note = dashboard.locator(".psychrnn-disconnected-note").first
        note.wait_for(state="visible", timeout=120_000)
        assert "Run the cell again" in note.inner_text()
        timings["total"] = time.monotonic() - t_begin
        print("timings (s):", {k: round(v, 1) for k, v in timings.items()})
        print(f"loss path changes seen: {changes}; status after Stop: {stopped_text}")
        assert not browser.version_mismatches(), browser.version_mismatches()[:6]  # the [lab] extra's versions agree
        print(f"browser console errors (JupyterLab): {errors_before_restart} loading and training, "
              f"{len(browser.errors) - errors_before_restart} after the kernel restart "
              f"{browser.errors[errors_before_restart:][:3]}")
    except BaseException:
        try:
            page.screenshot(path=str(tmp_path / "failure.png"))
        except Exception:  # noqa: BLE001
            pass
        print("browser console errors:", browser.errors[-20:])
        print("jupyter lab log:\n" + jupyter_lab.log())
        raise
    finally:
        browser.close()


def test_quickstart_in_notebook7(notebook7, chromium, tmp_path):
    browser = Browser(chromium)
    page = browser.page
    try:
        dashboard = open_and_run(browser, notebook7, "notebooks/quickstart.ipynb", notebook7=True)
        dashboard.evaluate("element => element.scrollIntoView({block: 'start'})")
        status = dashboard.locator(".psychrnn-training-status").first
        _wait(lambda: state_of(status) == "idle", 30, "the status line to say 'idle'")
        _wait(lambda: page.evaluate(LOSS_PATH_JS, None) is not None, 60, "the loss figure to render")
        before = page.evaluate(LOSS_PATH_JS, None)
        button(dashboard, "Start").click()
        changes = watch_loss_until_it_changes(page, status, browser, before)
        button(dashboard, "Stop").click()
        _wait(lambda: state_of(status) == "stopped", 120, "the status line to say 'stopped'", interval=0.2)
        open_tab(dashboard, "Analysis")
        _wait(lambda: analysis_settled(dashboard), ANALYSIS_TIMEOUT, "the Analysis tab's results", interval=0.5)
        # every console error counts (Notebook 7.6's own start-up error, jupyter/notebook#7862, is why the
        # lab extra asks for notebook<7.6)
        browser.assert_no_console_errors("loading and training the quickstart in Notebook 7")
        assert not browser.version_mismatches(), browser.version_mismatches()[:6]
        print(f"Notebook 7: loss path changes seen: {changes}; console errors: {len(browser.errors)}; "
              f"version-mismatch warnings: {len(browser.version_mismatches())}")
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print("browser console errors:", browser.errors[-20:])
        print("notebook log:\n" + notebook7.log())
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
        open_tab(dashboard, "Curriculum")
        button(dashboard, "Start").click()
        _wait(lambda: re.search(r"stage [2-4]/4|curriculum finished", status.text_content()), 300,
              "the curriculum to pass stage 1", interval=0.5, hint=browser.console_hint)
        stop = button(dashboard, "Stop")

        def stopped_or_ended():
            # the curriculum may finish between reading "running" and the click: press Stop only while it is
            # enabled (a short click timeout), and wait for whichever end comes
            if state_of(status) == "running" and stop.is_enabled():
                try:
                    stop.click(timeout=2_000)
                except Exception:  # noqa: BLE001 - disabled meanwhile: the run ended by itself
                    pass
            return state_of(status) in ("stopped", "done")

        _wait(stopped_or_ended, 120, "the run to end", interval=0.5)
        header_of = dashboard.locator("b", has_text="Curriculum").first.locator("xpath=..")

        def expected_header(text):
            if "curriculum finished (4/4)" in text:
                return "finished"
            return "stage %s of 4" % re.search(r"stage (\d)/4", text).group(1)

        # the status line and the Curriculum tab change in one flush, but the browser draws them one after the other
        _wait(lambda: expected_header(status.text_content()) in header_of.inner_text(), 30,
              "the Curriculum tab to show the stage of the status line",
              hint=lambda: f" (status: {status.text_content()}; tab: {header_of.inner_text()})")
        text, header = status.text_content(), header_of.inner_text()
        if "finished" not in header:
            stage = int(re.search(r"stage (\d) of 4", header).group(1))
            marked = dashboard.locator("span", has_text="\u25b6").first.inner_text()  # the current stage's row
            assert f"coherence={(0.7, 0.5, 0.3, 0.1)[stage - 1]:g}" in marked, marked
        assert "5/4" not in text and "5 of 4" not in header
        browser.assert_no_console_errors("training through the curriculum in JupyterLab")
        print("status after Stop:", status.text_content(), "| Curriculum tab:", header)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print("browser console errors:", browser.errors[-20:])
        raise
    finally:
        browser.close()


def test_classroom_in_voila(voila_server, chromium, tmp_path):
    browser = Browser(chromium)
    page = browser.page
    # Voila's page template links Font Awesome from jsDelivr; this machine has no internet: answer with an
    # empty style sheet rather than count the failed request as the dashboard's error
    page.route("https://cdn.jsdelivr.net/npm/@fortawesome/**",
               lambda route: route.fulfill(status=200, content_type="text/css", body=""))
    try:
        page.goto(voila_server.url, wait_until="domcontentloaded", timeout=180_000)
        app = page.locator(".psychrnn-classroom").first
        app.wait_for(state="visible", timeout=300_000)
        # Voila shows the markdown and the widgets, never the code
        assert page.locator(".jp-CodeCell .jp-InputArea:visible, .cm-editor:visible").count() == 0
        assert "import Classroom" not in page.locator("body").inner_text()
        status = app.locator(".psychrnn-training-status").first
        # the three plots whole on one 1280x720 screen, tick labels large enough for a projector
        figures = app.locator(".psychrnn-loss-figure, .psychrnn-psychometric-figure, .psychrnn-trajectory-figure")
        _wait(lambda: figures.count() >= 3 and all(inside_viewport(figures.nth(i))[0] for i in range(3)), 60,
              "the three plots inside the 1280x720 screen",
              hint=lambda: f" ({[figures.nth(i).bounding_box() for i in range(figures.count())]})")
        tick_px = page.evaluate("""() => [...document.querySelectorAll('.psychrnn-classroom .bqplot .tick text')]
            .filter(t => t.getBoundingClientRect().height > 0 && getComputedStyle(t).visibility !== 'hidden')
            .map(t => parseFloat(getComputedStyle(t).fontSize))""")
        assert tick_px and min(tick_px) >= 14, tick_px
        # a student's path: pick a preset, Train, Stop part-way, Train again to the end of the budget
        page.locator("button", has_text=re.compile(r"^\s*with Dale's law\s*$")).first.click()
        _wait(lambda: re.search(r"preset .with Dale's law.:", app.inner_text()), 120,
              "the preset to build its network")
        assert "50 units · Dale 80% E" in app.inner_text(), app.inner_text()[:900]
        before = page.evaluate(LOSS_PATH_JS, None)
        train = page.locator("button", has_text=re.compile(r"^\s*Train\s*$")).first
        stop = page.locator("button", has_text=re.compile(r"^\s*Stop\s*$")).first
        train.click()
        _wait(lambda: (page.evaluate(LOSS_PATH_JS, None) or "") not in ("", before), FIRST_POINT_TIMEOUT,
              "the loss curve to change after Train", interval=0.2, hint=browser.console_hint)
        assert stop.is_enabled() and not train.is_enabled()
        stop.click()
        _wait(lambda: state_of(status) in ("stopped", "done"), 120, "the run to end after Stop")
        stopped_at = int(re.search(r"step (\d+)", status.text_content()).group(1))
        trials_at_stop = int(re.search(r"([\d,]+) trials", status.text_content()).group(1).replace(",", ""))
        assert state_of(status) == "stopped", status.text_content()  # 15,000 trials take longer than this
        assert train.is_enabled() and not stop.is_enabled()
        train.click()  # continues the same network
        _wait(lambda: state_of(status) == "done", 600, "the run to finish its budget", interval=0.5,
              hint=lambda: f" (status: {status.text_content()})")
        steps = int(re.search(r"step (\d+)", status.text_content()).group(1))
        assert steps > stopped_at, (stopped_at, status.text_content())
        trials = int(re.search(r"([\d,]+) trials", status.text_content()).group(1).replace(",", ""))
        assert 15_000 <= trials - trials_at_stop < 15_000 + 256, (trials_at_stop, status.text_content())  # a budget more
        # the psychometric curve of the trained network (not only a snapshot drawn during training)
        _wait(lambda: analysis_settled(app), ANALYSIS_TIMEOUT, "the psychometric curve after the run", interval=0.5)
        screenshot(page, tmp_path, "classroom_1280x720.png")
        browser.assert_no_console_errors("loading and training the Classroom in Voila")
        mismatches = browser.version_mismatches()
        # Voila 0.5.13 (the newest) serves a JupyterLab 4.2.5 core while its own widget manager and
        # jupyterlab_widgets 3.0.17 were built against 4.5/4.6: webpack warns for each shared module they ask
        # for (and uses 4.2.5).  None of them may come from anything else (our front-ends are plain ES modules)
        foreign = [m for m in mismatches if "_JUPYTERLAB.CORE_OUTPUT" not in m]
        assert not foreign, foreign
        print(f"Voila: console errors {len(browser.errors)}, version-mismatch warnings {len(mismatches)}: "
              f"{sorted(set(re.sub(r'[0-9.^]+', 'N', m)[:120] for m in mismatches))[:3]}")
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        print("browser console errors:", browser.errors[-20:])
        print("voila log:\n" + voila_server.log())
        raise
    finally:
        browser.close()
