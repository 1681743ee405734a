"""Fixed-point panel: find fixed and slow points (TensorFlow) and draw them over the PCA trajectories.

Press *Find*: :func:`~psychrnn_widgets.analysis.fixed_points.find_fixed_points` runs in
the background from states sampled on the condition-averaged trajectories (plus noise),
with a progress bar and a *Stop* button.  Points are drawn on the trajectories'
principal components: stable ones filled, unstable ones open, with a line along each
unstable point's most unstable direction.  Points live in the network's whole dynamical
state (an LSTM's hidden and cell state side by side), found through its ``next_state``.  The network analysed is a frozen copy of the
weights taken when Find was pressed, so training may go on meanwhile.  Marks:
``fixed_point_figure`` (``trajectory_lines``, ``stable_points``, ``unstable_points``,
``unstable_direction_lines``).
"""
import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..analysis import as_simulator
from ..analysis.conditions import condition_batch
from ..analysis.pca import pca
from ..analysis.units import condition_average
from .analysis_common import AnalysisPanel, f32, level_colors, make_figure, pick_levels

__all__ = ["FixedPointPanel"]

MAX_TRAJECTORIES = 12


def _stimulus_input(batch, level_index):
    """The noise-free input of a level at the step where it differs most from the trial's start (N_in,)."""
    trial = int(np.flatnonzero(batch.level_index == level_index)[0])
    x = batch.x[trial]
    step = int(np.argmax(np.linalg.norm(x - x[0], axis=1)))
    return x[step].astype(np.float64)


#: the input dropdown's value for "no input (zeros)"
NO_INPUT = "zeros"


class FixedPointPanel(AnalysisPanel):
    """Fixed and slow points over the trajectories.

    Attributes: ``result`` (:class:`~psychrnn_widgets.analysis.fixed_points.FixedPoints`,
    with ``pca`` and ``trajectories`` set), ``input_choice`` (Dropdown: no input, or the
    stimulus of one evidence level), ``n_initial``, ``q_tolerance``, ``max_iterations``,
    ``noise`` (controls), ``find_button``, ``stop_button``, ``summary`` (HTML), the
    figure and marks named in the module docstring.
    """

    name = "fixed points"
    result_texts = ("summary",)
    computes_on_refresh = False

    def __init__(self, updater, seed=0, n_initial=128, q_tolerance=1e-8, max_iterations=2000, **kwargs):
        super().__init__(updater, **kwargs)
        self.seed = int(seed)
        self.levels = np.zeros(0)
        self._listeners = []
        style = {"description_width": "initial"}
        # a real value for "no input": a Dropdown's value None means "nothing selected" (a blank box)
        self.input_choice = widgets.Dropdown(options=[("no input (zeros)", NO_INPUT)], value=NO_INPUT,
                                             description="input u*",
                                             layout=widgets.Layout(width="280px"), style=style)
        self.n_initial = widgets.BoundedIntText(value=int(n_initial), min=1, max=100000, description="initial states",
                                                layout=widgets.Layout(width="170px"), style=style)
        self.q_tolerance = widgets.FloatLogSlider(value=q_tolerance, base=10, min=-14, max=-1, step=0.5,
                                                  description="q tolerance", readout_format=".0e", style=style)
        self.max_iterations = widgets.BoundedIntText(value=int(max_iterations), min=1, max=10 ** 7,
                                                     description="Adam steps", layout=widgets.Layout(width="170px"),
                                                     style=style)
        self.noise = widgets.BoundedFloatText(value=0.5, min=0.0, max=100.0, step=0.1, description="noise",
                                              layout=widgets.Layout(width="130px"), style=style)
        self.find_button = widgets.Button(description="Find", icon="search", button_style="primary")
        self.stop_button = widgets.Button(description="Stop search", icon="stop", disabled=True)
        self.summary = widgets.HTML("")
        self.find_button.on_click(lambda _: self.find())
        self.stop_button.on_click(lambda _: self.job.cancel())

        s = {"x": bq.LinearScale(), "y": bq.LinearScale()}
        self.trajectory_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=s, stroke_width=1, opacities=[0.7])
        self.unstable_direction_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=s, colors=["#d62728"])
        self.stable_points = bq.Scatter(x=f32([]), y=f32([]), scales=s, colors=["black"], default_size=50)
        self.unstable_points = bq.Scatter(x=f32([]), y=f32([]), scales=s, colors=["black"], default_size=50,
                                          fill=False, stroke="black")
        self.fixed_point_figure = make_figure(
            [self.trajectory_lines, self.unstable_direction_lines, self.stable_points, self.unstable_points],
            "fixed points (filled: stable, open: unstable)", "PC1", "PC2", width="460px", height="420px")
        controls = widgets.VBox([
            widgets.HBox([self.input_choice, self.n_initial, self.max_iterations, self.noise]),
            widgets.HBox([self.q_tolerance, self.find_button, self.stop_button]),
        ])
        self._finish_layout([controls, self.summary, self.fixed_point_figure], [self.fixed_point_figure],
                            "fixed_points.svg")

    def set_source(self, source, task):
        """The network (a weights snapshot: a frozen TF copy is built from it) and task."""
        super().set_source(source, task)
        if task is not None:
            levels = condition_batch(task, n_per_level=1, seed=self.seed, fixed_timing=True, noise=False).levels
            current = self.input_choice.value
            options = [("no input (zeros)", NO_INPUT)] + [(f"stimulus, evidence {v:+.3g}", float(v)) for v in levels]
            self.input_choice.options = options
            self.input_choice.value = current if current in [v for _, v in options] else NO_INPUT

    def on_found(self, callback):
        """Call ``callback(fixed_points)`` after every search (e.g. to offer their Jacobian spectra)."""
        self._listeners.append(callback)
        return callback

    def refresh(self):
        """Nothing automatic: fixed points are searched on demand (:meth:`find`)."""
        self.say("press Find to search" if self.source is not None else "no network yet")
        return False

    def find(self):
        """Start the search in the background; returns False without a network."""
        started = AnalysisPanel.refresh(self)
        if started:
            self.find_button.disabled = True
            self.stop_button.disabled = False
        return started

    def computation(self, source, task):
        from ..analysis import fixed_points as fp_module  # TensorFlow is imported when the search runs

        seed = self.seed
        level, n_initial, noise = self.input_choice.value, int(self.n_initial.value), float(self.noise.value)
        q_tolerance, iterations = float(self.q_tolerance.value), int(self.max_iterations.value)

        def compute(progress, should_stop):
            progress(0.0, "simulating trajectories")
            batch = condition_batch(task, n_per_level=1, seed=seed, fixed_timing=True, noise=False)
            # the whole dynamical state (an LSTM's hidden and cell side by side): where fixed points live
            _, states = as_simulator(source).run_trials(batch.x, noise=False, full_state=True)
            averaged = condition_average(states, batch.level_index, len(batch.levels))[0]
            inputs = None
            if level != NO_INPUT:
                inputs = _stimulus_input(batch, int(np.argmin(np.abs(batch.levels - level))))
            projection = pca(averaged, 2)  # before the search: after a Stop only the search's own ending is left
            model = fp_module.as_tf_model(source)
            initial = fp_module.sample_states(averaged, n_initial, noise_scale=noise, seed=seed)
            found = fp_module.find_fixed_points(model, initial, inputs, q_tolerance=q_tolerance,
                                                max_iterations=iterations, progress=progress,
                                                should_stop=should_stop)
            found.trajectories = averaged
            found.pca = projection
            return found, batch.levels

        return compute

    def _on_error(self, error, text):
        self.find_button.disabled, self.stop_button.disabled = False, True
        super()._on_error(error, text)

    def _on_result(self, outcome):
        found, self.levels = outcome
        super()._on_result(found)

    def show(self, found):
        self.find_button.disabled, self.stop_button.disabled = False, True
        projection = found.projection()
        lines = projection.transform(found.trajectories)
        chosen = pick_levels(len(lines), MAX_TRAJECTORIES)
        colors = level_colors(self.levels)
        with self.trajectory_lines.hold_sync():
            self.trajectory_lines.x, self.trajectory_lines.y = f32(lines[chosen, :, 0]), f32(lines[chosen, :, 1])
            self.trajectory_lines.colors = [colors[i] for i in chosen]
        xy = found.project(projection) if len(found) else np.zeros((0, 2))
        for points, which in ((self.stable_points, found.stable), (self.unstable_points, ~found.stable)):
            with points.hold_sync():
                points.x, points.y = f32(xy[which, 0]), f32(xy[which, 1])
        span = float(np.ptp(lines[..., :2])) if lines.size else 1.0
        segments = found.direction_segments(projection, scale=0.1 * span) if len(found) else np.zeros((0, 2, 2))
        with self.unstable_direction_lines.hold_sync():
            self.unstable_direction_lines.x = f32(segments[:, :, 0]) if len(segments) else f32([[]])
            self.unstable_direction_lines.y = f32(segments[:, :, 1]) if len(segments) else f32([[]])
        n_stable = int(found.stable.sum())
        q_max = f"{found.q.max():.2g}" if len(found) else "–"
        self.summary.value = (f"{len(found)} points ({n_stable} stable, {len(found) - n_stable} unstable) from "
                              f"{found.initial_states.shape[0]} starts, {found.iterations} Adam steps, max q {q_max}")
        if found.stopped:
            below = int(np.sum(found.candidate_q < found.q_tolerance))
            self.summary.value += (f" &mdash; <b>search stopped</b>: the points analysed by then ({below} of the "
                                   f"{found.initial_states.shape[0]} starts had reached the tolerance)")
        self.shared.fixed_points = found
        for callback in list(self._listeners):
            callback(found)
        self.say("")
