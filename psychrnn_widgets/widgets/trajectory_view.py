"""Live trajectory view: hidden states on a fixed probe batch, projected on principal components.

The probe batch is fixed (rendered without input noise and run without recurrent noise),
so that the picture changes only because the weights change:

* :class:`~psychrnn_widgets.tasks.PerceptualDiscrimination`: one trial per coherence ×
  direction (stimulus from T/4 to T/2), coloured blue (channel 0) / red (channel 1), darker
  for higher coherence;
* any other task: a seeded batch (a copy of the task, seed 0, so the task's own random
  stream is untouched) coloured by the target's chosen channel.

The states ``(n_lines, T, N_rec)`` are centred and projected on their first principal
components (numpy SVD; component signs kept consistent between refreshes).  At most
``max_lines`` (20) lines.  During training the view is refreshed through the shared
:class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater`, at most ``max_rate_hz``
(2) times per second, and once more on the final flush.

In the Lab (``lab_state=``) the view shows the
:class:`~psychrnn_widgets.widgets.lab_state.LabState`'s current network (``run``) on the
probe batch of its ``task`` (while training, a new task is drawn at the next throttled
refresh).
"""
import copy
import html
import time
import warnings

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..analysis.pca import pca_project  # the package's one PCA (re-exported here for old imports)
from .throttle import ThrottledUpdater

__all__ = ["TrajectoryView", "probe_batch", "pca_project"]

_CATEGORICAL = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf")


def _shade(rgb, level):
    """Blend the colour ``rgb`` (0-255 triple) with white; ``level`` in [0, 1] (1 = full colour)."""
    level = 0.35 + 0.65 * float(np.clip(level, 0.0, 1.0))
    r, g, b = (int(round(255 - (255 - c) * level)) for c in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _pd_probe(task, max_lines):
    from ..tasks.perceptual_discrimination import DEFAULT_COHERENCES

    coh = task.coherence
    if coh is None:
        coherences = tuple(DEFAULT_COHERENCES)
    elif isinstance(coh, tuple):
        coherences = tuple(sorted(set(coh)))
    else:
        coherences = (float(coh),)
    coherences = coherences[: max(1, max_lines // 2)]
    T = float(task.T)
    params, colors, labels = [], [], []
    top = max(coherences) or 1.0
    for direction, rgb in ((0, (31, 119, 180)), (1, (214, 39, 40))):
        for c in coherences:
            params.append({"coherence": float(c), "direction": direction, "stim_noise": 0.0,
                           "onset_time": T / 4.0, "stim_duration": T / 4.0})
            colors.append(_shade(rgb, c / top if len(coherences) > 1 else 1.0))
            labels.append(f"ch{direction} coh {c:g}")
    x, _, _ = task.trials_from_params(params, noise=False)
    return x, colors, labels, params


def _generic_probe(task, max_lines):
    probe_task = copy.deepcopy(task)
    probe_task.set_seed(0)
    n = min(int(max_lines), 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tasks without 'stim_noise' warn that noise stays on
        x, y, mask, params = probe_task.generate_batch(N_batch=n, noise=False)
    choice = np.argmax(np.mean(y * mask, axis=1), axis=-1)
    order = np.argsort(choice, kind="stable")
    colors = [_CATEGORICAL[int(choice[i]) % len(_CATEGORICAL)] for i in order]
    labels = [f"target {int(choice[i])}" for i in order]
    return x[order], colors, labels, [params[i] for i in order]


def probe_batch(task, max_lines=20):
    """The fixed probe batch of ``task``: ``(x (n, T, N_in) float32, colors, labels, trial_params)``."""
    from ..tasks.perceptual_discrimination import PerceptualDiscrimination

    if isinstance(task, PerceptualDiscrimination):
        return _pd_probe(task, max_lines)
    return _generic_probe(task, max_lines)


class TrajectoryView(widgets.VBox):
    """PCA of hidden states on a fixed probe batch, coloured by condition.

    Args:
        model: a trained or training model with ``test(x, noise=False)`` (or None for now).
        task: the task whose probe batch is shown.
        updater: the shared :class:`ThrottledUpdater` (default: a new one).
        n_components: principal components computed (3, so a 3-D view can use them).
        max_rate_hz: most refreshes per second during training (2).
        max_lines: most lines (conditions) drawn (20).
        trials_key: updater key whose change means "the weights changed" (the training panel's).
        lab_state: the Lab's :class:`~psychrnn_widgets.widgets.lab_state.LabState` to follow, or None.

    Attributes: ``figure``, ``lines`` (bqplot Lines; x, y of shape (n_lines, T)),
    ``pc_x``, ``pc_y`` (component choosers), ``refresh_button``, ``message`` (HTML),
    ``projection`` (n_lines, T, n_components) float32, ``colors``, ``labels``,
    ``explained`` (variance ratio per component), ``n_refreshes``.
    """

    def __init__(self, model=None, task=None, updater=None, n_components=3, max_rate_hz=2.0, max_lines=20,
                 trials_key="training/trials", lab_state=None, **kwargs):
        if lab_state is not None:
            model, task = lab_state.model, lab_state.task
        self.model = model
        self.task = task
        self.updater = updater if updater is not None else ThrottledUpdater()
        self.n_components = max(2, int(n_components))
        self.max_rate_hz = float(max_rate_hz)
        self.max_lines = int(max_lines)
        self.trials_key = trials_key
        self.projection = None
        self.colors = []
        self.labels = []
        self.explained = None
        self.n_refreshes = 0
        self._components = None
        self._probe = None
        self._last_refresh = None
        self._seen_trials = None
        self._callbacks = []

        self.lines = bq.Lines(x=np.zeros((0, 0), np.float32), y=np.zeros((0, 0), np.float32),
                              scales={"x": bq.LinearScale(), "y": bq.LinearScale()}, stroke_width=1.5,
                              display_legend=False)
        self.start_points = bq.Scatter(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                                       scales=self.lines.scales, colors=["black"], default_size=16)
        self._x_axis = bq.Axis(scale=self.lines.scales["x"], label="PC1", tick_format="~g")
        self._y_axis = bq.Axis(scale=self.lines.scales["y"], side="left", label="PC2", tick_format="~g")
        self.figure = bq.Figure(marks=[self.lines, self.start_points], axes=[self._x_axis, self._y_axis],
                                title="hidden-state trajectories (PCA)", animation_duration=0,
                                fig_margin={"top": 30, "bottom": 40, "left": 50, "right": 10},
                                layout=widgets.Layout(width="420px", height="380px"))
        self.figure.add_class("psychrnn-trajectory-figure")  # a stable handle for browser tests
        options = [(f"PC{i + 1}", i) for i in range(self.n_components)]
        chooser = dict(options=options, layout=widgets.Layout(width="110px"), style={"description_width": "initial"})
        self.pc_x = widgets.Dropdown(value=0, description="x", **chooser)
        self.pc_y = widgets.Dropdown(value=1, description="y", **chooser)
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.message = widgets.HTML("")
        self.legend = widgets.HTML("")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.pc_x.observe(lambda _: self._draw(), names="value")
        self.pc_y.observe(lambda _: self._draw(), names="value")
        self.updater.add_flusher(self._flush)
        super().__init__(children=[widgets.HBox([self.pc_x, self.pc_y, self.refresh_button]), self.figure,
                                   self.legend, self.message], **kwargs)
        self.refresh()
        if lab_state is not None:
            lab_state.observe(self._on_lab_run, names="run")
            lab_state.observe(self._on_lab_task, names="task")

    def _on_lab_run(self, change):
        record, state = change["new"], change["owner"]
        if record is not None:
            self.set_model(record.model, task=record.task or state.task)

    def _on_lab_task(self, change):
        task, model = change["new"], self.model
        if task is None or task is self.task:
            return
        fits = model is not None and (model.N_in, model.N_out) == (task.N_in, task.N_out)
        self.set_task(task, refresh=fits and not change["owner"].running)  # else: with the next network

    # --------------------------------------------------------------------- inputs
    def set_model(self, model, task=None):
        """Show ``model`` (and use ``task``'s probe batch if given); recomputes now."""
        self.model = model
        if task is not None and task is not self.task:
            self.task = task
            self._probe = None
        self._components = None
        self.refresh()

    def set_task(self, task, refresh=True):
        """Use ``task``'s probe batch: redraw now, or (``refresh=False``, while training) at the next throttled flush."""
        self.task = task
        self._probe = None
        self._components = None
        if refresh:
            self.refresh()
        else:
            self._seen_trials = None

    def on_refresh(self, callback):
        """Call ``callback(view)`` after every successful refresh (e.g. to feed a 3-D view)."""
        self._callbacks.append(callback)
        return callback

    # -------------------------------------------------------------------- compute
    def probe(self):
        """``(x, colors, labels, trial_params)`` of the fixed probe batch (built once per task)."""
        if self._probe is None:
            self._probe = probe_batch(self.task, self.max_lines)
        return self._probe

    def refresh(self, light=False):
        """Recompute the projection from the current weights and redraw; True on success.

        ``light``: redraw only the lines (one message; the throttled refreshes during
        training); the start points, labels and legend follow at the next full redraw.
        """
        self._last_refresh = time.monotonic()
        self._seen_trials = self.updater.get(self.trials_key)
        if self.model is None or self.task is None:
            self._say("no model yet" if self.model is None else "no task yet")
            return False
        try:
            x, colors, labels, _ = self.probe()
            _, states = self.model.test(x, noise=False)
            states = np.asarray(states)
            stride = max(1, int(np.ceil(states.shape[1] / 5000)))  # <= 5,000 points per line
            proj, comps, explained = pca_project(states[:, ::stride], self.n_components, self._components)
            if not np.all(np.isfinite(proj)):
                raise FloatingPointError("the hidden states are not finite")
        except Exception as error:  # noqa: BLE001 - shown in the view, never raised into the notebook
            self._say(f"cannot compute trajectories: {type(error).__name__}: {error}")
            return False
        self._components = comps
        self.projection, self.colors, self.labels, self.explained = proj, list(colors), list(labels), explained
        self.n_refreshes += 1
        self._draw(light=light)
        self._say("")
        for callback in list(self._callbacks):
            callback(self)
        return True

    def _say(self, text):
        value = f"<span style='color:#a60'>{html.escape(text)}</span>" if text else ""
        if self.message.value != value:
            self.message.value = value

    def _draw(self, light=False):
        proj = self.projection
        if proj is None:
            return
        i, j = int(self.pc_x.value), int(self.pc_y.value)
        if light and list(self.lines.colors) == self.colors and list(self.lines.labels) == self.labels:
            with self.lines.hold_sync():
                self.lines.x = proj[:, :, i]
                self.lines.y = proj[:, :, j]
            return
        with self.lines.hold_sync(), self.start_points.hold_sync():
            self.lines.x = proj[:, :, i]
            self.lines.y = proj[:, :, j]
            if list(self.lines.colors) != self.colors:
                self.lines.colors = self.colors
            if list(self.lines.labels) != self.labels:
                self.lines.labels = self.labels
            self.start_points.x = proj[:1, 0, i]
            self.start_points.y = proj[:1, 0, j]
        labels = [f"PC{k + 1}" for k in (i, j)]  # (the explained variance: view.explained; a label per refresh costs)
        if self._x_axis.label != labels[0]:
            self._x_axis.label = labels[0]
        if self._y_axis.label != labels[1]:
            self._y_axis.label = labels[1]
        legend = self._legend_html()
        if self.legend.value != legend:
            self.legend.value = legend

    def _legend_html(self):
        seen = []
        for color, label in zip(self.colors, self.labels):
            if (color, label) not in seen:
                seen.append((color, label))
        items = "".join(f"<span style='color:{c};white-space:nowrap'>&#9632; {html.escape(lab)}</span> "
                        for c, lab in seen)
        return f"<div style='font-size:11px;max-width:420px'>{items}● start</div>"

    def _flush(self):
        """Flusher: refresh at most ``max_rate_hz`` times per second when the weights changed; returns messages sent."""
        trials = self.updater.get(self.trials_key)
        if trials is None or trials == self._seen_trials:
            return 0
        due = self._last_refresh is None or time.monotonic() - self._last_refresh >= 1.0 / self.max_rate_hz
        if due or self.updater.forcing:
            return self.refresh_messages()
        return 0

    def refresh_messages(self):
        """:meth:`refresh` (light while training, full on the final flush); the widget messages it sent."""
        light = not self.updater.forcing
        if not self.refresh(light=light):
            return 1
        return (1 if light else 3) + len(self._callbacks)  # lines (start point, legend); one per view fed
