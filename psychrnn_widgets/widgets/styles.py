"""The dashboards' style sheet: one hidden HTML widget holding a ``<style>`` element.

Plain ipywidgets cannot style what they do not expose (a tab panel that is not shown, a
button's text overflow, a bqplot axis' font); these rules do, scoped to the class the
dashboards carry (``psychrnn-root``), so nothing else on the page changes.  A ``<style>``
element applies wherever it sits, even in a widget that is not displayed, so the sheet
takes no room.  Used by the Lab (and so the Classroom) and by an Analysis tab shown alone.

* **Hidden tabs keep their size.**  Lumino hides the tabs not shown (and a closed
  accordion's content) with ``display: none``; a bqplot figure inside then measures a
  0 x 0 box, sets its clip rectangle to a negative width and the browser logs
  "``<rect>`` attribute width: A negative value is not valid" at every redraw.  Here a
  hidden panel stays laid out, invisible, out of the flow and of the pointer's way.
* **Nothing cut:** buttons and widget labels take the width of their text (no
  "Resampl…"); figure titles and axis labels are not clipped by the figure's box.
* **Stale results are marked** (``psychrnn-analysis-computing``): an analysis panel
  whose network changed fades its figures until the new network's results arrive (the
  panel also blanks its numbers and says "computing…").
* **A dead kernel is said**: when the kernel restarts or dies, ipywidgets marks every
  view ``jupyter-widgets-disconnected``; the dashboard's note (``psychrnn-disconnected-note``)
  then shows, and the live parts fade.
* **The Classroom reads from the back of a room**: larger tick labels and axis labels.
"""
import ipywidgets as widgets

__all__ = ["STYLE", "ROOT_CLASS", "style_sheet", "disconnected_note", "DISCONNECTED_TEXT"]

#: the class every dashboard root carries; every rule below is scoped to it
ROOT_CLASS = "psychrnn-root"

#: what the dashboard says once the kernel it was connected to has restarted or stopped
DISCONNECTED_TEXT = ("The kernel restarted or stopped: this dashboard is no longer connected (what it shows is "
                     "frozen; it is not training). Run the cell again for a live one.")

STYLE = """
/* hidden tab panels and closed accordion sections stay laid out (invisible): bqplot measures real sizes */
.psychrnn-root .widget-tab-contents, .psychrnn-root .jupyter-widget-Collapse { position: relative; }
.psychrnn-root .widget-tab-contents > .lm-Widget.lm-mod-hidden,
.psychrnn-root .widget-tab-contents > .p-Widget.p-mod-hidden,
.psychrnn-root .jupyter-widget-Collapse-contents.lm-mod-hidden,
.psychrnn-root .jupyter-widget-Collapse-contents.p-mod-hidden {
  display: flex !important; visibility: hidden !important; position: absolute !important;
  top: 0; left: 0; height: 0 !important; min-height: 0 !important; overflow: hidden !important;
  pointer-events: none;
}
.psychrnn-root .widget-tab-contents > .lm-Widget.lm-mod-hidden *,
.psychrnn-root .jupyter-widget-Collapse-contents.lm-mod-hidden * { visibility: hidden !important; }
/* buttons and labels: as wide as their text */
.psychrnn-root button.jupyter-button { width: auto; min-width: fit-content; flex-shrink: 0;
  padding-left: 10px; padding-right: 10px; overflow: visible; }
.psychrnn-root .widget-label { overflow: visible; text-overflow: clip; }
.psychrnn-root .lm-TabBar-tab { min-width: fit-content !important; flex: 0 0 auto !important;
  max-width: none !important; }
.psychrnn-root .lm-TabBar-tabLabel { overflow: visible; text-overflow: clip; }
/* text blocks at their own line height (ipywidgets gives every HTML line an input's 28 px) */
.psychrnn-root .widget-html-content { line-height: 1.35; }
.psychrnn-root .widget-html { min-height: 0; }
/* figure titles and axis labels are drawn outside the plot area: let them show */
.psychrnn-root .bqplot > svg, .psychrnn-root .bqplot svg.svg-figure { overflow: visible; }
/* an analysis whose network changed: faded until the new results arrive */
.psychrnn-root .psychrnn-analysis-computing .bqplot { opacity: 0.15; transition: none; }
/* the kernel restarted or died: say so, fade the live parts */
.psychrnn-root .psychrnn-disconnected-note { display: none !important; }
.psychrnn-root.jupyter-widgets-disconnected .psychrnn-disconnected-note,
.psychrnn-root .jupyter-widgets-disconnected.psychrnn-disconnected-note { display: block !important; }
.psychrnn-root.jupyter-widgets-disconnected .psychrnn-training-status { text-decoration: line-through;
  opacity: 0.5; }
/* the Classroom on a projector */
.psychrnn-classroom .bqplot .axis .tick text { font-size: 15px; }
.psychrnn-classroom .bqplot .axislabel, .psychrnn-classroom .bqplot .mainheading { font-size: 16px; }
"""


def style_sheet():
    """The style sheet as a widget that takes no room (a ``<style>`` applies even where nothing is displayed)."""
    sheet = widgets.HTML(f"<style>{STYLE}</style>", layout=widgets.Layout(display="none"))
    sheet.add_class("psychrnn-style")
    return sheet


def disconnected_note():
    """The note shown (by the style sheet alone) once the kernel behind the dashboard restarted or stopped."""
    note = widgets.HTML("<div style='background:#fdecea;color:#8a1c12;border:1px solid #f5c2bd;padding:6px 10px;"
                        f"margin:4px 0;font-weight:600'>&#9888; {DISCONNECTED_TEXT}</div>")
    note.add_class("psychrnn-disconnected-note")
    return note
