"""Training panel: Start / Pause / Resume / Stop, live loss and accuracy curves, progress, status.

Training runs in the background, on the panel's one
:class:`~psychrnn_widgets.widgets.worker.WorkerThread` (the same thread for every run, so
memory stays flat over many Start / Stop: see :mod:`~psychrnn_widgets.widgets.worker`),
driving the model's :class:`~psychrnn_widgets.training.trainer.Trainer`, so the kernel
stays usable.

**One state machine, driven from the main thread.**  The panel is in one of
:data:`STATES`::

    idle ──Start──> running ⇄ paused          (Pause / Resume)
                    running, paused ──Stop──> stopping
                    running, paused, stopping ──the run ends──> done | stopped | failed
    done, stopped, failed ──Start──> running

Buttons act at once and never wait for the training thread: Pause and Stop ask the
loop through a :class:`~psychrnn_widgets.training.events.TrainingControl` (honoured
between steps, and while the loop waits for the XLA compiler) and the panel shows the
new state immediately.  The training thread never changes the state: when its run ends
it *posts* the outcome (:class:`~psychrnn_widgets.widgets.main_thread.MainThreadQueue`),
which the kernel's event loop applies on the main thread (in a plain script, with no
running event loop, it is applied at once under the panel's lock).
Every transition holds that lock, so no interleaving of clicks and a run ending can
leave the panel in ``stopping`` or ``paused`` with no thread, or with every button off.

**Live views** go through the shared
:class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater`: the training thread stores
values and calls ``maybe_flush()``; flushes are rate- and message-limited, change each
widget once under ``hold_sync()`` (float32, downsampled to <= 5,000 points) and there is
one final flush.  Counts come from the trainer (steps and trials over every run of the
model, so they agree across Start / Stop / Start); the progress line counts the same
trials, from the network's count at Start to that count plus the budget, with the active
time (pauses left out; the clock stops when the run ends) and, while the run goes on, an
estimate of the time left (tqdm's format).  The learning rate and the budget can be changed
while a run goes on or is paused: a raised budget continues the run, one lowered below
what was trained ends it (as done).

**In the Lab** (``lab_state=``, a :class:`~psychrnn_widgets.widgets.lab_state.LabState`)
the panel trains the state's current network (``run``) on its ``task``, says its own
state as the state's ``status``, shows the state's ``pending_note`` next to Start, asks
the state to apply what is pending when Start is pressed, keeps the current record's
curves up to date at every flush and draws the other records' loss curves behind the
current one.  It never calls another panel.

Keys this panel stores in its updater (other views may read them): ``training/trials``
(trials trained by the model, all runs), ``training/epoch``, ``training/event``,
``training/active_s`` (seconds this Start has trained, pauses left out: the progress clock),
``training/outcome``, and the series ``training/loss``, ``training/accuracy`` (x = trials)
and ``training/stages`` (x = trials at a curriculum stage change, y = the new stage).
"""
import html
import threading
import time
import traceback

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

from ..params import TRAIN_PARAMS
from ..training.events import TrainingControl
from ..training.trainer import Trainer
from .controls import ParameterControl
from .main_thread import MainThreadQueue
from .throttle import ThrottledUpdater
from .worker import WorkerThread

__all__ = ["TrainingPanel", "PanelControl", "STATES", "format_duration"]

#: the panel's states; ``running``/``paused``/``stopping`` have a live training thread
STATES = ("idle", "running", "paused", "stopping", "done", "stopped", "failed")
ACTIVE = ("running", "paused", "stopping")
#: earlier networks' loss curves drawn behind the current one
MAX_OVERLAYS = 4
_OVERLAY_COLOURS = ("#9e9e9e", "#bcbd22", "#17becf", "#e377c2")


class PanelControl(TrainingControl):
    """A :class:`TrainingControl` that also tells when the loop is actually waiting while paused."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()  # set while the loop blocks in wait_if_paused
        self.stop_pressed = False  # Stop was pressed (not a lowered budget reached)

    def wait_if_paused(self, poll_seconds=0.05):
        try:
            while self.paused:
                self.waiting.set()
                time.sleep(poll_seconds / 5)
            return self.stop_requested
        finally:
            self.waiting.clear()


def format_duration(seconds):
    """``m:ss`` (or ``h:mm:ss``) as tqdm writes durations; ``?`` when unknown."""
    if seconds is None or not np.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def nice_ceiling(value):
    """The smallest of 1, 2, 5 x 10^k that is >= ``value`` (axis bounds that change rarely)."""
    if not value > 0:
        return 1.0
    exponent = np.floor(np.log10(value))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        bound = mantissa * 10 ** exponent
        if bound >= value:
            return float(bound)
    return float(10 ** (exponent + 1))


class TrainingPanel(widgets.VBox):
    """Start / Pause / Resume / Stop training of ``model`` on ``task`` (or a ``curriculum``).

    Args:
        model: a model (e.g. ``Basic``), or None for now.
        task: a Task (ignored when ``curriculum`` is given).
        curriculum: a :class:`~psychrnn_widgets.training.curriculum.Curriculum` or None.
        updater: a shared :class:`ThrottledUpdater` (default: a new one at 10 Hz, 10 messages/s).
        learning_rate: initial value of the learning-rate control (changes apply live).
        training_iters: initial budget in trials per Start (PsychRNN's ``training_iters``).
        loss_epoch: the loss and accuracy are recorded every ``loss_epoch`` steps.
        lab_state: a :class:`~psychrnn_widgets.widgets.lab_state.LabState` to work in (the Lab's);
            then ``model`` and ``task`` follow it (see the module docstring).

    Public attributes: ``start_button, pause_button, resume_button, stop_button``;
    ``learning_rate, budget`` (the input widgets) and ``learning_rate_control,
    budget_control`` (their :class:`~psychrnn_widgets.widgets.controls.ParameterControl`);
    ``pending`` (HTML next to Start: what Start will do); ``status`` (HTML: the state and
    counts, then this run's progress bar in trials with the elapsed time, the time left and
    the rate -- one widget, so one message per update); ``outcome`` (``'done'``,
    ``'stopped'``, ``'failed'`` or None); ``loss_line, accuracy_line`` (bqplot
    Lines, x in trials), ``overlay_lines``, ``stage_lines``, ``loss_figure,
    accuracy_figure``; ``thread`` (the current or last run's
    :class:`~psychrnn_widgets.widgets.worker.RunHandle`: ``is_alive()``, ``join()``),
    ``control``, ``error``, ``error_traceback``, ``result``, ``last_event``.

    Traits: ``state`` (one of :data:`STATES`), ``running`` (a training thread is alive).
    """

    state = traitlets.Unicode("idle")
    running = traitlets.Bool(False)

    def __init__(self, model=None, task=None, curriculum=None, updater=None, learning_rate=0.001,
                 training_iters=50000, loss_epoch=10, lab_state=None, **kwargs):
        self.lab_state = None
        self._model = model
        self._task = task
        self._curriculum = curriculum
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10, message_budget=10)
        self.loss_epoch = int(loss_epoch)
        self.extra_callbacks = []  # more TrainingEvent callbacks (called on the training thread)
        # checkpoints a run keeps, evenly spaced over it (Analysis tab > Compare: a run and its checkpoints); 0: none
        self.keep_checkpoints = 20
        self.before_start = []  # callables run on the main thread by start() before the thread starts
        self.after_run = []  # callables run on the main thread when a run has ended (with the outcome)
        self.thread = None
        self._worker = WorkerThread("psychrnn-training")
        self.control = PanelControl()
        self.error = None
        self.error_traceback = None
        self.result = None
        self.last_event = None
        self._lock = threading.RLock()
        self.main_thread = MainThreadQueue(self._lock)
        self._run_id = 0
        self._run_started = None  # (monotonic time, paused seconds so far, pause began) of the current run
        self._run_ended = None  # monotonic time the last run ended (the clock stops there)
        self._budget = 1
        self._start_trials = 0  # the network's trials when this run started
        self._target = 1  # the network's trials at which this run ends (start + budget; the budget may change)
        self._budget_reached = False  # the run was asked to stop because a lowered budget was reached
        self.outcome = None
        self._shown = {}

        self.start_button = widgets.Button(description="Start", icon="play", button_style="success",
                                           tooltip="train in the background (the kernel stays usable)")
        self.pause_button = widgets.Button(description="Pause", icon="pause", disabled=True,
                                           tooltip="wait after the current step")
        self.resume_button = widgets.Button(description="Resume", icon="step-forward", disabled=True)
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger", disabled=True,
                                          tooltip="end the run after the current step; the network is kept")
        self.learning_rate_control = ParameterControl(TRAIN_PARAMS["learning_rate"], learning_rate,
                                                      where="train_params", width="110px")
        self.budget_control = ParameterControl(TRAIN_PARAMS["training_iters"], int(training_iters),
                                               where="train_params", width="110px")
        self.learning_rate = self.learning_rate_control.input
        self.budget = self.budget_control.input
        self.pending = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px"))
        self.status = widgets.HTML(value=self._status_html())

        # no padding: the trial axis starts at 0; bounds move in 1-2-5 steps (rarely: few messages)
        loss_x = bq.LinearScale(min=0.0, max=1000.0, allow_padding=False)
        accuracy_x = bq.LinearScale(min=0.0, max=1000.0, allow_padding=False)
        loss_scales = {"x": loss_x, "y": bq.LogScale(min=1e-3, max=1.0, allow_padding=False)}
        accuracy_scales = {"x": accuracy_x, "y": bq.LinearScale(min=0.0, max=1.0, allow_padding=False)}
        empty = np.zeros(0, np.float32)
        self.overlay_lines = [
            bq.Lines(x=empty, y=empty, scales=loss_scales, colors=[colour], stroke_width=1.2, opacity=[0.55],
                     display_legend=False, labels=[""], visible=False)
            for colour in _OVERLAY_COLOURS[:MAX_OVERLAYS]]
        self.loss_line = bq.Lines(x=empty, y=empty, scales=loss_scales, colors=["#1f77b4"], stroke_width=1.8,
                                  labels=["this network"], display_legend=False)
        self.accuracy_line = bq.Lines(x=empty, y=empty, scales=accuracy_scales, colors=["#2ca02c"],
                                      stroke_width=1.5, marker="circle", marker_size=8)
        # stage changes: vertical lines spanning each figure (y on a fixed 0..1 scale of their own)
        self.stage_lines = [
            bq.Lines(x=np.zeros((0, 2), np.float32), y=np.zeros((0, 2), np.float32),
                     scales={"x": scales["x"], "y": bq.LinearScale(min=0.0, max=1.0)}, colors=["#d62728"],
                     line_style="dashed", stroke_width=1)
            for scales in (loss_scales, accuracy_scales)]
        self.loss_figure = self._figure([*self.overlay_lines, self.loss_line, self.stage_lines[0]], loss_scales,
                                        "loss (log)", "~g", y_ticks=[1e-3, 1e-2, 1e-1, 1.0])
        self.accuracy_overlay_lines = [
            bq.Lines(x=empty, y=empty, scales=accuracy_scales, colors=[colour], stroke_width=1.2, opacity=[0.55],
                     display_legend=False, labels=[""], visible=False)
            for colour in _OVERLAY_COLOURS[:MAX_OVERLAYS]]
        self.accuracy_figure = self._figure([*self.accuracy_overlay_lines, self.accuracy_line, self.stage_lines[1]],
                                            accuracy_scales, "accuracy",
                                            ".2~f", y_ticks=[0.0, 0.25, 0.5, 0.75, 1.0])
        self.loss_figure.add_class("psychrnn-loss-figure")  # stable handles for browser tests
        self.accuracy_figure.add_class("psychrnn-accuracy-figure")

        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.pause())
        self.resume_button.on_click(lambda _: self.resume())
        self.stop_button.on_click(lambda _: self.stop())
        self.learning_rate_control.observe(self._on_learning_rate, names="value")
        self.budget_control.observe(self._on_budget, names="value")
        self.updater.add_flusher(self._flush)

        # buttons and the two settings on one row (they wrap on a narrow page), the note on what Start will do under it
        buttons = widgets.HBox([self.start_button, self.pause_button, self.resume_button, self.stop_button,
                                self.learning_rate_control, self.budget_control],
                               layout=widgets.Layout(flex_flow="row wrap", align_items="flex-end"))
        figures = widgets.HBox([self.loss_figure, self.accuracy_figure], layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(children=[buttons, self.pending, self.status, figures], **kwargs)
        if lab_state is not None:
            self._bind(lab_state)

    def _bind(self, lab_state):
        """Work in ``lab_state``: its run's model and curves, its task, its pending note; say the status there."""
        self.lab_state = lab_state
        self._task = lab_state.task
        self._on_run({"new": lab_state.run})
        self.set_pending(lab_state.pending_note)
        lab_state.status = self.state
        lab_state.observe(self._on_run, names="run")
        lab_state.observe(self._draw_overlays, names="compared")
        lab_state.observe(self._on_lab_task, names="task")
        lab_state.observe(lambda change: self.set_pending(change["new"]), names="pending_note")
        self.observe(lambda change: setattr(lab_state, "status", change["new"]), names="state")

    def _on_run(self, change):
        """The state's current network changed (main thread, never while training): train it, show its curves."""
        record = change["new"]
        self.model = None if record is None else record.model
        if record is not None:
            self.show_curves(record.curves)
        self._draw_overlays()

    def _draw_overlays(self, change=None):
        """The compared runs of the current network's task behind its curves, each in its colour (the Runs tab's)."""
        state = self.lab_state
        history = state.history
        if state.run is not None:
            colour = history.colour_of(state.run)
            self.loss_line.colors = [colour]
            self.accuracy_line.colors = [colour]
        self.set_overlays([(r.label, *r.curves["loss"], history.colour_of(r), *r.curves["accuracy"])
                           for r in state.overlay_records()])

    def _keep_curves(self):
        """Store the live curves in the state's current record (the network being trained)."""
        record = None if self.lab_state is None else self.lab_state.run
        if record is not None and record.model is self._model:
            record.curves = self.curves()

    def _on_lab_task(self, change):
        if not self.running:
            self._task = change["new"]

    @staticmethod
    def _figure(marks, scales, label, y_format, y_ticks=None):
        # explicit tick formats and scale ranges: bqplot's front-end cannot guess a tick format
        # for an empty or one-point domain ("invalid format: .undefinedg") and the figure breaks.
        # The trial axis' bounds are 1-2-5 x 10^k, so d3's own ticks are round numbers, labelled
        # with their SI suffix ("2.5k", "10k"); the label sits beside the axis, not on the data
        x_axis = bq.Axis(scale=scales["x"], label="trials", tick_format="~s", num_ticks=6)  # 0, 1k, ... 5k
        y_axis = bq.Axis(scale=scales["y"], side="left", label=label, tick_format=y_format, label_offset="45px",
                         **({"tick_values": np.asarray(y_ticks)} if y_ticks is not None else {}))
        return bq.Figure(marks=marks, axes=[x_axis, y_axis], animation_duration=0,
                         fig_margin={"top": 12, "bottom": 40, "left": 60, "right": 12},
                         layout=widgets.Layout(width="360px", height="230px"))

    # ------------------------------------------------------------- settable between runs
    def _check_idle(self, what):
        if self.running:
            raise RuntimeError(f"cannot change {what} while training runs: press Stop first")

    @property
    def model(self):
        return self._model

    @model.setter
    def model(self, model):
        self._check_idle("the model")
        if model is not self._model:
            self._model = model
            self.reset_history()

    @property
    def task(self):
        return self._task

    @task.setter
    def task(self, task):
        self._check_idle("the task")
        self._task = task

    @property
    def curriculum(self):
        return self._curriculum

    @curriculum.setter
    def curriculum(self, curriculum):
        self._check_idle("the curriculum")
        self._curriculum = curriculum

    @property
    def trainer(self):
        """The model's :class:`~psychrnn_widgets.training.trainer.Trainer` (None without a model)."""
        return None if self._model is None else Trainer.of(self._model)

    @property
    def epoch(self):
        """Training steps of the current model, all runs (the status line's "step")."""
        trainer = self.trainer
        return 0 if trainer is None else trainer.epoch

    @property
    def trials(self):
        """Trials trained with the current model, all runs."""
        trainer = self.trainer
        return 0 if trainer is None else trainer.trials

    def reset_history(self):
        """Forget the curves of the current model (e.g. for a new model); not while training."""
        self._check_idle("the history")
        for key in ("training/loss", "training/accuracy", "training/stages"):
            self.updater.clear_series(key)
        self.updater.update({"training/trials": self.trials, "training/epoch": self.epoch, "training/event": None,
                             "training/outcome": None})
        self.last_event = None
        self.error = None
        self.outcome = None
        self._shown.clear()
        with self._lock:
            self._set_state("idle")
        self._flush()

    def curves(self):
        """The current model's curves: ``{'loss': (x, y), 'accuracy': (x, y), 'stages': (x, y)}`` float32 copies."""
        return {name: self.updater.series(f"training/{name}") for name in ("loss", "accuracy", "stages")}

    def show_curves(self, curves):
        """Replace the current curves (e.g. a network brought back from the history); not while training."""
        self._check_idle("the curves")
        for name in ("loss", "accuracy", "stages"):
            key = f"training/{name}"
            self.updater.clear_series(key)
            for x, y in zip(*curves.get(name, ((), ()))):
                self.updater.append(key, x, y)
        self._shown.clear()
        self._flush()

    def set_overlays(self, curves):
        """Draw other networks' curves behind the current one (the last few): ``[(label, x, y), ...]`` (loss), or
        ``(label, x, y, colour, accuracy_x, accuracy_y)`` (loss and accuracy, in the run's colour)."""
        shown = list(curves)[-MAX_OVERLAYS:]
        empty = np.zeros(0, np.float32)
        for i, (line, accuracy) in enumerate(zip(self.overlay_lines, self.accuracy_overlay_lines)):
            entry = tuple(shown[i]) if i < len(shown) else None
            for target, part in ((line, entry[1:3] if entry else None),
                                 (accuracy, entry[4:6] if entry and len(entry) >= 6 else None)):
                with target.hold_sync():
                    if part is not None and len(part[0]):
                        target.x, target.y = np.asarray(part[0], np.float32), np.asarray(part[1], np.float32)
                        target.labels = [str(entry[0])]
                        target.colors = [entry[3] if len(entry) > 3 else _OVERLAY_COLOURS[i]]
                        target.visible = True
                    else:
                        target.visible = False
                        target.x, target.y = empty, empty
        for line in (self.loss_line, *self.overlay_lines):
            line.display_legend = bool(shown)
        self._set_ranges()

    def set_pending(self, text):
        """Say next to Start what Start will do (empty: nothing pending)."""
        self.pending.value = (f"<span style='color:#a15c00'>&#9888; {html.escape(text)}</span>" if text else "")

    # ----------------------------------------------------------------------- actions
    def start(self):
        """Start training in a background thread; False (with a status message) if it cannot."""
        self.main_thread.drain()
        with self._lock:
            if self.state in ACTIVE:
                return False
        if self.lab_state is not None:
            self.lab_state.apply_pending()  # may build the network Start was announced to build
            self._task = self.lab_state.task
        for hook in list(self.before_start):
            hook(self)
        with self._lock:
            model, task, curriculum = self._model, self._task, self._curriculum
            if model is None or (task is None and curriculum is None):
                missing = "a model" if model is None else "a task"
                self.status.value = self._status_html(note=f"nothing to train: give the panel {missing}")
                return False
            invalid = [c.error for c in (self.learning_rate_control, self.budget_control) if not c.valid]
            if invalid:
                self.status.value = self._status_html(note="not started: " + "; ".join(invalid))
                return False
            self.error = self.error_traceback = self.result = self.last_event = None
            self.control = PanelControl()
            self._run_id += 1
            budget = int(self.budget_control.value)
            params = {
                "learning_rate": float(self.learning_rate_control.value),
                "training_iters": budget,
                "loss_epoch": self.loss_epoch,
                "verbosity": False,
                "curriculum": curriculum,
                "control": self.control,
                "xla_switch": "when_ready",  # the live views never stall waiting for the compiler
                "callbacks": [self._on_event] + list(self.extra_callbacks),
            }
            if self.keep_checkpoints:  # in memory, at most keep_checkpoints (training/checkpoints.py)
                n_batch = int(getattr(task if task is not None else curriculum.tasks[0], "N_batch", 1) or 1)
                steps = -(-budget // n_batch)
                params["keep_checkpoints"] = max(2, int(self.keep_checkpoints))
                params["checkpoint_every"] = max(1, -(-steps // (params["keep_checkpoints"] - 1)))
            self._run_started = [time.monotonic(), 0.0, None]
            self._run_ended = None
            self.updater.push("training/active_s", 0.0)
            self._budget = max(budget, 1)
            self._start_trials = self.trials
            self._target = self._start_trials + self._budget
            self._budget_reached = False
            self.outcome = None
            self.updater.update({"training/outcome": None, "training/event": None})
            self._set_state("running")
            self.status.value = self._status_html(note="compiling the training step…")
            source, run_id = (None if curriculum is not None else task), self._run_id
            control = self.control
            self.thread = self._worker.submit(lambda: self._run(run_id, model, source, params, control))
        return True

    def pause(self):
        """Pause after the current step (shown at once; the loop waits before its next step)."""
        self.main_thread.drain()
        with self._lock:
            if self.state != "running":
                return False
            self.control.pause()
            self._run_started[2] = time.monotonic()
            self._set_state("paused")
            self.status.value = self._status_html()
        return True

    def resume(self):
        """Resume a paused run."""
        self.main_thread.drain()
        with self._lock:
            if self.state != "paused":
                return False
            if self._run_started[2] is not None:
                self._run_started[1] += time.monotonic() - self._run_started[2]
                self._run_started[2] = None
            self._set_state("running")
            self.control.resume()
            self.status.value = self._status_html()
        return True

    def stop(self, timeout=None):
        """Ask the run to end after the current step; returns at once (or waits up to ``timeout`` s).

        The model keeps the weights of the last finished step and stays usable.  Returns
        True if no run is going on when it returns.
        """
        self.main_thread.drain()
        with self._lock:
            if self.state in ("running", "paused"):
                self.control.stop_pressed = True
                self.control.request_stop()
                self._set_state("stopping")
                self.status.value = self._status_html(note="stopping after the current step…")
        if timeout is not None:
            return self.wait(timeout)
        return self.state not in ACTIVE

    def wait(self, timeout=None):
        """Wait for the training thread (at most ``timeout`` s), apply its outcome; True if no run is going on."""
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
        self.main_thread.drain()
        return thread is None or not thread.is_alive()

    # ------------------------------------------------------------- training thread
    def _on_learning_rate(self, change):
        if self.running and self._model is not None and self.learning_rate_control.valid:
            Trainer.of(self._model).learning_rate = float(change["new"])  # applied between steps

    def _on_budget(self, change):
        """The budget changed (main thread): while a run goes on or is paused, it now ends at the new budget.

        The run ends when the network has trained ``budget`` trials since Start: a larger budget
        lets it go on (the training thread continues it), a smaller one already reached ends it
        after the current step, as done.
        """
        with self._lock:
            if self.state not in ("running", "paused") or not self.budget_control.valid:
                return
            self._budget = max(int(change["new"]), 1)
            self._target = self._start_trials + self._budget
            if self.trials >= self._target:
                self._budget_reached = True
                self.control.request_stop()
                self._set_state("stopping")
                self.status.value = self._status_html(note="budget reached: ending after the current step…")
            else:
                self.status.value = self._status_html()

    def _on_event(self, event):
        """TrainingEvent callback (runs on the training thread): store, then maybe flush."""
        self.last_event = event
        if (event.kind == "step" and event.global_trials >= self._target and event.epoch < event.total_epochs
                and not self._budget_reached):
            self._budget_reached = True  # the budget was lowered while the run went on: end it, as done
            self.control.request_stop()
        if event.kind == "step":
            if event.loss is not None:
                self.updater.append("training/loss", event.global_trials, event.loss)
            if event.accuracy is not None:
                self.updater.append("training/accuracy", event.global_trials, event.accuracy)
        elif event.kind == "stage":
            self.updater.append("training/stages", event.global_trials, event.stage)
        self.updater.update({"training/trials": event.global_trials, "training/epoch": event.global_epoch,
                             "training/event": event, "training/active_s": self.active_seconds()})
        self.updater.maybe_flush()

    def _run(self, run_id, model, source, params, control):
        """The run (on the worker thread): train to the budget, then post the outcome to the main thread.

        The budget may change while the run goes on (:meth:`_on_budget`): raised, the run
        continues with another ``train`` call for the trials left; lowered below what was
        trained, the run was asked to stop and counts as done.
        """
        outcome, error, tb, result = "failed", None, None, None
        trainer = Trainer.of(model)
        try:
            outcome = "stopped"  # Stop came before the worker took the run up: nothing to do
            while not control.stop_requested:
                result = trainer.train(source, params)
                event = self.last_event
                outcome = "stopped" if event is not None and event.kind == "stopped" else "done"
                left = self._target - trainer.trials
                if outcome != "done" or left <= 0 or (self._curriculum is not None and self._curriculum.stop_training):
                    break
                params = dict(params, training_iters=left)  # the budget was raised meanwhile: go on
            if self._budget_reached and outcome == "stopped" and not control.stop_pressed:
                outcome = "done"  # ended at a lowered budget, not by Stop
        except BaseException as caught:  # noqa: BLE001 - shown in the status line, kept in .error
            outcome, error, tb = "failed", caught, traceback.format_exc()
        self.updater.push("training/outcome", outcome)
        self.main_thread.post(lambda: self._ended(run_id, outcome, error, tb, result))

    def _ended(self, run_id, outcome, error, tb, result):
        """A run ended (main thread, lock held): state, error, the final flush, after-run hooks."""
        if run_id != self._run_id:
            return
        self._run_ended = time.monotonic()  # the clock stops
        self.error, self.error_traceback, self.result = error, tb, result
        self.outcome = outcome
        self._keep_curves()  # the record's curves are complete before anyone hears that the run ended
        self._set_state(outcome)
        self.updater.flush()  # the one final flush
        for hook in list(self.after_run):
            try:
                hook(outcome)
            except Exception as hook_error:  # noqa: BLE001 - a view's bug must not break the panel
                self.updater.errors.append((hook, hook_error))

    # --------------------------------------------------------------------- display
    def _set_state(self, state):
        # the controls first: observers of ``state`` (the Classroom's own buttons) read them
        running = state in ACTIVE
        self.start_button.disabled = running
        self.pause_button.disabled = state != "running"
        self.resume_button.disabled = state != "paused"
        self.stop_button.disabled = state not in ("running", "paused")
        self.learning_rate_control.disabled = state == "stopping"
        self.budget_control.disabled = state == "stopping"  # changeable while running and paused
        self.running = running
        self.state = state

    def _stage_text(self):
        curriculum = self._curriculum
        if curriculum is None:
            return None
        n = curriculum.n_stages
        if curriculum.stop_training or curriculum.stage >= n:
            return f"curriculum finished ({n}/{n})"
        return f"stage {curriculum.stage + 1}/{n}"

    def _status_html(self, note=None):
        parts = [f"<b>{html.escape(self.state)}</b>"]
        if self._model is not None:
            parts.append(f"step {self.epoch:,}")
            parts.append(f"{self.trials:,} trials")
            _, loss_y = self.updater.series("training/loss")
            _, acc_y = self.updater.series("training/accuracy")
            if len(loss_y):
                parts.append(f"loss {float(loss_y[-1]):.4g}")
            if len(acc_y):
                parts.append(f"accuracy {float(acc_y[-1]):.3f}")
            stage = self._stage_text()
            if stage:
                parts.append(stage)
        text = " · ".join(parts)
        if self.state == "failed" and self.error is not None:
            message = f"{type(self.error).__name__}: {self.error}"
            text += f" · <span style='color:#c00'>error: {html.escape(message)}</span>"
        elif note:
            text += f" · <i>{html.escape(note)}</i>"
        progress = self._progress_text(self.last_event)  # in the same widget: one message per flush
        return f"<div class='psychrnn-training-status'>{text}</div><div>{progress}</div>"

    def active_seconds(self):
        """Seconds this Start has trained so far: pauses left out, the clock stopped when the run ended (0.0
        before any Start)."""
        if self._run_started is None:
            return 0.0
        start, paused, pause_began = self._run_started
        now = self._run_ended if self._run_ended is not None else time.monotonic()
        return now - start - paused - (now - pause_began if pause_began is not None else 0.0)

    def _progress_text(self, event):
        """This run's progress in the network's own trial count (the status line's): ``trials/target``.

        The clock counts active time (pauses left out) and stops when the run ends; the time
        left is shown only while the run goes on.
        """
        if self._run_started is None or event is None:
            return ""
        active = self.active_seconds()
        trials, target = max(int(event.global_trials), self._start_trials), max(self._target, self._start_trials + 1)
        done, total = min(trials, target) - self._start_trials, target - self._start_trials
        rate = done / active if active > 0 and done else None
        rate_text = f", {rate:,.0f} trials/s" if rate else ""
        if self.state in ("running", "paused"):
            left = (total - done) / rate if rate else None
            clock = f"{format_duration(active)}&lt;{format_duration(left)}"
        else:
            clock = format_duration(active)  # ended (or ending): no time left to estimate
        colour = {"done": "#2ca02c", "stopped": "#ff7f0e", "failed": "#d62728"}.get(self.outcome, "#1f77b4")
        bar = (f"<div class='psychrnn-progress' style='background:#e8e8e8;height:7px;width:98%;margin:2px 0'>"
               f"<div style='background:{colour};height:7px;width:{100 * done / total:.1f}%'></div></div>")
        return (f"{bar}<span class='psychrnn-progress-text' style='font-family:monospace;font-size:90%'>"
                f"{trials:,}/{target:,} trials [{clock}{rate_text}]</span>")  # the status line's count, uncapped

    def _set_ranges(self):
        """Axis bounds from every line shown (current and overlays), in 1-2-5 steps: messages only when they move.

        Returns the number of scale widgets changed.
        """
        changed = 0
        loss_x, loss_y = self.updater.series("training/loss")
        acc_x, _ = self.updater.series("training/accuracy")
        xs = [loss_x, acc_x] + [line.x for line in self.overlay_lines if line.visible]
        ys = [loss_y] + [line.y for line in self.overlay_lines if line.visible]
        x_max = max([float(np.max(x)) for x in xs if len(x)] or [0.0])
        bound = nice_ceiling(x_max * 1.02) if x_max > 0 else 1000.0
        for scale in (self.loss_line.scales["x"], self.accuracy_line.scales["x"]):
            if scale.max != bound:
                with scale.hold_sync():
                    scale.min, scale.max = 0.0, bound
                changed += 1
        finite = np.concatenate([np.asarray(y, np.float64) for y in ys if len(y)] or [np.zeros(0)])
        finite = finite[np.isfinite(finite) & (finite > 0)]
        if len(finite):
            low = 10 ** np.floor(np.log10(finite.min()))
            high = 10 ** np.ceil(np.log10(finite.max()))
            low, high = (low, high * 10) if high <= low else (low, high)
        else:
            low, high = 1e-3, 1.0
        scale = self.loss_line.scales["y"]
        if (scale.min, scale.max) != (low, high):
            with scale.hold_sync():
                scale.min, scale.max = float(low), float(high)
            changed += 1
            # ticks at the powers of ten only: d3's log ticks label 2, 3 ... 9 too and they overlap
            exponents = np.arange(np.round(np.log10(low)), np.round(np.log10(high)) + 1)
            step = max(1, int(np.ceil(len(exponents) / 5)))
            self.loss_figure.axes[1].tick_values = (10.0 ** exponents[::step]).astype(np.float32)
            changed += 1
        return changed

    def _flush(self):
        """Flusher: lines (x and y together), axes, progress, status, final state; returns messages sent."""
        upd = self.updater
        sent = 0
        for key, line in (("training/loss", self.loss_line), ("training/accuracy", self.accuracy_line)):
            count = upd.n_appended(key)
            if self._shown.get(key) != count:
                x, y = upd.series(key)
                with line.hold_sync():
                    line.x = x
                    line.y = y
                self._shown[key] = count
                sent += 1
        stages = upd.n_appended("training/stages")
        if self._shown.get("training/stages") != stages:
            x, _ = upd.series("training/stages")
            for line in self.stage_lines:
                with line.hold_sync():
                    line.x = np.repeat(x[:, None], 2, axis=1).astype(np.float32)
                    line.y = np.tile(np.array([[0.0, 1.0]], np.float32), (len(x), 1))
                sent += 1
            self._shown["training/stages"] = stages
        sent += self._set_ranges()
        if sent and self.running:
            self._keep_curves()  # while training, the record's curves are the live ones
        status = self._status_html()
        if self.status.value != status:
            self.status.value = status
            sent += 1
        return sent

