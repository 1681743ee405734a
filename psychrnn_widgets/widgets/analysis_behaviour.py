"""Behaviour panel: psychometric curve with its fit, chronometric curve, output traces by condition.

Computes :func:`psychometric_curve`, :func:`chronometric_curve` and :func:`output_traces`
(through :func:`psychrnn_widgets.analysis.behaviour.behaviour`) in the background and
only displays them.  Marks a browser test can find: ``psychometric_figure``
(``psychometric_points`` Scatter, ``psychometric_fit_line`` Lines),
``chronometric_figure`` (``chronometric_line``), ``traces_figure`` (``trace_lines``,
``target_lines``).

**During learning** (:meth:`BehaviourPanel.follow_learning`, wired by the Lab): while a
network trains, the psychometric curve (and the chronometric curve when the task has a
stimulus onset) is recomputed at a low rate -- every :attr:`~BehaviourPanel.learning_every`
trials, never while the previous one still runs, on a small fixed set of trials
(``learning_n_per_level`` per level, seeded) -- from a copy of the weights taken between
two steps, on the panel's own worker thread (the training thread only copies the
weights).  With a curriculum, each stage keeps its own curve: the one the network had when
the stage ended stays drawn (lighter) beside the current stage's, so the stages can be
compared.  Once more when a run ends.  At most one regular snapshot every
:attr:`~BehaviourPanel.learning_min_interval` seconds (5, the updater's clock), computed on the
panel's own worker thread and drawn by a flusher of the shared updater within its message
budget.  Marks: ``learning_lines`` (psychometric, one line
per stage) and ``chronometric_learning_lines`` in the same figures, ``learning_label``
(HTML); :attr:`~BehaviourPanel.learning_curves` holds them (``{stage: snapshot}``).
"""
import html
import threading
import time

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..analysis.behaviour import PARAMETERS, behaviour, chronometric_curve, psychometric_curve
from ..analysis.conditions import condition_batch
from .analysis_common import AnalysisPanel, f32, level_colors, make_figure, pick_levels
from .worker import WorkerThread

__all__ = ["BehaviourPanel"]

#: most levels drawn in the traces figure (outputs + targets: <= 20 lines)
MAX_TRACE_LEVELS = 10
#: colours of the during-learning curves, by curriculum stage (the current stage drawn darkest)
STAGE_COLOURS = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
#: most stages whose curves are drawn (the latest ones)
MAX_STAGE_CURVES = 6


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
        self.fit_label.add_class("psychrnn-fit-label")  # a browser test reads the accuracy here

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
        # during learning: one line per curriculum stage (None: no curriculum), in the same figures
        self.learning_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales={"x": xs, "y": ys}, stroke_width=1.5,
                                       marker="circle", marker_size=12, colors=list(STAGE_COLOURS),
                                       display_legend=False, labels=[])
        self.chronometric_learning_lines = bq.Lines(x=f32([[]]), y=f32([[]]), scales=cs, stroke_width=1.5,
                                                    colors=list(STAGE_COLOURS), display_legend=False, labels=[])
        self.psychometric_figure.marks = [self.learning_lines, *self.psychometric_figure.marks]
        self.chronometric_figure.marks = [self.chronometric_learning_lines, *self.chronometric_figure.marks]
        self.learning_label = widgets.HTML("")
        #: ``{stage: snapshot}`` of the network being trained (stage None without a curriculum); a snapshot is a
        #: dict: ``trials``, ``levels``, ``p_choice1``, ``accuracy``, ``rt_levels``, ``mean_rt`` (None: no onset)
        self.learning_curves = {}
        self.learning_every = 2000
        self.learning_n_per_level = 30
        #: seconds between two regular snapshots at least (the updater's clock), whatever the trials: a low rate
        self.learning_min_interval = 5.0
        self._learning_worker = WorkerThread("psychrnn-learning-curves")
        self._learning_handle = None  # the worker's current run (computing the queue)
        self._learning_busy = False  # True while the worker computes queued snapshots (guarded by the lock)
        self._learning_ready = []  # computed snapshots waiting for a flush to draw them
        self._learning_time = None  # updater clock of the last regular snapshot
        self.learning_error = None  # why the last snapshot could not be computed (None: it could)
        self._learning_state = None
        self._learning_record = None
        self._learning_last = None  # (trials, stage) of the last snapshot started
        self._learning_queue = []  # snapshots waiting for the job: (record, stage, trials, task, weights, n, threshold)
        self._learning_lock = threading.Lock()
        figures = [self.psychometric_figure, self.chronometric_figure, self.traces_figure]
        controls = widgets.HBox([self.n_per_level, self.threshold, self.ci_method, self.refresh_button])
        plots = widgets.HBox([self.psychometric_figure, self.chronometric_figure,
                              widgets.VBox([self.traces_figure, self.trace_channel])],
                             layout=widgets.Layout(flex_flow="row wrap"))
        self._finish_layout([controls, self.fit_label, self.learning_label, plots], figures, "behaviour.svg")

    # ------------------------------------------------------------ during learning
    def follow_learning(self, lab_state, every=None, n_per_level=None):
        """Recompute the curves while ``lab_state``'s network trains (see the module docstring).

        ``every``: trials between two snapshots (default :attr:`learning_every`, 2,000);
        ``n_per_level``: trials per evidence level of a snapshot (default 30).
        """
        if every is not None:
            self.learning_every = max(1, int(every))
        if n_per_level is not None:
            self.learning_n_per_level = max(2, int(n_per_level))
        self._learning_state = lab_state
        self._learning_record = lab_state.run
        self.updater.add_flusher(self._learning_flush)
        lab_state.observe(self._on_learning_run, names="run")
        lab_state.observe(self._on_learning_status, names="status")

    def _on_learning_run(self, change):
        """Another network is current (main thread): its own curves (none until it trains)."""
        if change["new"] is not self._learning_record:
            self._learning_record = change["new"]
            self.learning_curves = {}
            self._learning_last = None
            self._draw_learning()

    def _on_learning_status(self, change):
        """A run ended (main thread): one last snapshot of the weights it ended with."""
        if change["old"] in ("running", "paused", "stopping") and change["new"] not in ("running", "paused",
                                                                                          "stopping"):
            self._snapshot(final=True)

    def _learning_flush(self):
        """Flusher (any thread; during training the training thread, between two steps): draw the snapshots
        computed since the last flush (within the updater's message budget, like every view), then start a
        snapshot when one is due.  Returns the widget messages sent."""
        sent = self._draw_ready()
        state = self._learning_state
        if state is None or state.status != "running":
            return sent
        trials = self.updater.get("training/trials")
        event = self.updater.get("training/event")
        if trials is None:
            return sent
        stage = getattr(event, "stage", None)
        last = self._learning_last
        now = self.updater.clock()
        if last is not None and last[1] != stage and last[1] is not None:
            self._snapshot(stage=last[1], trials=trials, keep=True)  # the stage that just ended: its final curve
            self._learning_last = (trials, stage)  # the new stage's first curve comes learning_every trials later
        elif (last is None or trials - last[0] >= self.learning_every) and (
                self._learning_time is None or now - self._learning_time >= self.learning_min_interval):
            if self._snapshot(stage=stage, trials=trials):
                self._learning_time = now
        return sent

    def _draw_ready(self):
        with self._learning_lock:
            ready, self._learning_ready = self._learning_ready, []
        if not ready:
            return 0
        self._show_learning(ready)
        return 3  # the two line marks and the label

    def learning_wait(self, timeout=None):
        """Wait until every queued snapshot is computed (at most ``timeout`` s); True if none is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._learning_lock:
                busy, handle = self._learning_busy, self._learning_handle
            if not busy:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            handle.join(left if left is None else min(left, 0.5))

    def _snapshot(self, stage=None, trials=None, final=False, keep=False):
        """Copy the weights and queue a snapshot; a regular one is skipped while one is computing (``keep`` and
        ``final`` ones never are: a stage's last curve and a run's last curve are always computed)."""
        state = self._learning_state
        record = None if state is None else state.run
        if record is None or record.model is None:
            return False
        from ..training.trainer import Trainer

        model = record.model
        if trials is None:
            trials = Trainer.of(model).trials
        curriculum = state.curriculum
        if stage is None and curriculum is not None:
            stage = min(curriculum.stage, curriculum.n_stages - 1)
        with self._learning_lock:
            busy = self._learning_busy
        if trials == 0 or not (final or keep or not busy):
            return False
        task = curriculum.tasks[stage] if curriculum is not None and stage is not None else record.task
        if task is None:
            return False
        self._learning_last = (trials, stage)
        item = (record, stage, int(trials), task, model.get_weights(), self.learning_n_per_level,
                float(self.threshold.value))
        with self._learning_lock:
            self._learning_queue.append(item)
            if self._learning_busy:
                return True  # the running computation takes it up
            self._learning_busy = True
            self._learning_handle = self._learning_worker.submit(self._compute_snapshots)
        return True

    def _compute_snapshots(self):
        """The worker thread: compute queued snapshots until none is left; they are drawn at the next flush (after
        training, when no flush comes by itself: now, one flusher only)."""
        while True:
            with self._learning_lock:
                items, self._learning_queue = self._learning_queue, []
                if not items:
                    self._learning_busy = False
                    break
            for record, stage, trials, task, weights, n, threshold in items:
                try:
                    batch = condition_batch(task, n_per_level=n, seed=self.seed)
                    curve = psychometric_curve(weights, batch=batch, fit=False)
                    chrono = chronometric_curve(weights, batch=batch, threshold=threshold)
                except Exception as error:  # noqa: BLE001 - e.g. a task without evidence levels: no curve
                    self.learning_error = error
                    continue
                snapshot = {"record": record, "stage": stage, "trials": trials, "levels": np.asarray(curve.levels),
                            "p_choice1": np.asarray(curve.p_choice1), "accuracy": curve.accuracy,
                            "rt_levels": None if chrono is None else np.asarray(chrono.levels),
                            "mean_rt": None if chrono is None else np.asarray(chrono.mean_rt)}
                with self._learning_lock:
                    self._learning_ready.append(snapshot)
        state = self._learning_state
        if state is None or state.status != "running":
            self.updater.flush_one(self._learning_flush)  # nothing trains: no flush would come to draw them
        else:
            self.updater.maybe_flush()

    def _show_learning(self, snapshots):
        """Snapshots are ready (whichever thread flushes): keep each under its stage, redraw the curves."""
        curves = dict(self.learning_curves)
        for snapshot in snapshots:
            if snapshot["record"] is not self._learning_record:
                continue  # computed for a network that is no longer shown
            previous = curves.get(snapshot["stage"])
            if previous is None or previous["trials"] <= snapshot["trials"]:
                curves[snapshot["stage"]] = {k: v for k, v in snapshot.items() if k != "record"}
        self.learning_curves = curves
        self._draw_learning()

    def _draw_learning(self):
        curves = self.learning_curves
        stages = sorted(curves, key=lambda s: (-1 if s is None else s))[-MAX_STAGE_CURVES:]
        names = ["during training" if s is None else f"stage {s + 1}" for s in stages]
        colours = [STAGE_COLOURS[-1 - (len(stages) - 1 - i)] for i in range(len(stages))]
        psycho = [(curves[s]["levels"], curves[s]["p_choice1"]) for s in stages]
        chrono = [(curves[s]["rt_levels"], curves[s]["mean_rt"]) for s in stages if curves[s]["rt_levels"] is not None]
        for line, pairs in ((self.learning_lines, psycho), (self.chronometric_learning_lines, chrono)):
            line_colours, line_names = colours[-len(pairs):] if pairs else [], names[-len(pairs):] if pairs else []
            # finite points only (a level with no reaction time has none): bqplot draws a NaN as a path "null"
            # and a marker at "translate(x, undefined)", and the browser logs an error for each
            rows = [_finite_points(x, y) for x, y in pairs]
            kept = [i for i, (x, _) in enumerate(rows) if len(x)]
            with line.hold_sync():
                if kept:
                    line.x, line.y = _padded([rows[i] for i in kept])
                    line.colors = [line_colours[i] for i in kept]
                    line.labels = [line_names[i] for i in kept]
                else:
                    line.x, line.y = f32([[]]), f32([[]])
        if not stages:
            self.learning_label.value = ""
            return
        parts = []
        for name, s in zip(names, stages):
            accuracy = curves[s]["accuracy"]
            text = f"{name} at {curves[s]['trials']:,} trials"
            if accuracy is not None:
                text += f" (accuracy {accuracy:.2f})"
            parts.append(f"<span style='color:{colours[stages.index(s)]}'>&#9679;</span> {html.escape(text)}")
        self.learning_label.value = ("<div style='font-size:12px'>during learning: " + " · ".join(parts) + "</div>")

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
            x, y = _finite_points(chrono.levels, chrono.mean_rt)  # a level with no reaction time: no point
            with self.chronometric_line.hold_sync():
                self.chronometric_line.x, self.chronometric_line.y = x, y
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


def _finite_points(x, y):
    """``(x, y)`` float32 with the points where either is not finite left out."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return f32(x[keep]), f32(y[keep])


def _padded(rows):
    """Rows of different lengths as two (n, width) arrays, each row padded by repeating its last point."""
    width = max(len(x) for x, _ in rows)
    x = np.empty((len(rows), width), np.float32)
    y = np.empty((len(rows), width), np.float32)
    for i, (xi, yi) in enumerate(rows):
        x[i, :len(xi)], y[i, :len(yi)] = xi, yi
        x[i, len(xi):], y[i, len(yi):] = xi[-1], yi[-1]
    return x, y
