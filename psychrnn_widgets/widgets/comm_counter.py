"""Count the comm messages widgets send: what the front-end pays for, whichever thread sends them.

:data:`COUNTER` wraps ``ipywidgets.Widget._send`` (the one method every state update of
every widget goes through) once per process and records when each message left.  The
throttled updater asks it how many messages went out in the last second -- from the
training thread's flushes *and* from the main thread (a button click, a stage change
shown in the task tab) -- and holds its next flush back until the budget allows.

``_send`` is ipywidgets' private method: ``tests/test_widgets_training.py`` fails loudly
if a release renames it, and without it :data:`COUNTER` is not ``available`` and the
updater falls back to the message counts its flushers report.
"""
import collections
import threading
import time

__all__ = ["CommCounter", "COUNTER"]


class CommCounter:
    """Timestamps of the widget messages sent (the last ``maxlen``), thread-safe."""

    def __init__(self, clock=time.monotonic, maxlen=20000):
        self.clock = clock
        self.times = collections.deque(maxlen=maxlen)
        self.total = 0
        self._lock = threading.Lock()
        self.available = False

    def install(self):
        """Start counting (idempotent, cheap: re-installs if someone replaced the method); whether counting works."""
        try:
            from ipywidgets.widgets.widget import Widget
        except ImportError:  # pragma: no cover - ipywidgets missing
            return False
        original = getattr(Widget, "_send", None)
        if original is None or getattr(original, "_psychrnn_counted", False):
            self.available = original is not None
            return self.available
        counter = self

        def _send(widget, msg, buffers=None):
            counter.record()
            return original(widget, msg, buffers=buffers)

        _send._psychrnn_counted = True
        _send.__wrapped__ = original
        Widget._send = _send
        self.available = True
        return True

    def record(self, n=1):
        with self._lock:
            now = self.clock()
            for _ in range(n):
                self.times.append(now)
            self.total += n

    def recent(self, window=1.0, now=None):
        """Messages sent in the last ``window`` seconds."""
        now = self.clock() if now is None else now
        with self._lock:
            count = 0
            for t in reversed(self.times):
                if now - t >= window:
                    break
                count += 1
            return count


#: the process-wide counter (installed by the first updater with a message budget)
COUNTER = CommCounter()
