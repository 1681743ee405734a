"""Connectivity panel: W_rec_eff sorted by E/I or selectivity, eigenvalue spectra, input/output weights.

Click a cell of the heatmap to pick its presynaptic unit: it is toggled in the tab's
shared ``chosen_units`` (:class:`~psychrnn_widgets.widgets.analysis_common.AnalysisShared`,
which the lesion panel follows), and listeners added with
:meth:`ConnectivityPanel.on_unit_click` get the unit index.  The fixed points found in
the tab (shared ``fixed_points``) are offered as states for a Jacobian spectrum.  A
network without a rate network's W_rec (an LSTM, a GRU) has no heatmap to show: the panel
says so.  The spectrum shows the eigenvalues of W_rec_eff and, when chosen,
of the Jacobian of the network's step at a state (the end of a condition's average
trial, or a fixed point) with the unit circle.  Marks: ``weights_figure``
(``weights_heatmap``, a GridHeatMap), ``spectrum_figure`` (``eigenvalue_points``,
``jacobian_points``, ``unit_circle``), ``io_figure`` (``input_weight_lines``,
``output_weight_lines``).
"""
import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..analysis.behaviour import run_batch
from ..analysis.conditions import condition_batch
from ..analysis.connectivity import connectivity_report
from ..analysis.units import both_choices, choice_selectivity
from .analysis_common import AnalysisPanel, f32, make_figure

__all__ = ["ConnectivityPanel"]

SORTS = {"E/I": ("ei",), "E/I, then selectivity": ("ei", "selectivity"), "selectivity": ("selectivity",),
         "index": ("index",)}
_CIRCLE = np.linspace(0, 2 * np.pi, 181)


class ConnectivityPanel(AnalysisPanel):
    """Sorted weights and spectra of one network.

    Attributes: ``result`` (:class:`~psychrnn_widgets.analysis.connectivity.ConnectivityReport`),
    ``sort_by``, ``spectrum_of`` (Dropdown: ``'W_rec'`` or a state for the Jacobian),
    ``shown_spectral_radius`` (max |eigenvalue| of W_rec_eff as displayed), figures and
    marks named in the module docstring.
    """

    name = "connectivity"
    needs_task = False  # without one: the weights and the spectrum of W_rec_eff only

    @classmethod
    def applies_to(cls, source):
        if getattr(source, "has_rate_weights", True):
            return None
        kind = source.weights.get("model") if hasattr(source, "weights") else type(source).__name__
        return (f"connectivity shows a rate network's recurrent matrix W_rec; a {kind} network has gate "
                "matrices instead (its behaviour, units, lesions and fixed points are analysed in the other tabs)")

    def __init__(self, updater, seed=0, **kwargs):
        super().__init__(updater, **kwargs)
        self.shared.observe(self._on_fixed_points, names="fixed_points")
        self.seed = int(seed)
        self.selectivity = None
        self.states = {}  # label -> (state (N_rec,), input (N_in,))
        self._state_groups = {}
        self._applying = False
        self.shown_spectral_radius = None
        self._listeners = []
        self.sort_by = widgets.Dropdown(options=list(SORTS), value="E/I", description="sort",
                                        layout=widgets.Layout(width="230px"))
        self.spectrum_of = widgets.Dropdown(options=[("W_rec_eff", "W_rec")], value="W_rec",
                                            description="spectrum of", layout=widgets.Layout(width="330px"),
                                            style={"description_width": "initial"})
        self.sort_by.observe(lambda _: self.redraw(), names="value")
        self.spectrum_of.observe(lambda _: self.redraw(), names="value")

        hs = {"row": bq.OrdinalScale(), "column": bq.OrdinalScale(), "color": bq.ColorScale(scheme="RdBu",
                                                                                             reverse=True)}
        self.weights_heatmap = bq.GridHeatMap(color=f32(np.zeros((2, 2))), scales=hs, interactions={"click": "select"},
                                              selected_style={"stroke": "black", "stroke-width": 2})
        self.weights_heatmap.on_element_click(self._on_click)
        axes = [bq.Axis(scale=hs["column"], label="presynaptic (click: choose unit)", num_ticks=0),
                bq.Axis(scale=hs["row"], label="postsynaptic", side="left", num_ticks=0),
                bq.ColorAxis(scale=hs["color"], side="right")]
        self.weights_figure = bq.Figure(marks=[self.weights_heatmap], axes=axes, title="W_rec_eff",
                                        animation_duration=0, fig_margin={"top": 30, "bottom": 30, "left": 30,
                                                                           "right": 50},
                                        layout=widgets.Layout(width="380px", height="360px"))
        ss = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.unit_circle = bq.Lines(x=f32(np.cos(_CIRCLE)), y=f32(np.sin(_CIRCLE)), scales=ss, colors=["#999999"])
        self.eigenvalue_points = bq.Scatter(x=f32([]), y=f32([]), scales=ss, colors=["#1f77b4"], default_size=16)
        self.jacobian_points = bq.Scatter(x=f32([]), y=f32([]), scales=ss, colors=["#d62728"], default_size=16,
                                          marker="cross")
        self.spectrum_figure = make_figure([self.unit_circle, self.eigenvalue_points, self.jacobian_points],
                                           "eigenvalues", "Re λ", "Im λ", width="330px", height="330px")
        io = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.input_weight_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=io, marker="circle", marker_size=8)
        self.output_weight_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=io, line_style="dashed",
                                            marker="square", marker_size=8)
        self.io_figure = make_figure([self.input_weight_lines, self.output_weight_lines],
                                     "input (solid) and output (dashed) weights", "unit (sorted)", "weight",
                                     width="380px")
        figures = [self.weights_figure, self.spectrum_figure, self.io_figure]
        plots = widgets.HBox(figures, layout=widgets.Layout(flex_flow="row wrap"))
        self._finish_layout([widgets.HBox([self.sort_by, self.spectrum_of]), plots], figures, "connectivity.svg")

    # ----------------------------------------------------------------- inputs
    def on_unit_click(self, callback):
        """Call ``callback(unit)`` when a heatmap cell is clicked (its presynaptic unit)."""
        self._listeners.append(callback)
        return callback

    def click_unit(self, position):
        """Act as a click on heatmap column ``position`` (sorted order); returns the unit index."""
        if self.result is None:
            return None
        unit = int(self.result.connectivity.order[int(position)])
        self.shared.toggle_unit(unit)
        for callback in list(self._listeners):
            callback(unit)
        return unit

    def _on_fixed_points(self, change):
        found = change["new"]
        if found is None or self.unavailable:
            return
        self.set_states({f"fixed point {k} ({'stable' if found.stable[k] else 'unstable'})": (found.points[k],
                                                                                                 found.inputs)
                         for k in range(len(found))}, "fixed points")

    def _on_click(self, mark, event):
        data = (event or {}).get("data", {})
        if "column" in data:
            self.click_unit(data["column"])

    def set_states(self, states, group="trials"):
        """Offer Jacobian spectra at ``states``: a dict ``label -> (state (N_rec,), input (N_in,))``.

        ``group`` names the source (``'trials'``, ``'fixed points'``); a new call replaces
        that group's states.
        """
        self._state_groups[group] = dict(states)
        self.states = {k: v for group_states in self._state_groups.values() for k, v in group_states.items()}
        current = self.spectrum_of.value
        options = [("W_rec_eff", "W_rec")] + [(f"Jacobian: {label}", label) for label in self.states]
        self.spectrum_of.options = options
        self.spectrum_of.value = current if current in dict((v, k) for k, v in options) else "W_rec"

    # ---------------------------------------------------------------- compute
    def computation(self, source, task):
        seed = self.seed
        by, choice = SORTS[self.sort_by.value], self.spectrum_of.value

        def compute(progress, should_stop):
            states, selectivity = {}, None
            if task is not None:
                progress(0.2, "simulating trials")
                batch = condition_batch(task, n_per_level=4, seed=seed, fixed_timing=True, noise=False)
                _, trial_states, rates, chosen = run_batch(source, batch)
                if both_choices(chosen):  # one choice only (an untrained network): no selectivity, sort by E/I
                    selectivity = choice_selectivity(rates, chosen)
                for i, level in enumerate(batch.levels):
                    trial = int(np.flatnonzero(batch.level_index == i)[0])
                    states[f"end of trial, evidence {level:+.3g}"] = (trial_states[trial, -1], batch.x[trial, -1])
            progress(0.6, "eigenvalues")
            state = states.get(choice)
            report = connectivity_report(source, by if selectivity is not None else ("ei",), selectivity,
                                         None if state is None else state[0], None if state is None else state[1])
            return report, states

        return compute

    def _on_result(self, result):
        report, states = result
        self.selectivity = report.selectivity
        self._applying = True  # the option change below must not redraw the previous result
        try:
            self.set_states(states, "trials")
        finally:
            self._applying = False
        super()._on_result(report)

    def redraw(self):
        """Re-sort / change the spectrum from the stored weights (fast: done at once)."""
        if self.source is None or self.result is None or self._applying:
            return
        by = SORTS[self.sort_by.value]
        if "selectivity" in by and self.selectivity is None:
            by = ("ei",)
        state = self.states.get(self.spectrum_of.value)
        self.result = connectivity_report(self.source, by, self.selectivity, None if state is None else state[0],
                                          None if state is None else state[1])
        self.show(self.result)

    # ------------------------------------------------------------------- show
    def show(self, report):
        conn = report.connectivity
        limit = float(np.max(np.abs(conn.W_rec))) or 1.0
        scale = self.weights_heatmap.scales["color"]
        with scale.hold_sync():
            scale.min, scale.max = -limit, limit
        self.weights_heatmap.color = f32(conn.W_rec)
        title = "W_rec_eff (E first)" if conn.dale and self.sort_by.value.startswith("E/I") else "W_rec_eff"
        self.weights_figure.title = title
        values = report.spectrum.eigenvalues
        self.shown_spectral_radius = float(np.max(np.abs(values))) if values.size else 0.0
        with self.eigenvalue_points.hold_sync():
            self.eigenvalue_points.x, self.eigenvalue_points.y = f32(values.real), f32(values.imag)
        jac = report.jacobian
        with self.jacobian_points.hold_sync():
            self.jacobian_points.x = f32([] if jac is None else jac.real)
            self.jacobian_points.y = f32([] if jac is None else jac.imag)
        extra = "" if jac is None else f", Jacobian {jac.spectral_radius:.3g}"
        self.spectrum_figure.title = f"eigenvalues: max |λ| W_rec {self.shown_spectral_radius:.4g}{extra}"
        units = np.arange(len(conn.order))
        with self.input_weight_lines.hold_sync(), self.output_weight_lines.hold_sync():
            self.input_weight_lines.x = f32(np.tile(units, (conn.W_in.shape[1], 1)))
            self.input_weight_lines.y = f32(conn.W_in.T)
            self.output_weight_lines.x = f32(np.tile(units, (conn.W_out.shape[0], 1)))
            self.output_weight_lines.y = f32(conn.W_out)
        self.say("")

