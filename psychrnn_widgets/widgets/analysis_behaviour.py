"""Behaviour panel: psychometric curve with its fit, chronometric curve, output traces by condition.

Computes :func:`psychometric_curve`, :func:`chronometric_curve` and :func:`output_traces`
(through :func:`psychrnn_widgets.analysis.behaviour.behaviour`) in the background and
only displays them.  Marks a browser test can find: ``psychometric_figure``
(``psychometric_points`` Scatter, ``psychometric_fit_line`` Lines),
``chronometric_figure`` (``chronometric_line``), ``traces_figure`` (``trace_lines``,
``target_lines``).
"""
import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..analysis.behaviour import PARAMETERS, behaviour
from ..analysis.conditions import condition_batch
from .analysis_common import AnalysisPanel, f32, level_colors, make_figure, pick_levels

__all__ = ["BehaviourPanel"]

#: most levels drawn in the traces figure (outputs + targets: <= 20 lines)
MAX_TRACE_LEVELS = 10


class BehaviourPanel(AnalysisPanel):
    """Psychometric and chronometric curves and condition-averaged outputs of one network.

    Args:
        updater: the shared ThrottledUpdater.
        n_per_level: trials per evidence level for the curves.
        seed: seed of the trials (the same trials at every refresh).

    Attributes: ``result`` (:class:`~psychrnn_widgets.analysis.behaviour.Behaviour`),
    ``n_per_level``, ``threshold``, ``ci_method`` (controls), ``fit_label`` (HTML), the
    figures and marks named in the module docstring.
    """

    name = "behaviour"
    takes_n_per_level = True
    result_texts = ("fit_label",)

    def __init__(self, updater, n_per_level=100, seed=0, **kwargs):
        super().__init__(updater, **kwargs)
        self.seed = int(seed)
        style = {"description_width": "initial"}
        self.n_per_level = widgets.BoundedIntText(value=int(n_per_level), min=2, max=5000,
                                                  description="trials per level", style=style,
                                                  layout=widgets.Layout(width="180px"))
        self.threshold = widgets.BoundedFloatText(value=0.4, min=0.0, max=10.0, step=0.05,
                                                  description="RT threshold", style=style,
                                                  layout=widgets.Layout(width="170px"))
        self.ci_method = widgets.Dropdown(options=[("CI: Hessian", "hessian"), ("CI: bootstrap", "bootstrap")],
                                          value="hessian", layout=widgets.Layout(width="140px"))
        self.trace_channel = widgets.Dropdown(options=[("output 0", 0), ("output 1", 1)], value=1,
                                              layout=widgets.Layout(width="110px"))
        self.refresh_button = widgets.Button(description="Recompute", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.trace_channel.observe(lambda _: self._draw_traces(), names="value")
        self.fit_label = widgets.HTML("")

        xs, ys = bq.LinearScale(), bq.LinearScale(min=0.0, max=1.0)
        self.psychometric_points = bq.Scatter(x=f32([]), y=f32([]), scales={"x": xs, "y": ys}, colors=["black"],
                                              default_size=30)
        self.psychometric_fit_line = bq.Lines(x=f32([]), y=f32([]), scales={"x": xs, "y": ys}, colors=["#1f77b4"])
        self.psychometric_figure = make_figure([self.psychometric_points, self.psychometric_fit_line],
                                               "psychometric", "signed evidence", "P(choice 1)")
        self.psychometric_figure.axes[1].tick_values = f32([0.0, 0.25, 0.5, 0.75, 1.0])
        cs = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.chronometric_line = bq.Lines(x=f32([]), y=f32([]), scales=cs, colors=["black"], marker="circle",
                                          marker_size=20)
        self.chronometric_figure = make_figure([self.chronometric_line], "chronometric", "signed evidence",
                                               "reaction time (ms)")
        ts = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.trace_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=ts, stroke_width=1.5)
        self.target_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=ts, stroke_width=1, line_style="dashed")
        self.traces_figure = make_figure([self.trace_lines, self.target_lines], "outputs by condition (dashed: target)",
                                         "time (ms)", "output", width="400px")
        figures = [self.psychometric_figure, self.chronometric_figure, self.traces_figure]
        controls = widgets.HBox([self.n_per_level, self.threshold, self.ci_method, self.refresh_button])
        plots = widgets.HBox([self.psychometric_figure, self.chronometric_figure,
                              widgets.VBox([self.traces_figure, self.trace_channel])],
                             layout=widgets.Layout(flex_flow="row wrap"))
        self._finish_layout([controls, self.fit_label, plots], figures, "behaviour.svg")

    # ------------------------------------------------------------------ compute
    def computation(self, source, task):
        n, threshold = int(self.n_per_level.value), float(self.threshold.value)
        ci, seed = self.ci_method.value, self.seed

        def compute(progress, should_stop):
            progress(0.1, "simulating trials")
            batch = condition_batch(task, n_per_level=n, seed=seed)
            trace_batch = condition_batch(task, levels=batch.levels, n_per_level=max(2, n // 5), seed=seed,
                                          fixed_timing=True)
            progress(0.5, "fitting the psychometric function")
            return behaviour(source, batch=batch, trace_batch=trace_batch, threshold=threshold, ci=ci)

        return compute

    # --------------------------------------------------------------------- show
    def show(self, result):
        curve = result.psychometric
        with self.psychometric_points.hold_sync():
            self.psychometric_points.x = f32(curve.levels)
            self.psychometric_points.y = f32(curve.p_choice1)
        if curve.fit is not None:
            x, y = curve.fit.curve()
            with self.psychometric_fit_line.hold_sync():
                self.psychometric_fit_line.x, self.psychometric_fit_line.y = f32(x), f32(y)
        chrono = result.chronometric
        if chrono is not None:
            with self.chronometric_line.hold_sync():
                self.chronometric_line.x, self.chronometric_line.y = f32(chrono.levels), f32(chrono.mean_rt)
        self.chronometric_figure.title = "chronometric" if chrono is not None else "chronometric (task has no onset)"
        self._draw_traces()
        self.fit_label.value = self._fit_html(curve)
        self.say("")

    def _fit_html(self, curve):
        parts = []
        if curve.accuracy is not None:
            parts.append(f"accuracy <b>{curve.accuracy:.3f}</b>")
        fit = curve.fit
        if fit is not None:
            for i, name in enumerate(PARAMETERS):
                lo, hi = fit.ci[i]
                interval = f" [{lo:.3g}, {hi:.3g}]" if np.all(np.isfinite(fit.ci[i])) else ""
                parts.append(f"{name} {fit.params[i]:.3g}{interval}")
            parts.append(f"{100 * fit.ci_level:.0f}% CI ({fit.ci_method})")
        return "<div style='font-size:12px'>" + html.escape(" · ").join(parts) + "</div>"

    def _draw_traces(self):
        result = self.result
        if result is None:
            return
        traces = result.traces
        channel = min(int(self.trace_channel.value), traces.outputs.shape[2] - 1)
        chosen = pick_levels(len(traces.levels), MAX_TRACE_LEVELS)
        colors = [level_colors(traces.levels)[i] for i in chosen]
        x = f32(np.tile(traces.times, (len(chosen), 1)))
        with self.trace_lines.hold_sync(), self.target_lines.hold_sync():
            self.trace_lines.x, self.trace_lines.y = x, f32(traces.outputs[chosen, :, channel])
            self.target_lines.x, self.target_lines.y = x, f32(traces.targets[chosen, :, channel])
            self.trace_lines.colors = colors
            self.target_lines.colors = colors
