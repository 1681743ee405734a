"""Training panel: Start / Pause / Resume / Stop, live loss and accuracy curves, status line.

Training runs in a background :class:`threading.Thread` that calls
``model.train(task, {..., 'control': ..., 'callbacks': [...], 'verbosity': False})``, so
the kernel stays usable.  The training thread never touches a widget directly: its
callback stores values in a :class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater`
and calls ``maybe_flush()`` (at most ~10 widget updates per second, x and y together
under ``hold_sync()``, float32, downsampled to <= 5,000 points, one final flush).
Buttons act through :class:`~psychrnn_widgets.training.events.TrainingControl`, read by
the loop between steps.

Keys this panel stores in its updater (other views may read them):
``training/trials`` (trials trained by this panel's model, all runs), ``training/epoch``
(epochs in the current run), ``training/loss`` and ``training/accuracy`` (history series,
x = trials).
"""
import html
import threading
import time
import traceback

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

from ..training.events import TrainingControl
from ..training.trainer import Trainer
from .throttle import ThrottledUpdater

__all__ = ["TrainingPanel", "PanelControl"]

#: states of the panel, in the order a run goes through them
STATES = ("idle", "starting", "running", "paused", "stopping", "done", "stopped", "failed")
_ACTIVE = ("starting", "running", "paused", "stopping")


class PanelControl(TrainingControl):
    """A :class:`TrainingControl` that also tells when the loop is actually waiting while paused."""

    def __init__(self):
        super().__init__()
        self.waiting = threading.Event()  # set while the loop blocks in wait_if_paused

    def wait_if_paused(self, poll_seconds=0.05):
        try:
            while self.paused:
                self.waiting.set()
                time.sleep(poll_seconds / 5)
            return self.stop_requested
        finally:
            self.waiting.clear()


def _fmt(value, spec):
    return "–" if value is None else format(value, spec)


class TrainingPanel(widgets.VBox):
    """Start / Pause / Resume / Stop training of ``model`` on ``task`` (or a ``curriculum``).

    Args:
        model: a model with ``train(task, train_params)`` (e.g. ``Basic``), or None for now.
        task: a Task (ignored when ``curriculum`` is given).
        curriculum: a :class:`~psychrnn_widgets.training.curriculum.Curriculum` or None.
        updater: a shared :class:`ThrottledUpdater` (default: a new one at 10 Hz).
        learning_rate: initial value of the learning-rate input (changes apply live).
        training_iters: initial budget in trials per Start (PsychRNN's ``training_iters``).
        loss_epoch: accuracy is measured every ``loss_epoch`` epochs.

    Public attributes: ``start_button, pause_button, resume_button, stop_button,
    learning_rate, budget, progress, status`` (HTML), ``loss_line, accuracy_line``
    (bqplot Lines, x in trials), ``loss_figure, accuracy_figure``, ``thread``, ``control``,
    ``error`` (the exception of the last failed run, else None), ``error_traceback``,
    ``result`` (what ``model.train`` returned), ``last_event``, ``history_trials``.

    Traits (observable; may change on the training thread at the end of a run):
    ``state`` (one of :data:`STATES`), ``running`` (True from Start until the thread ends).
    """

    state = traitlets.Unicode("idle")
    running = traitlets.Bool(False)

    def __init__(self, model=None, task=None, curriculum=None, updater=None, learning_rate=0.001,
                 training_iters=50000, loss_epoch=10, **kwargs):
        self._model = model
        self._task = task
        self._curriculum = curriculum
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10)
        self.loss_epoch = int(loss_epoch)
        self.extra_callbacks = []  # more TrainingEvent callbacks (called on the training thread)
        self.before_start = []  # callables run on the main thread by start() before the thread starts
        self.thread = None
        self.control = PanelControl()
        self.error = None
        self.error_traceback = None
        self.result = None
        self.last_event = None
        self.history_trials = 0  # trials of finished runs with the current model
        self._run_trials = 0
        self._rate_mark = None
        self._trials_per_second = None
        self._shown = {}

        style = {"description_width": "initial"}
        self.start_button = widgets.Button(description="Start", icon="play", button_style="success",
                                           tooltip="train in the background")
        self.pause_button = widgets.Button(description="Pause", icon="pause", disabled=True)
        self.resume_button = widgets.Button(description="Resume", icon="step-forward", disabled=True)
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger", disabled=True)
        self.learning_rate = widgets.BoundedFloatText(value=learning_rate, min=1e-7, max=10.0, step=1e-4,
                                                      description="learning rate", style=style,
                                                      layout=widgets.Layout(width="200px"))
        self.budget = widgets.BoundedIntText(value=int(training_iters), min=1, max=10**9, step=1000,
                                             description="budget (trials)", style=style,
                                             layout=widgets.Layout(width="230px"))
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="epochs", style=style,
                                            layout=widgets.Layout(width="98%"))
        self.status = widgets.HTML(value=self._status_html("idle", None))

        # no padding: the trial axis starts at 0, not at a negative tick
        loss_scales = {"x": bq.LinearScale(min=0.0, max=1000.0, allow_padding=False),
                       "y": bq.LogScale(min=1e-3, max=1.0)}
        accuracy_scales = {"x": bq.LinearScale(min=0.0, max=1000.0, allow_padding=False),
                           "y": bq.LinearScale(min=0.0, max=1.0, allow_padding=False)}
        self.loss_line = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), scales=loss_scales,
                                  colors=["#1f77b4"], stroke_width=1.5)
        self.accuracy_line = bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                                      scales=accuracy_scales,
                                      colors=["#2ca02c"], stroke_width=1.5, marker="circle", marker_size=8)
        self.loss_figure = self._figure(self.loss_line, "loss")
        self.accuracy_figure = self._figure(self.accuracy_line, "accuracy")

        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.pause())
        self.resume_button.on_click(lambda _: self.resume())
        self.stop_button.on_click(lambda _: self.stop())
        self.learning_rate.observe(self._on_learning_rate, names="value")
        self.updater.add_flusher(self._flush)

        children = [
            widgets.HBox([self.start_button, self.pause_button, self.resume_button, self.stop_button]),
            widgets.HBox([self.learning_rate, self.budget]),
            self.progress,
            self.status,
            widgets.HBox([self.loss_figure, self.accuracy_figure]),
        ]
        super().__init__(children=children, **kwargs)

    @staticmethod
    def _figure(line, label):
        # explicit tick formats and scale ranges: bqplot's front-end cannot guess a tick format
        # for an empty or one-point domain ("invalid format: .undefinedg") and the figure breaks
        x_axis = bq.Axis(scale=line.scales["x"], label="trials", num_ticks=4, tick_format=".3~s")
        y_axis = bq.Axis(scale=line.scales["y"], side="left", label=label, num_ticks=4, tick_format=".2~g")
        return bq.Figure(marks=[line], axes=[x_axis, y_axis], title=label, animation_duration=0,
                         fig_margin={"top": 30, "bottom": 40, "left": 55, "right": 10},
                         layout=widgets.Layout(width="380px", height="250px"))

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

    def reset_history(self):
        """Forget the curves and the trial count (e.g. for a new model); not while training."""
        self._check_idle("the history")
        self.history_trials = 0
        self._run_trials = 0
        for key in ("training/loss", "training/accuracy"):
            self.updater.clear_series(key)
        self.updater.update({"training/trials": 0, "training/epoch": 0, "training/event": None,
                             "training/outcome": None})
        self.last_event = None
        self.error = None
        self.progress.value = 0
        self.progress.bar_style = ""
        self._shown.clear()
        self._set_state("idle")
        self._flush()  # this panel's views only (other views follow their own model changes)

    # ----------------------------------------------------------------------- actions
    def start(self):
        """Start training in a background thread; returns False (with a status message) if it cannot."""
        if self.running:
            return False
        for hook in list(self.before_start):
            hook(self)
        model = self._model
        task = self._task
        curriculum = self._curriculum
        if model is None or (task is None and curriculum is None):
            missing = "a model" if model is None else "a task"
            self._set_status_now("idle", f"nothing to train: give the panel {missing}")
            return False
        self.error = None
        self.error_traceback = None
        self.result = None
        self.last_event = None
        self._run_trials = 0
        self._rate_mark = None
        self._trials_per_second = None
        self.control = PanelControl()
        params = {
            "learning_rate": float(self.learning_rate.value),
            "training_iters": int(self.budget.value),
            "loss_epoch": self.loss_epoch,
            "verbosity": False,
            "curriculum": curriculum,
            "control": self.control,
            "callbacks": [self._on_event] + list(self.extra_callbacks),
        }
        self.progress.value = 0
        self.progress.bar_style = "info"
        self.updater.update({"training/outcome": None, "training/event": None})
        self._set_state("starting")
        self._set_status_now("starting", "compiling the training step…")
        source = None if curriculum is not None else task
        self.thread = threading.Thread(target=self._run, args=(model, source, params),
                                       name="psychrnn-training", daemon=True)
        self.thread.start()
        return True

    def pause(self, wait=True, timeout=5.0):
        """Pause between steps.  With ``wait``, return once the loop is actually paused (or ended)."""
        if self.state not in ("starting", "running"):
            return False
        self.control.pause()
        self._set_state("paused")
        if wait:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.thread is not None and self.thread.is_alive():
                if self.control.waiting.wait(0.02):
                    break
        self._set_status_now("paused", None)
        return True

    def resume(self):
        """Resume a paused run."""
        if self.state != "paused":
            return False
        self._set_state("running")
        self._rate_mark = None  # the pause is not part of the throughput
        self.control.resume()
        self._set_status_now("running", None)
        return True

    def stop(self, timeout=30.0):
        """Ask the loop to stop after the current step and join the thread; True if it ended.

        The model keeps the weights of the last finished step and stays usable.
        """
        thread = self.thread
        if thread is None or not thread.is_alive():
            return True
        self.control.request_stop()
        self._set_state("stopping")
        self._set_status_now("stopping", None)
        thread.join(timeout)
        return not thread.is_alive()

    def wait(self, timeout=None):
        """Join the training thread (at most ``timeout`` s); True if no run is going on."""
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    @property
    def epoch(self):
        """Epochs finished in the current (or last) run."""
        event = self.last_event
        return 0 if event is None else event.epoch

    @property
    def trials(self):
        """Trials trained with the current model, all runs."""
        return self.history_trials + self._run_trials

    # ------------------------------------------------------------- training thread
    def _on_learning_rate(self, change):
        if self.running and self._model is not None:
            Trainer.of(self._model).learning_rate = float(change["new"])  # applied between steps

    def _on_event(self, event):
        """TrainingEvent callback (runs on the training thread): store, then maybe flush."""
        self.last_event = event
        self._run_trials = event.trials
        trials = self.history_trials + event.trials
        now = time.monotonic()
        if event.kind == "start":
            self._rate_mark = None
            if self.state == "starting":
                self._set_state("running")
        elif event.kind == "step":
            # trials/s over windows of >= 0.5 s, starting after the first (compiling) step
            if self._rate_mark is None:
                self._rate_mark = (now, event.trials)
            elif now - self._rate_mark[0] >= 0.5:
                mark_t, mark_trials = self._rate_mark
                self._trials_per_second = (event.trials - mark_trials) / (now - mark_t)
                self._rate_mark = (now, event.trials)
            if event.loss is not None:
                self.updater.append("training/loss", trials, event.loss)
            if event.accuracy is not None:
                self.updater.append("training/accuracy", trials, event.accuracy)
        self.updater.update({"training/trials": trials, "training/epoch": event.epoch, "training/event": event})
        self.updater.maybe_flush()

    def _run(self, model, source, params):
        outcome = "failed"
        try:
            self.result = Trainer.of(model).train(source, params)
            event = self.last_event
            outcome = "stopped" if event is not None and event.kind == "stopped" else "done"
        except BaseException as error:  # noqa: BLE001 - shown in the status line, kept in .error
            self.error = error
            self.error_traceback = traceback.format_exc()
        finally:
            self.history_trials += self._run_trials
            self._run_trials = 0
            self.updater.push("training/outcome", outcome)
            self._set_state(outcome)
            self.updater.flush()  # the one final flush

    # --------------------------------------------------------------------- display
    def _set_state(self, state):
        self.state = state
        self.running = state in _ACTIVE
        self.start_button.disabled = self.running
        self.pause_button.disabled = state not in ("starting", "running")
        self.resume_button.disabled = state != "paused"
        self.stop_button.disabled = state not in ("starting", "running", "paused")

    def _set_status_now(self, state, note):
        self.status.value = self._status_html(state, note)

    def _status_html(self, state, note):
        event = self.last_event
        parts = [f"<b>{html.escape(state)}</b>"]
        if event is not None:
            total = f"/{event.total_epochs}" if event.total_epochs else ""
            parts.append(f"step {event.epoch}{total}")
            parts.append(f"{self.trials:,} trials")
            if self._trials_per_second is not None:
                parts.append(f"{self._trials_per_second:,.0f} trials/s")
            loss_x, loss_y = self.updater.series("training/loss")
            acc_x, acc_y = self.updater.series("training/accuracy")
            parts.append("loss " + _fmt(float(loss_y[-1]) if len(loss_y) else event.loss, ".4g"))
            parts.append("accuracy " + _fmt(float(acc_y[-1]) if len(acc_y) else None, ".3f"))
            if event.stage is not None and self._curriculum is not None:
                parts.append(f"stage {event.stage + 1}/{self._curriculum.n_stages}")
        text = " · ".join(parts)
        if state == "failed" and self.error is not None:
            message = f"{type(self.error).__name__}: {self.error}"
            text += f" · <span style='color:#c00'>error: {html.escape(message)}</span>"
        elif note:
            text += f" · <i>{html.escape(note)}</i>"
        return f"<div class='psychrnn-training-status'>{text}</div>"

    @staticmethod
    def _set_ranges(line, x, y, log):
        """Never a degenerate domain: x from 0 to the last trial, the loss padded on a log scale."""
        sx, sy = line.scales["x"], line.scales["y"]
        x_max = float(np.nanmax(x)) if len(x) else 0.0
        x_max = x_max * 1.02 if np.isfinite(x_max) and x_max > 0 else 1000.0
        with sx.hold_sync():
            sx.min, sx.max = 0.0, x_max
        if log:
            finite = y[np.isfinite(y) & (y > 0)]
            lo, hi = (float(finite.min()) / 1.5, float(finite.max()) * 1.5) if len(finite) else (1e-3, 1.0)
            with sy.hold_sync():
                sy.min, sy.max = lo, hi

    def _flush(self):
        """Flusher: loss/accuracy lines (x and y together), progress, status, final state."""
        upd = self.updater
        for key, line in (("training/loss", self.loss_line), ("training/accuracy", self.accuracy_line)):
            count = upd.n_appended(key)
            if self._shown.get(key) != count:
                x, y = upd.series(key)
                with line.hold_sync():
                    line.x = x
                    line.y = y
                self._set_ranges(line, x, y, log=key == "training/loss")
                self._shown[key] = count
        event = upd.get("training/event")
        if event is not None:
            if event.total_epochs and self.progress.max != event.total_epochs:
                self.progress.max = event.total_epochs
            if self.progress.value != event.epoch:
                self.progress.value = min(event.epoch, self.progress.max)
        outcome = upd.get("training/outcome")
        if outcome is not None and not self.running:
            self.progress.bar_style = {"done": "success", "stopped": "warning", "failed": "danger"}[outcome]
        status = self._status_html(self.state, None)
        if self.status.value != status:
            self.status.value = status
