"""Compare panel: two networks, a network and its checkpoints, or a network and recorded activity.

Pick side **A** (the network the tab analyses, a run of the Lab's history, or a network
added with :meth:`ComparePanel.add_network`) and side **B** (another of those, *A's
checkpoints*, or *a file*: a weight file or a recordings ``.npz``, by its contents), tick
the measures and press *Compare*.  It computes in the background, with plain functions of
:mod:`psychrnn_widgets.analysis`, on weight snapshots taken when Compare was pressed:

==============================  ==============================================================
A and another network           :func:`~psychrnn_widgets.analysis.compare` on A's task's
                                noise-free trials: CKA, Procrustes (angular), SVCCA, DSA
A and its checkpoints           :func:`~psychrnn_widgets.analysis.dynamics_over_training`:
                                each checkpoint's distance to the final network (and its
                                fixed points, when ticked; TensorFlow).  A run started from
                                the training panel keeps 20 checkpoints, evenly spaced; a
                                network trained in code keeps them with ``checkpoint_every``
A and recorded activity         :func:`~psychrnn_widgets.analysis.fit_recordings`: cross-
                                validated R² per neuron and CKA
==============================  ==============================================================

``result`` is that function's result (an
:class:`~psychrnn_widgets.analysis.AnalysisResult`: it carries the arrays, draws itself
and saves SVG/PNG through the export row).  The panel only displays it.  It follows the
Lab through the tab's shared state (``shared.lab_state``: its history's runs are offered,
and the lists are rebuilt when the current run or the training status changes); it calls
no other panel.  Nothing is computed on the tab's refresh: Compare is pressed (or
:meth:`ComparePanel.compare` called).

Marks: ``measures_figure`` (``measure_bars``: one bar per measure), ``detail_figure``
(``detail_lines``: A and B on A's first two principal components, B aligned by Procrustes;
the distance to the final network against trials; or R² per neuron, sorted).
"""
import html
import os
from pathlib import Path

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..analysis import as_simulator
from ..errors import ParameterError
from .analysis_common import AnalysisPanel, f32, make_figure

__all__ = ["ComparePanel", "CURRENT", "CHECKPOINTS", "FILE", "MEASURES"]

#: the choice "the network the tab analyses"
CURRENT = "current network"
#: B's choice "A's checkpoints"
CHECKPOINTS = "checkpoints of A"
#: B's choice "the file named in the path box"
FILE = "file (path below)"
#: the measures offered: name -> label
MEASURES = {"cka": "CKA", "procrustes": "Procrustes", "cca": "SVCCA", "dsa": "DSA"}
_DISTANCE_LABELS = {"procrustes": "Procrustes (rad)", "dsa": "DSA (rad)", "cka": "1 - CKA", "cca": "1 - SVCCA"}
_COLORS = {"procrustes": "#1f77b4", "dsa": "#d62728", "cka": "#2ca02c", "cca": "#9467bd"}
#: trials drawn as trajectories (per side)
MAX_TRAJECTORIES = 8


def file_kind(path):
    """``'recordings'`` or ``'weights'``: what an ``.npz`` file holds (by its field names; nothing is unpickled).

    Raises ``ParameterError`` naming ``path`` for a missing file or one that is not an ``.npz``.
    """
    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise ParameterError(f"Compare: no file at {str(path)!r}", parameter="path", value=str(path),
                             allowed="a weight file or a recordings .npz file")
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
    except Exception as error:  # noqa: BLE001 - not an npz at all
        raise ParameterError(f"Compare: {path.name} is not an .npz file ({error})", parameter="path",
                             value=str(path), allowed="a weight file or a recordings .npz file") from error
    if "activity" in names:
        return "recordings"
    if "W_rec" in names or any(name.startswith(("W_", "weights")) for name in names):
        return "weights"
    raise ParameterError(f"Compare: {path.name} holds neither weights (W_rec...) nor recordings (activity)",
                         parameter="path", value=str(path), allowed="a weight file or a recordings .npz file")


class ComparePanel(AnalysisPanel):
    """Compare two networks, a network across training, or a network and recordings.

    Attributes: ``n_trials`` (trials each comparison runs; None: 100), ``dsa_options``
    (keyword arguments of :func:`~psychrnn_widgets.analysis.dsa_distance`), ``a_choice``, ``b_choice`` (Dropdowns of the sources), ``path`` (Text: the
    file B reads), ``measure_boxes`` (``{name: Checkbox}``), ``fixed_points_box`` (count
    fixed points at each checkpoint), ``compare_button``, ``stop_button`` (checkpoints: stop early, show
    those done), ``summary`` (HTML), ``mode``
    (``'networks'``, ``'checkpoints'`` or ``'recordings'``: of the result shown), ``labels``
    (``(A, B)`` of the result shown), ``result``, and the figures and marks named in the
    module docstring.
    """

    name = "compare"
    needs_task = True
    computes_on_refresh = False  # compares on demand (Compare)
    result_texts = ("summary",)

    def __init__(self, updater, seed=0, n_trials=None, dsa_options=None, **kwargs):
        super().__init__(updater, **kwargs)
        self.seed = int(seed)
        self.n_trials = n_trials  # trials each comparison runs (None: the analyses' default, 100)
        self.dsa_options = dsa_options  # keyword arguments of analysis.dsa_distance (n_delays, rank, n_starts...)
        self.mode, self.labels = None, (None, None)
        self._added = {}  # label -> (network, task) added by add_network
        style = {"description_width": "initial"}
        self.a_choice = widgets.Dropdown(options=[CURRENT], value=CURRENT, description="A",
                                         layout=widgets.Layout(width="300px"), style=style)
        self.b_choice = widgets.Dropdown(options=[CHECKPOINTS, FILE], value=CHECKPOINTS, description="B",
                                         layout=widgets.Layout(width="300px"), style=style)
        self.path = widgets.Text(value="", placeholder="weight file or recordings .npz", description="file",
                                 layout=widgets.Layout(width="420px"), style=style)
        self.measure_boxes = {name: widgets.Checkbox(value=name != "cca", description=label, indent=False,
                                                     layout=widgets.Layout(width="105px"))
                              for name, label in MEASURES.items()}
        self.fixed_points_box = widgets.Checkbox(value=False, description="fixed points at each checkpoint",
                                                 indent=False, layout=widgets.Layout(width="240px"))
        self.compare_button = widgets.Button(description="Compare", icon="balance-scale", button_style="primary")
        self.compare_button.on_click(lambda _: self.compare())
        self.stop_button = widgets.Button(description="Stop", icon="stop",
                                          tooltip="stop after the checkpoint being analysed (shows those done)")
        self.stop_button.on_click(lambda _: self.job.cancel())
        self.summary = widgets.HTML("")

        ms = {"x": bq.OrdinalScale(), "y": bq.LinearScale(min=0.0)}
        self.measure_bars = bq.Bars(x=["-"], y=f32([0.0]), scales=ms, colors=["#7f7f7f"], padding=0.35)
        self.measures_figure = make_figure([self.measure_bars], "measures", "", "value", width="330px")
        self.measures_figure.axes[0].tick_format = None
        ds = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.detail_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=ds, stroke_width=1.2)
        self.detail_figure = make_figure([self.detail_lines], "", "", "", width="460px")

        pickers = widgets.VBox([
            widgets.HBox([self.a_choice, self.b_choice]),
            self.path,
            widgets.HBox(list(self.measure_boxes.values()) + [self.fixed_points_box]),
            widgets.HBox([self.compare_button, self.stop_button]),
        ])
        plots = widgets.HBox([self.measures_figure, self.detail_figure], layout=widgets.Layout(flex_flow="row wrap"))
        self._finish_layout([pickers, self.summary, plots], [self.measures_figure, self.detail_figure], "compare.svg")
        self._follow_lab()
        self.update_choices()

    # ------------------------------------------------------------------ sources
    @property
    def lab_state(self):
        return getattr(self.shared, "lab_state", None)

    def _follow_lab(self):
        state = self.lab_state
        if state is not None:  # a new run, a run brought back, a run ending: the history changed
            state.observe(lambda _: self.update_choices(), names=["run", "status"])

    def _runs(self):
        """``{label: (model, task)}`` of the Lab's history (newest last), then the added networks."""
        out = {}
        state = self.lab_state
        if state is not None:
            for record in state.history:
                out[record.label] = (record.model, record.task)
        out.update(self._added)
        return out

    def update_choices(self):
        """Rebuild A's and B's lists (the current network, the history's runs, added networks); keeps the choices."""
        runs = list(self._runs())
        a_options = [CURRENT] + runs
        b_options = runs + [CHECKPOINTS, FILE]
        a, b = self.a_choice.value, self.b_choice.value
        with self.a_choice.hold_trait_notifications(), self.b_choice.hold_trait_notifications():
            if list(self.a_choice.options) != a_options:
                self.a_choice.options = a_options
                self.a_choice.value = a if a in a_options else CURRENT
            if list(self.b_choice.options) != b_options:
                self.b_choice.options = b_options
                self.b_choice.value = b if b in b_options else (runs[-1] if runs else CHECKPOINTS)

    def add_network(self, label, network, task=None):
        """Offer ``network`` (a model, weights dict or weight file) as a source named ``label``; returns ``label``.

        ``task``: the trials it is compared on when it is side A (default: the tab's task).
        """
        if not isinstance(label, str) or not label.strip() or label in (CURRENT, CHECKPOINTS, FILE):
            raise ParameterError(f"add_network: label must be a new non-empty name, got {label!r}",
                                 parameter="label", value=label, allowed="a non-empty string")
        self._added[label] = (network, task)
        self.update_choices()
        return label

    def _model_of(self, choice):
        """The network (a model, or the tab's snapshot) and task of a choice."""
        if choice == CURRENT:
            state = self.lab_state
            network = state.model if state is not None else getattr(self.shared, "network", None)
            return (network if network is not None else self.source), self.task
        model, task = self._runs()[choice]
        return model, task if task is not None else self.task

    def mark_computing(self, network):
        """Another network is the current one: a comparison that took the current network as A is blanked and
        faded; one between named runs or files still holds and stays."""
        self.update_choices()
        if self.result is not None and CURRENT not in self.labels:
            return
        super().mark_computing(network)

    # ------------------------------------------------------------------ compute
    def refresh(self):
        """Nothing automatic: update the lists; the comparison runs on Compare (:meth:`compare`)."""
        self.update_choices()
        if self.source is None and self.a_choice.value == CURRENT:
            self.say("no network yet")
        elif self.result is None:
            self.say("pick A and B, then press Compare")
        return False

    def compare(self, wait=False, timeout=300.0):
        """Compare A and B as chosen (in the background; with ``wait``, block until done). False if impossible."""
        self.update_choices()
        try:
            fn = self._computation()
        except Exception as error:  # noqa: BLE001 - e.g. a network without a NumPy twin: shown, never raised
            self.say(str(error) if isinstance(error, ParameterError) else f"{type(error).__name__}: {error}",
                     error=True)
            return False
        self.progress.value = 0.0  # pressed again while one runs: that one is queued (the latest wins)
        self.job.start(fn)
        if wait:
            self.wait(timeout)
        return True

    def _measures(self):
        chosen = tuple(name for name, box in self.measure_boxes.items() if box.value)
        if not chosen:
            raise ParameterError("Compare: tick at least one measure", parameter="metrics", value=(),
                                 allowed=f"any of {tuple(MEASURES)}")
        return chosen

    def _computation(self):
        """Read the controls and snapshot the networks now (main thread); returns the background function."""
        from ..analysis import compare, dynamics_over_training, fit_recordings

        a_label, b_label = self.a_choice.value, self.b_choice.value
        network_a, task = self._model_of(a_label)
        if network_a is None:
            raise ParameterError("Compare: no network for A yet", parameter="A", value=a_label)
        if task is None:
            raise ParameterError("Compare: no task for A yet: press 'Analyse current network' (or give add_network "
                                 "a task)", parameter="task", value=None)
        metrics, seed, n_trials, dsa_options = self._measures(), self.seed, self.n_trials, self.dsa_options
        sim_a = as_simulator(network_a)  # a copy of the weights: training may go on
        if b_label == CHECKPOINTS:
            from ..training.trainer import Trainer

            if not hasattr(network_a, "get_weights"):
                raise ParameterError("Compare: A is a weights snapshot, not a trained model: it has no checkpoints",
                                     parameter="B", value=b_label)
            kept = Trainer.of(network_a).checkpoints.list()
            if len(kept) < 2:
                raise ParameterError(
                    f"Compare: A kept {len(kept)} checkpoint(s); train it with train_params "
                    "checkpoint_every=N (steps) to keep them", parameter="B", value=b_label,
                    allowed="a network trained with checkpoint_every")
            fixed = bool(self.fixed_points_box.value)
            mode, label_b = "checkpoints", f"{len(kept)} checkpoints"

            def compute(progress, should_stop):
                return dynamics_over_training(kept, task, metrics=metrics, seed=seed, n_trials=n_trials,
                                              fixed_points=fixed, dsa_options=dsa_options, progress=progress,
                                              should_stop=should_stop)
        elif b_label == FILE:
            path = self.path.value.strip()
            if not path:
                raise ParameterError("Compare: type the path of a weight file or a recordings .npz", parameter="path",
                                     value=path)
            kind = file_kind(path)
            label_b = Path(path).name
            if kind == "recordings":
                mode = "recordings"

                def compute(progress, should_stop):
                    progress(0.1, "fitting the recordings (cross-validated)")
                    return fit_recordings(sim_a, str(Path(path).expanduser()), seed=seed)
            else:
                mode, sim_b = "networks", as_simulator(str(Path(path).expanduser()))

                def compute(progress, should_stop):
                    progress(0.1, "running both networks")
                    return compare(sim_a, sim_b, task, metrics=metrics, n_trials=n_trials, seed=seed,
                                   dsa_options=dsa_options)
        else:
            network_b, _ = self._model_of(b_label)
            mode, label_b, sim_b = "networks", b_label, as_simulator(network_b)

            def compute(progress, should_stop):
                progress(0.1, "running both networks")
                return compare(sim_a, sim_b, task, metrics=metrics, n_trials=n_trials, seed=seed,
                                   dsa_options=dsa_options)

        labels = (a_label, label_b)

        def run(progress, should_stop):
            return mode, labels, compute(progress, should_stop)

        return run

    def computation(self, source, task):  # the tab's refresh does not compute: see refresh()
        return self._computation()

    # --------------------------------------------------------------------- show
    def _on_result(self, outcome):
        self.mode, self.labels, result = outcome
        super()._on_result(result)

    def show(self, result):
        a, b = self.labels
        if self.mode == "networks":
            self._show_networks(result, a, b)
        elif self.mode == "checkpoints":
            self._show_checkpoints(result, a)
        else:
            self._show_recordings(result, a, b)

    def _bars(self, names, values, colors, title):
        with self.measure_bars.hold_sync():
            self.measure_bars.x = list(names)
            self.measure_bars.y = f32(np.nan_to_num(values))
            self.measure_bars.colors = list(colors)
        self.measures_figure.title = title

    def _lines(self, x, y, colors, styles, title, x_label, y_label, labels=None):
        with self.detail_lines.hold_sync():
            self.detail_lines.x = f32(x) if len(x) else f32([[]])
            self.detail_lines.y = f32(y) if len(y) else f32([[]])
            self.detail_lines.colors = colors or ["black"]
            self.detail_lines.line_style = styles
            self.detail_lines.labels = list(labels or [])
            self.detail_lines.display_legend = bool(labels)
        self.detail_figure.title = title
        self.detail_figure.axes[0].label, self.detail_figure.axes[1].label = x_label, y_label

    def _show_networks(self, comparison, a, b):
        values = comparison.values()
        labels = {"cka": "CKA", "procrustes": "Procrustes", "cca": "SVCCA", "dsa": "DSA"}
        self._bars([labels[n] for n in values], list(values.values()), [_COLORS[n] for n in values], "A vs B")
        shown = next((r for r in (comparison.cka, comparison.procrustes, comparison.cca) if r is not None), None)
        if shown is not None:
            trajectories_a = shown.trajectories_a[:MAX_TRAJECTORIES]
            trajectories_b = shown.trajectories_b[:MAX_TRAJECTORIES]
            x = [t[:, 0] for t in trajectories_a] + [t[:, 0] for t in trajectories_b]
            y = [t[:, 1] for t in trajectories_a] + [t[:, 1] for t in trajectories_b]
            colors = ["#1f77b4"] * len(trajectories_a) + ["#d62728"] * len(trajectories_b)
            self._lines(x, y, colors, "solid", "A (blue) and B aligned (red) on A's PCs", "PC1 of A", "PC2 of A")
        else:  # DSA alone: the two DMD spectra
            eig_a, eig_b = comparison.dsa.dmd_a.eigenvalues, comparison.dsa.dmd_b.eigenvalues
            circle = np.exp(1j * np.linspace(0, 2 * np.pi, 121))
            x = [circle.real, np.sort_complex(eig_a).real, np.sort_complex(eig_b).real]
            y = [circle.imag, np.sort_complex(eig_a).imag, np.sort_complex(eig_b).imag]
            self._lines(x, y, ["#bbbbbb", "#1f77b4", "#d62728"], "solid", "DMD eigenvalues: A (blue), B (red)",
                        "real", "imaginary")
        text = " · ".join(f"{labels[n]} {v:.3f}" for n, v in values.items())
        self.summary.value = (f"<b>{html.escape(a)}</b> vs <b>{html.escape(b)}</b>: {html.escape(text)} "
                              "<span style='color:#555'>(CKA, SVCCA: 1 = same representation; Procrustes, DSA: "
                              "0 = same shape / dynamics, radians)</span>")

    def _show_checkpoints(self, dynamics, a):
        distances = dynamics.distances()
        names = list(distances)
        first = [float(values[0]) for values in distances.values()]
        self._bars([_DISTANCE_LABELS[n] for n in names], first, [_COLORS[n] for n in names],
                   "first checkpoint vs final")
        trials = dynamics.trials.astype(float)
        x = [trials[:len(values)] for values in distances.values()]
        y = [np.nan_to_num(values) for values in distances.values()]
        self._lines(x, y, [_COLORS[n] for n in names], "solid", "distance to the final network", "trials trained",
                    "distance", labels=[_DISTANCE_LABELS[n] for n in names])
        text = f"{len(dynamics)} checkpoints of <b>{html.escape(a)}</b>, {int(trials[0]):,} to {int(trials[-1]):,} trials"
        if dynamics.n_stable is not None:
            text += (" · stable fixed points: " + ", ".join(str(int(n)) for n in dynamics.n_stable)
                     + f" (of {', '.join(str(int(n)) for n in dynamics.n_fixed)} found)")
        if dynamics.stopped:
            text += " · <i>stopped early</i>"
        self.summary.value = text

    def _show_recordings(self, fit, a, b):
        self._bars(["mean R²", "median R²", "CKA"], [fit.mean_r2, fit.median_r2, fit.cka],
                   ["#1f77b4", "#aec7e8", "#2ca02c"], "network vs recordings")
        order = np.argsort(-fit.r2)
        x = [np.arange(len(order), dtype=float)]
        y = [fit.r2[order]]
        colors = ["#1f77b4"]
        if np.any(np.isfinite(fit.reliability)):
            x.append(x[0])
            y.append(np.nan_to_num(fit.reliability[order]))
            colors.append("#7f7f7f")
        self._lines(x, y, colors, "solid", "held-out R² per neuron", "neuron (sorted)", "R²",
                    labels=["R²", "reliability"][:len(x)])
        self.summary.value = (f"<b>{html.escape(a)}</b> ({fit.n_units} units, {fit.signal}) against "
                              f"<b>{html.escape(b)}</b> ({len(fit.r2)} neurons): cross-validated R² mean "
                              f"{fit.mean_r2:.3f}, median {fit.median_r2:.3f}; CKA {fit.cka:.3f}")
