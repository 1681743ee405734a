"""Unit activity panel: PSTHs of chosen units by condition, and a heatmap of all units for one condition.

Units can be sorted by E/I type and by choice selectivity (d'); the heatmap's rows
follow the chosen order.  Computes :func:`~psychrnn_widgets.analysis.units.unit_activity`
in the background.  Marks: ``psth_figure`` (``psth_lines``), ``heatmap_figure``
(``heatmap``, a bqplot HeatMap of rates (units × time)).
"""
import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..analysis.units import unit_activity
from .analysis_common import AnalysisPanel, f32, level_colors, make_figure, pick_levels

__all__ = ["UnitActivityPanel", "SORT_OPTIONS"]

#: sort choices: label -> keys for :func:`psychrnn_widgets.analysis.units.unit_order`
SORT_OPTIONS = {
    "E/I, then selectivity": ("ei", "selectivity"),
    "selectivity": ("selectivity",),
    "E/I, then index": ("ei",),
    "index": ("index",),
}
#: most units and levels in the PSTH figure (units x levels <= 20 lines)
MAX_PSTH_UNITS, MAX_PSTH_LEVELS = 4, 5


class UnitActivityPanel(AnalysisPanel):
    """PSTHs and a population heatmap.

    Attributes: ``result`` (:class:`~psychrnn_widgets.analysis.units.UnitActivity`),
    ``units`` (SelectMultiple of unit indices, labelled with E/I and d'), ``sort_by``
    (Dropdown over :data:`SORT_OPTIONS`), ``condition`` (Dropdown of the evidence level
    shown in the heatmap), ``order`` (the current unit order), figures and marks named in
    the module docstring.
    """

    name = "units"

    def __init__(self, updater, n_per_level=20, seed=0, **kwargs):
        super().__init__(updater, **kwargs)
        self.n_per_level, self.seed = int(n_per_level), int(seed)
        self.order = np.zeros(0, dtype=int)
        self._updating = False
        self.units = widgets.SelectMultiple(options=[], rows=8, description="units",
                                            layout=widgets.Layout(width="220px"))
        self.sort_by = widgets.Dropdown(options=list(SORT_OPTIONS), value="E/I, then selectivity",
                                        description="sort", layout=widgets.Layout(width="240px"))
        self.condition = widgets.Dropdown(options=[], description="condition", layout=widgets.Layout(width="240px"))
        self.units.observe(lambda _: self._draw_psth(), names="value")
        self.sort_by.observe(lambda _: self._on_sort(), names="value")
        self.condition.observe(lambda _: self._draw_heatmap(), names="value")

        ps = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.psth_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=ps, stroke_width=1.5)
        self.psth_figure = make_figure([self.psth_lines], "PSTH", "time (ms)", "rate",
                                       width="380px")
        hs = {"x": bq.LinearScale(), "y": bq.LinearScale(reverse=True), "color": bq.ColorScale(scheme="viridis")}
        self.heatmap = bq.HeatMap(x=f32([0, 1]), y=f32([0, 1]), color=f32([[0, 0], [0, 0]]), scales=hs)
        self.heatmap_figure = make_figure([self.heatmap], "all units, one condition", "time (ms)", "unit (sorted)",
                                          width="380px")
        controls = widgets.VBox([self.sort_by, self.condition, self.units])
        plots = widgets.HBox([self.psth_figure, self.heatmap_figure], layout=widgets.Layout(flex_flow="row wrap"))
        self._finish_layout([widgets.HBox([controls, plots])], [self.psth_figure, self.heatmap_figure], "units.svg")

    def computation(self, source, task):
        n, seed = self.n_per_level, self.seed

        def compute(progress, should_stop):
            progress(0.2, "simulating trials")
            return unit_activity(source, task, n_per_level=n, seed=seed)

        return compute

    # --------------------------------------------------------------------- show
    def show(self, result):
        self._updating = True
        try:
            levels = [(f"evidence {level:+.3g}", i) for i, level in enumerate(result.levels)]
            keep = self.condition.value if self.condition.value is not None else len(levels) - 1
            self.condition.options = levels
            self.condition.value = min(keep, len(levels) - 1)
            self._sort_units(result)
        finally:
            self._updating = False
        self._draw_psth()
        self._draw_heatmap()
        self.say("")

    def _unit_label(self, result, unit):
        kind = ("E" if result.excitatory[unit] else "I") if result.dale else "unit"
        return f"{kind} {unit} (d' {result.selectivity[unit]:+.2f})"

    def _sort_units(self, result):
        self.order = result.order(SORT_OPTIONS[self.sort_by.value])
        chosen = tuple(u for u in self.units.value if u < result.n_rec)
        self.units.options = [(self._unit_label(result, u), int(u)) for u in self.order]
        if not chosen:  # default: the most choice-1 and the most choice-0 selective units
            by_selectivity = result.order(("selectivity",))
            chosen = (int(by_selectivity[0]), int(by_selectivity[-1]))
        self.units.value = chosen

    def _on_sort(self):
        if self.result is None:
            return
        self._updating = True
        try:
            self._sort_units(self.result)
        finally:
            self._updating = False
        self._draw_heatmap()

    def _draw_psth(self):
        result = self.result
        if result is None or self._updating:
            return
        units = list(self.units.value)[:MAX_PSTH_UNITS]
        chosen = pick_levels(len(result.levels), MAX_PSTH_LEVELS)
        colors = level_colors(result.levels)
        x, y, line_colors, opacities = [], [], [], []
        for j, unit in enumerate(units):
            for i in chosen:
                x.append(result.times)
                y.append(result.mean_rates[i, :, unit])
                line_colors.append(colors[i])
                opacities.append(1.0 - 0.25 * j)
        with self.psth_lines.hold_sync():
            self.psth_lines.x = f32(x) if x else f32([[]])
            self.psth_lines.y = f32(y) if y else f32([[]])
            self.psth_lines.colors = line_colors or ["black"]
            self.psth_lines.opacities = opacities or [1.0]
        self.psth_figure.title = ("PSTH of units " + ", ".join(str(u) for u in units) + " (paler: later)"
                                  if units else "PSTH: choose units")

    def _draw_heatmap(self):
        result = self.result
        if result is None or self._updating or self.condition.value is None:
            return
        rates, order = result.heatmap(int(self.condition.value), SORT_OPTIONS[self.sort_by.value])
        with self.heatmap.hold_sync():
            self.heatmap.x = f32(result.times)
            self.heatmap.y = f32(np.arange(len(order)))
            self.heatmap.color = f32(rates)
