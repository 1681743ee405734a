"""The Compare panel of the Analysis tab in a real browser (issue 23): JupyterLab 4 + Debian's chromium.

``notebooks/compare.ipynb`` trains two networks (with and without Dale's law, keeping
checkpoints), offers both to the Compare panel and compares them; the test runs it from
the Run menu and then, in the browser only:

* waits until the measures (bars) and A's and B's aligned trajectories are drawn;
* picks B = *checkpoints of A*, unticks DSA, presses *Compare*, and waits until the
  panel shows the distance of A's checkpoints to its final network (one line per measure);
* saves a 1280x720 screenshot (``docs/compare_1280x720.png`` with
  ``PSYCHRNN_UPDATE_SCREENSHOT=1``).

Every wait is on a state of the page (text, SVG elements), never on a fixed time.
"""
import os
import re
import shutil

import pytest

import test_jupyterlab as base
from test_jupyterlab import Browser, _kernels_idle, _wait, open_and_run

pytestmark = pytest.mark.browser

SCREENSHOT = os.path.join(base.REPO, "docs", "compare_1280x720.png")

# bars drawn in the figure with the given CSS class (rects of non-zero height in bqplot's bar groups)
BARS_JS = """(cls) => {
  const fig = document.querySelector('.' + cls);
  if (!fig) return -1;
  return [...fig.querySelectorAll('.bargroup rect, rect.bar')]
    .filter(r => parseFloat(r.getAttribute('height') || '0') > 0).length;
}"""

# the x-axis tick labels of the figure with the given CSS class
TICKS_JS = """(cls) => {
  const fig = document.querySelector('.' + cls);
  if (!fig) return [];
  return [...fig.querySelectorAll('g.axis .tick text')].map(t => t.textContent);
}"""


def test_compare_panel(jupyter_lab, chromium, tmp_path, monkeypatch):
    monkeypatch.setattr(base, "NOTEBOOK_TIMEOUT", 900.0)  # trains two networks and runs every comparison
    browser = Browser(chromium)
    page = browser.page
    try:
        output = open_and_run(browser, jupyter_lab, "notebooks/compare.ipynb", marker_class="psychrnn-analysis-compare")
        panel = output.locator(".psychrnn-analysis-compare").first
        panel.evaluate("element => element.scrollIntoView({block: 'start'})")
        panel.wait_for(state="visible")

        # ---- the notebook's comparison of the two runs is drawn: measures and aligned trajectories
        _wait(lambda: page.evaluate(BARS_JS, "psychrnn-measures-figure") >= 2, 60, "the measures' bars",
              interval=0.5, hint=browser.widget_errors)
        _wait(lambda: page.evaluate(base.FIGURE_PATHS_JS, "psychrnn-detail-figure") >= 2, 60,
              "A's and B's trajectories", interval=0.5, hint=browser.widget_errors)
        summary = panel.locator(".widget-html-content", has_text=" vs ").first
        assert "A · Dale" in summary.inner_text() and "CKA" in summary.inner_text()
        assert "CKA" in page.evaluate(TICKS_JS, "psychrnn-measures-figure")

        # ---- in the browser: B = A's checkpoints, without DSA, Compare
        panel.locator("select").nth(1).select_option("checkpoints of A")
        dsa = panel.locator("label", has_text=re.compile(r"^\s*DSA\s*$")).locator("input[type=checkbox]").first
        dsa.uncheck()
        panel.locator("button.jupyter-button", has_text=re.compile(r"^\s*Compare\s*$")).first.click()
        _wait(lambda: "checkpoints of" in panel.inner_text(), 300, "the checkpoints' distances to the final network",
              interval=0.5, hint=lambda: f" (panel says: {panel.inner_text()[-300:]}){browser.widget_errors()}")
        _wait(lambda: any("Procrustes" in t for t in page.evaluate(TICKS_JS, "psychrnn-measures-figure")), 30,
              "the measures figure to show the checkpoints' distances")
        assert page.evaluate(base.FIGURE_PATHS_JS, "psychrnn-detail-figure") >= 2  # Procrustes and 1 - CKA
        compare = panel.locator("button.jupyter-button", has_text=re.compile(r"^\s*Compare\s*$")).first
        _wait(lambda: compare.is_enabled(), 30, "Compare to be enabled again")
        _wait(lambda: _kernels_idle(jupyter_lab), 60, "the kernel to be idle")
        assert not browser.widget_errors(), f"widget errors in the browser console{browser.widget_errors()}"

        # ---- screenshot, 1280x720: the Analysis tab's tab bar (Compare selected) and the panel
        tab_bar = output.locator(".lm-TabBar", has=page.locator(".lm-TabBar-tab", has_text="Compare")).first
        tab_bar.evaluate("element => element.scrollIntoView({block: 'start'})")
        page.mouse.move(0, 0)
        shot = tmp_path / "compare_1280x720.png"
        page.screenshot(path=str(shot), animations="disabled", scale="css")
        size = shot.stat().st_size
        assert 10_000 < size < 600_000, f"screenshot is {size} bytes"
        if os.environ.get("PSYCHRNN_UPDATE_SCREENSHOT"):
            shutil.copyfile(shot, SCREENSHOT)
        print("panel after Compare:", panel.inner_text()[-400:])
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
