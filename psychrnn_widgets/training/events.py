"""Events emitted while training, and the thread-safe stop/pause control.

Live views (the widgets) are built on exactly this API: a callback receives a
:class:`TrainingEvent` after every step and at start/stage change/end, and a
:class:`TrainingControl` shared with another thread asks the loop to pause, resume or
stop.  Requests are honoured *between* steps, never in the middle of one.
No TensorFlow here.
"""
import threading
import time
from dataclasses import dataclass, field

#: the kinds of event, in the order a run can produce them
EVENT_KINDS = ("start", "step", "stage", "done", "stopped", "failed")


@dataclass(frozen=True)
class TrainingEvent:
    """What happened in the training loop.

    Attributes:
        kind: one of :data:`EVENT_KINDS`.
        epoch: epochs (optimiser steps) finished in this ``train`` call.
        trials: trials trained on in this call (``epoch * batch size``).
        loss: total loss (loss + regularisation) of the last step, or None.
        accuracy: task accuracy on the last training batch; set every ``loss_epoch``
            epochs when the task has an ``accuracy_function``, else None.
        stage: current curriculum stage (None without a curriculum).
        message: human-readable detail (the error for ``failed``).
        elapsed: seconds since the loop started.
        total_epochs: epochs planned for this call.
        global_epoch: epochs (optimiser steps) of the model's trainer over every ``train`` call.
        global_trials: trials of the model's trainer over every ``train`` call.
    """

    kind: str
    epoch: int = 0
    trials: int = 0
    loss: float = None
    accuracy: float = None
    stage: int = None
    message: str = None
    elapsed: float = 0.0
    total_epochs: int = 0
    global_epoch: int = 0
    global_trials: int = 0
    extra: dict = field(default_factory=dict)


class TrainingControl:
    """Thread-safe stop / pause / resume requests, read by the loop between steps.

    >>> from psychrnn_widgets import TrainingControl
    >>> control = TrainingControl()     # pass it as train_params["control"]
    >>> control.pause()
    >>> control.paused
    True
    >>> control.resume()
    >>> control.request_stop()
    >>> control.stop_requested
    True
    """

    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def request_stop(self):
        """Ask the loop to stop after the current step (also wakes a paused loop)."""
        self._stop.set()
        self._running.set()

    def pause(self):
        """Ask the loop to wait after the current step until :meth:`resume` or :meth:`request_stop`."""
        if not self._stop.is_set():
            self._running.clear()

    def resume(self):
        self._running.set()

    def reset(self):
        """Clear requests so the control can be reused for another ``train`` call (``train`` refuses a stopped one)."""
        self._stop.clear()
        self._running.set()

    @property
    def stop_requested(self):
        return self._stop.is_set()

    @property
    def paused(self):
        return not self._running.is_set()

    def wait_if_paused(self, poll_seconds=0.05):
        """Block while paused; return True if a stop was requested."""
        while not self._running.wait(poll_seconds):
            pass
        return self._stop.is_set()


class EventDispatcher:
    """Sends events to callbacks and stamps them with the elapsed time.

    A callback that raises never stops the others: the first ``(callback, exception)`` is
    kept in :attr:`error` (the training loop then stops, see ``Trainer``), and every
    callback still receives the events that follow, ``failed`` included.
    """

    def __init__(self, callbacks):
        if callbacks is None:
            callbacks = []
        elif callable(callbacks):
            callbacks = [callbacks]
        self.callbacks = list(callbacks)
        self.started = time.perf_counter()
        self.error = None

    def emit(self, kind, **fields):
        if not self.callbacks:
            return None
        event = TrainingEvent(kind=kind, elapsed=time.perf_counter() - self.started, **fields)
        for callback in self.callbacks:
            try:
                callback(event)
            except Exception as error:  # noqa: BLE001 - reported by the loop, never lost
                if self.error is None:
                    self.error = (callback, error)
        return event
