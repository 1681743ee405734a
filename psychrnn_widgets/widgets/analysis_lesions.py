"""Lesion panel: choose units, silence, clamp or kick them, see the network before and after.

Units are chosen by index (``"0-9, 12"``), by E/I type, by choice selectivity, or by
clicking them in the connectivity heatmap (the Analysis tab forwards clicks to
:meth:`LesionPanel.add_unit`).  Any change of ``selection``, kind or value reruns
:func:`~psychrnn_widgets.analysis.lesions.lesion` in the background on the same trials
(the intact network is simulated once per network and kept); an empty selection shows
the intact network's values, exactly.  Marks: ``lesion_psychometric_figure``
(``before_points``, ``before_fit_line``, ``after_points``, ``after_fit_line``),
``lesion_traces_figure`` (``before_trace_lines``, ``after_trace_lines``),
``lesion_trajectory_figure`` (``before_trajectory_lines``, ``after_trajectory_lines``);
``accuracy_label`` (HTML).
"""
import html
import re

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

from ..analysis.behaviour import run_batch
from ..analysis.conditions import condition_batch
from ..analysis.lesions import KINDS, lesion, select_units
from ..analysis.units import both_choices, choice_selectivity
from .analysis_common import AnalysisPanel, f32, level_colors, make_figure, pick_levels

__all__ = ["LesionPanel", "parse_units"]

#: most levels drawn per state (before / after) in the traces and trajectory figures
MAX_LEVELS = 10

CHOICES = [("by index", "index"), ("all excitatory", "excitatory"), ("all inhibitory", "inhibitory"),
           ("most choice-1 selective", "selectivity+"), ("most choice-0 selective", "selectivity-"),
           ("most selective (|d'|)", "selectivity|")]


def parse_units(text):
    """Unit indices from text such as ``"0-9, 12 15"`` (ranges inclusive); sorted unique ints."""
    units = set()
    for token in re.split(r"[,\s]+", text.strip()):
        if not token:
            continue
        match = re.fullmatch(r"(\d+)\s*[-:]\s*(\d+)", token)
        if match:
            lo, hi = int(match.group(1)), int(match.group(2))
            units.update(range(min(lo, hi), max(lo, hi) + 1))
        elif token.isdigit():
            units.add(int(token))
        else:
            raise ValueError(f"cannot read {token!r} as a unit or a range (e.g. 0-9, 12)")
    return sorted(units)


class LesionPanel(AnalysisPanel):
    """Perturb chosen units and compare accuracy, psychometric curve, outputs and trajectories.

    Traits: ``selection`` (list of unit indices; setting it reruns the comparison).

    Attributes: ``result`` (:class:`~psychrnn_widgets.analysis.lesions.Lesion`),
    ``choose_by``, ``unit_text``, ``n_units``, ``choose_button``, ``kind``, ``value``
    (clamp value or kick size), ``time_ms`` (kick time / clamp and silence start, ms),
    ``clear_button``, ``accuracy_label``, ``shown`` (dict of the values on display:
    ``accuracy_before``, ``accuracy_after``, ``p_choice1_before``, ``p_choice1_after``,
    ``levels``), ``selectivity`` (choice d' per unit, once computed).
    """

    name = "lesions"
    result_texts = ("accuracy_label",)
    takes_n_per_level = True
    selection = traitlets.List(traitlets.Int(), default_value=[])

    def __init__(self, updater, n_per_level=100, seed=0, **kwargs):
        super().__init__(updater, **kwargs)
        self.n_per_level, self.seed = int(n_per_level), int(seed)
        self.selectivity = None
        self.shown = {}
        self._baseline = None  # (source, Lesion) of the intact network
        style = {"description_width": "initial"}
        self.choose_by = widgets.Dropdown(options=CHOICES, value="index", description="choose",
                                          layout=widgets.Layout(width="260px"), style=style)
        self.unit_text = widgets.Text(value="", placeholder="e.g. 0-9, 12", description="units",
                                      layout=widgets.Layout(width="220px"), style=style)
        self.n_units = widgets.BoundedIntText(value=5, min=1, max=100000, description="how many",
                                              layout=widgets.Layout(width="140px"), style=style)
        self.choose_button = widgets.Button(description="Choose", icon="check")
        self.clear_button = widgets.Button(description="Clear lesion", icon="undo")
        self.kind = widgets.ToggleButtons(options=list(KINDS), value="silence")
        self.value = widgets.FloatText(value=0.0, description="clamp value / kick size",
                                       layout=widgets.Layout(width="230px"), style=style)
        self.time_ms = widgets.BoundedFloatText(value=0.0, min=0.0, max=1e7, description="from / at (ms)",
                                                layout=widgets.Layout(width="190px"), style=style)
        self.accuracy_label = widgets.HTML("")
        self.choose_button.on_click(lambda _: self.choose())
        self.clear_button.on_click(lambda _: self.clear())
        for control in (self.kind, self.value, self.time_ms):
            control.observe(lambda _: self.apply(), names="value")
        self.observe(self._on_selection, names="selection")
        self.shared.observe(self._on_chosen, names="chosen_units")

        ps = {"x": bq.LinearScale(), "y": bq.LinearScale(min=0.0, max=1.0)}
        self.before_points = bq.Scatter(x=f32([]), y=f32([]), scales=ps, colors=["black"], default_size=30)
        self.before_fit_line = bq.Lines(x=f32([]), y=f32([]), scales=ps, colors=["black"])
        self.after_points = bq.Scatter(x=f32([]), y=f32([]), scales=ps, colors=["#d62728"], default_size=30,
                                       marker="diamond")
        self.after_fit_line = bq.Lines(x=f32([]), y=f32([]), scales=ps, colors=["#d62728"], line_style="dashed")
        self.lesion_psychometric_figure = make_figure(
            [self.before_points, self.before_fit_line, self.after_points, self.after_fit_line],
            "psychometric: before (black) / after (red)", "signed evidence", "P(choice 1)")
        ts = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.before_trace_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=ts)
        self.after_trace_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=ts, line_style="dashed")
        self.lesion_traces_figure = make_figure([self.before_trace_lines, self.after_trace_lines],
                                                "output 1: before / after (dashed)", "time (ms)", "output")
        js = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.before_trajectory_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=js)
        self.after_trajectory_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=js, line_style="dashed")
        self.lesion_trajectory_figure = make_figure([self.before_trajectory_lines, self.after_trajectory_lines],
                                                    "trajectories: before / after (dashed)", "PC1", "PC2")
        figures = [self.lesion_psychometric_figure, self.lesion_traces_figure, self.lesion_trajectory_figure]
        controls = widgets.VBox([
            widgets.HBox([self.choose_by, self.unit_text, self.n_units, self.choose_button]),
            widgets.HBox([self.kind, self.value, self.time_ms, self.clear_button]),
        ])
        plots = widgets.HBox(figures, layout=widgets.Layout(flex_flow="row wrap"))
        self._finish_layout([controls, self.accuracy_label, plots], figures, "lesion.svg")

    # ----------------------------------------------------------------- inputs
    def choose(self):
        """Set ``selection`` from the chooser (index text, E/I, or selectivity)."""
        how = self.choose_by.value
        try:
            if how == "index":
                units = parse_units(self.unit_text.value)
                self.selection = [int(u) for u in select_units(self.source, "index", units)]
                return
            if how in ("excitatory", "inhibitory"):
                chosen = select_units(self.source, how)
                if chosen.size == 0:
                    self.say("this network has no Dale's law: no E/I types", error=True)
            else:
                if self.selectivity is None:
                    self.say("selectivity not computed yet: wait for the first result" if self.result is None else
                             "no choice selectivity: the network made one choice only on these trials", error=True)
                    return
                sign = {"selectivity+": 1, "selectivity-": -1, "selectivity|": "abs"}[how]
                chosen = select_units(self.source, "selectivity", selectivity=self.selectivity,
                                      n=int(self.n_units.value), sign=sign)
        except ValueError as error:
            self.say(str(error), error=True)
            return
        self.selection = [int(u) for u in chosen]
        self.unit_text.value = ", ".join(str(u) for u in self.selection)

    def add_unit(self, unit):
        """Add ``unit`` to the selection (or remove it if already chosen): a click in the connectivity view."""
        units = set(self.selection)
        units.symmetric_difference_update({int(unit)})
        self.selection = sorted(units)
        self.unit_text.value = ", ".join(str(u) for u in self.selection)

    def clear(self):
        """Remove the lesion: the intact network's values are shown again."""
        self.unit_text.value = ""
        self.selection = []

    def _on_selection(self, change):
        if list(self.shared.chosen_units) != list(change["new"]):
            self.shared.chosen_units = list(change["new"])
        self.apply()

    def _on_chosen(self, change):
        """Units chosen elsewhere in the tab (a click in the connectivity heatmap)."""
        if list(change["new"]) != list(self.selection):
            self.selection = list(change["new"])
            self.unit_text.value = ", ".join(str(u) for u in self.selection)

    # ---------------------------------------------------------------- compute
    def refresh(self):
        """Recompute the intact network (new weights) and the current lesion."""
        self._baseline = None
        return self.apply()

    def apply(self):
        """Run the comparison for the current selection in the background."""
        return AnalysisPanel.refresh(self)

    def computation(self, source, task):
        n, seed = self.n_per_level, self.seed
        units, kind, value = list(self.selection), self.kind.value, float(self.value.value)
        dt = float(task.dt)
        step = int(np.floor(float(self.time_ms.value) / dt + 1e-9))
        baseline = self._baseline[1] if self._baseline is not None and self._baseline[0] is source else None
        selectivity = self.selectivity

        def compute(progress, should_stop):
            batch = condition_batch(task, n_per_level=n, seed=seed)
            trace_batch = condition_batch(task, levels=batch.levels, n_per_level=max(2, n // 5), seed=seed,
                                          fixed_timing=True)
            base, units_selectivity = baseline, selectivity
            if base is None:
                progress(0.2, "simulating the intact network")
                base = lesion(source, batch=batch, trace_batch=trace_batch)
                _, _, rates, chosen = run_batch(source, trace_batch)
                units_selectivity = choice_selectivity(rates, chosen) if both_choices(chosen) else None
            progress(0.6, f"simulating with {len(units)} units perturbed")
            n_steps = trace_batch.x.shape[1]
            result = lesion(source, batch=batch, trace_batch=trace_batch, units=units, kind=kind, value=value,
                            delta=value, step=min(step, n_steps - 1), start=min(step, n_steps - 1), baseline=base)
            return source, base, units_selectivity, result

        return compute

    def _on_result(self, outcome):
        source, base, selectivity, result = outcome
        self._baseline = (source, base)
        self.selectivity = selectivity
        super()._on_result(result)

    # ------------------------------------------------------------------- show
    def show(self, result):
        before, after = result.before.psychometric, result.after.psychometric
        for points, line, curve in ((self.before_points, self.before_fit_line, before),
                                    (self.after_points, self.after_fit_line, after)):
            with points.hold_sync():
                points.x, points.y = f32(curve.levels), f32(curve.p_choice1)
            x, y = curve.fit.curve() if curve.fit is not None else ([], [])
            with line.hold_sync():
                line.x, line.y = f32(x), f32(y)
        levels = result.before.traces.levels
        chosen = pick_levels(len(levels), MAX_LEVELS)
        colors = [level_colors(levels)[i] for i in chosen]
        times = f32(np.tile(result.before.traces.times, (len(chosen), 1)))
        channel = min(1, result.before.traces.outputs.shape[2] - 1)
        for lines, traces in ((self.before_trace_lines, result.before.traces),
                              (self.after_trace_lines, result.after.traces)):
            with lines.hold_sync():
                lines.x, lines.y, lines.colors = times, f32(traces.outputs[chosen, :, channel]), colors
        for lines, projected in ((self.before_trajectory_lines, result.trajectories_before),
                                 (self.after_trajectory_lines, result.trajectories_after)):
            with lines.hold_sync():
                lines.x, lines.y = f32(projected[chosen, :, 0]), f32(projected[chosen, :, 1])
                lines.colors = colors
        self.shown = {"levels": before.levels, "accuracy_before": result.accuracy_before,
                      "accuracy_after": result.accuracy_after, "p_choice1_before": before.p_choice1,
                      "p_choice1_after": after.p_choice1}
        what = (f"{result.kind} {len(result.units)} unit{'s' if len(result.units) != 1 else ''}"
                if len(result.units) else "no lesion")
        self.accuracy_label.value = (f"<div>{html.escape(what)}: accuracy <b>{result.accuracy_before:.3f}</b> "
                                     f"&rarr; <b style='color:#d62728'>{result.accuracy_after:.3f}</b></div>")
        self.say("")
