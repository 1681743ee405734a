"""The one throttled update loop every live view uses (DESIGN §4 threading rules).

The training thread *pushes* values (``push(key, value)``, ``append(key, x, y)``) as
often as it likes; they are only stored.  ``maybe_flush()`` (called by the training
thread between steps) runs the registered flushers at most ``max_rate_hz`` times per
second, tqdm-style: it compares the time since the last flush, no timer thread.
``flush()`` forces one (the final flush when a run ends).  Flushers are plain
callables ``fn()`` that read the stored values (``get``, ``series``) and set widget
values, every change of one widget together under ``hold_sync()`` (one comm message per
widget), and return how many widgets they changed (None counts as one).

What the browser pays for is comm messages, not flushes: with ``message_budget`` (comm
messages per second, all flushers together) a flush is skipped while the messages of
the last second plus the size of a typical flush would exceed the budget, and a flush
runs only as many flushers as fit in what is left of the budget (each flusher's size is
estimated from its last flushes; when one does not fit, it and the ones after it wait, in
order, and go first at the next flush, so a small flusher never starves a larger one).  A
dashboard of many views then refreshes less often instead of flooding the front-end.

**Where messages are counted: here.**  The updater is the one path from a training
thread to the widgets (DESIGN §4), so it is where the budget is kept: every flusher
returns the number of widgets it changed -- one comm message each, since it changes
each widget's traits together under ``hold_sync()`` -- and work a flusher hands to the
main thread is counted with :meth:`ThrottledUpdater.reserve` (a curriculum stage shown
in the task tab).  Nothing wraps ipywidgets' private ``Widget._send`` or the kernel's
session: what the main thread sends by itself answers a click, at the user's pace, and
is not the thread's to budget.  ``tests/test_widgets_lab.py`` counts the real messages of
a training dashboard (in the test only) and holds them to the budget.

History series are float32 and downsampled so that ``series(key)`` never returns more
than ``max_points`` points (default 5,000): when the buffer is full every other point
is dropped and later points are kept at the doubled stride; the latest point is always
part of the returned series.
"""
import contextlib
import threading
import time

import numpy as np

__all__ = ["ThrottledUpdater", "Series"]


class Series:
    """A downsampled (x, y) history: at most ``max_points`` float32 points, latest kept.

    Not thread-safe on its own; :class:`ThrottledUpdater` guards it with its lock.
    """

    def __init__(self, max_points=5000):
        if int(max_points) < 4:
            raise ValueError(f"max_points must be >= 4, got {max_points!r}")
        self.max_points = int(max_points)
        self._capacity = self.max_points
        self._x = np.empty(self._capacity, dtype=np.float32)
        self._y = np.empty(self._capacity, dtype=np.float32)
        self._n = 0  # points stored in the buffer
        self._stride = 1  # keep one appended point in `stride`
        self._count = 0  # points appended so far
        self._last = None  # (x, y) of the latest appended point

    def __len__(self):
        return len(self.arrays()[0])

    @property
    def n_appended(self):
        """Points appended since creation (before downsampling)."""
        return self._count

    def append(self, x, y):
        x, y = np.float32(x), np.float32(y)
        if self._n == self._capacity:
            # full: keep every other point (indices stay multiples of the doubled stride)
            kept_x, kept_y = self._x[0:self._n:2].copy(), self._y[0:self._n:2].copy()
            keep = len(kept_x)
            self._x[:keep] = kept_x
            self._y[:keep] = kept_y
            self._n = keep
            self._stride *= 2
        if self._count % self._stride == 0:
            self._x[self._n] = x
            self._y[self._n] = y
            self._n += 1
        self._count += 1
        self._last = (x, y)

    def arrays(self):
        """Copies ``(x, y)``, float32, at most ``max_points`` long, ending with the latest point."""
        x = self._x[:self._n]
        y = self._y[:self._n]
        if self._last is not None and (self._n == 0 or (self._count - 1) % self._stride != 0):
            x = np.append(x, self._last[0]).astype(np.float32, copy=False)
            y = np.append(y, self._last[1]).astype(np.float32, copy=False)
        return x.copy(), y.copy()

    def clear(self):
        self._n = 0
        self._stride = 1
        self._count = 0
        self._last = None


class ThrottledUpdater:
    """Thread-safe store of the latest values plus a rate-limited flush.

    Args:
        max_rate_hz: most flushes per second through :meth:`maybe_flush` (default 10).
        max_points: most points per history series (default 5,000).
        clock: a ``time.monotonic``-like function (seconds), replaceable in tests.
        message_budget: most comm messages per second the throttled flushes may send, as
            the flushers report them (None: no budget beyond ``max_rate_hz``).

    Attributes:
        n_flushes: flushes done so far (forced ones included), for rate assertions.
        flush_times: clock time of every flush (the last 10,000).
        errors: exceptions raised by flushers (a flusher error never reaches the
            training thread); the last 100 are kept as ``(flusher, exception)``.
        forcing: True while a forced :meth:`flush` runs (flushers with their own, slower
            rate may read it to refresh on the final flush).
    """

    def __init__(self, max_rate_hz=10, max_points=5000, clock=time.monotonic, message_budget=None):
        if not float(max_rate_hz) > 0:
            raise ValueError(f"max_rate_hz must be positive, got {max_rate_hz!r}")
        if message_budget is not None and not float(message_budget) >= 1:
            raise ValueError(f"message_budget must be at least 1 message per second, got {message_budget!r}")
        self.max_rate_hz = float(max_rate_hz)
        self.message_budget = None if message_budget is None else float(message_budget)
        self.sent = []  # (clock time, messages) of recent flushes
        self.messages_sent = 0
        self._sizes = {}  # flusher -> messages of its last few non-empty flushes
        self._waiting = []  # flushers left out of the last flush for lack of budget
        self._flush_messages = 0  # messages the flush in progress has sent so far (spare())
        self.max_points = int(max_points)
        self.clock = clock
        self._lock = threading.RLock()  # guards the stored values
        self._flush_lock = threading.RLock()  # one flush at a time
        self._values = {}
        self._series = {}
        self._flushers = []
        self._dirty = False
        self._last_flush = None
        self.n_flushes = 0
        self.flush_times = []
        self.errors = []
        self.forcing = False

    @property
    def min_interval(self):
        """Seconds between two throttled flushes, ``1 / max_rate_hz``."""
        return 1.0 / self.max_rate_hz

    # ------------------------------------------------------------------ storing
    def push(self, key, value):
        """Store ``value`` as the latest value of ``key`` (any thread)."""
        with self._lock:
            self._values[key] = value
            self._dirty = True

    def update(self, values):
        """Store several latest values at once (a dict)."""
        with self._lock:
            self._values.update(values)
            self._dirty = True

    def append(self, key, x, y):
        """Append the point ``(x, y)`` to the history series ``key`` (any thread)."""
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = Series(self.max_points)
            series.append(x, y)
            self._dirty = True

    def get(self, key, default=None):
        with self._lock:
            return self._values.get(key, default)

    def series(self, key):
        """``(x, y)`` float32 copies of the history ``key`` (empty arrays if none)."""
        with self._lock:
            series = self._series.get(key)
            if series is None:
                return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
            return series.arrays()

    def n_appended(self, key):
        """Points appended to ``key`` so far (before downsampling)."""
        with self._lock:
            series = self._series.get(key)
            return 0 if series is None else series.n_appended

    def clear_series(self, key=None):
        """Empty one history series (or all with ``key=None``)."""
        with self._lock:
            if key is None:
                self._series.clear()
            else:
                self._series.pop(key, None)
            self._dirty = True

    @property
    def dirty(self):
        """Whether anything was stored since the last flush."""
        with self._lock:
            return self._dirty

    # ----------------------------------------------------------------- flushing
    def add_flusher(self, fn):
        """Register ``fn()``, called on every flush; returns ``fn``."""
        with self._flush_lock:
            if fn not in self._flushers:
                self._flushers.append(fn)
        return fn

    @property
    def flushers(self):
        """The registered flushers, in order (a tuple)."""
        with self._flush_lock:
            return tuple(self._flushers)

    def remove_flusher(self, fn):
        with self._flush_lock:
            if fn in self._flushers:
                self._flushers.remove(fn)

    def maybe_flush(self):
        """Flush if at least ``1/max_rate_hz`` s passed since the last flush and something changed.

        Returns True if it flushed.  Cheap enough to call after every training step.
        """
        now = self.clock()
        last = self._last_flush
        if last is not None and now - last < self.min_interval:
            return False
        if not self.dirty:
            return False
        allowance = self._allowance(now)
        if allowance is not None and allowance <= 0:
            return False
        with self._flush_lock:
            last = self._last_flush  # another thread may have flushed meanwhile
            if last is not None and self.clock() - last < self.min_interval:
                return False
            self._flush(allowance)
        return True

    def _allowance(self, now):
        """Messages a throttled flush may send now (None: no budget); <= 0 means wait."""
        if self.message_budget is None:
            return None
        recent = self._sent_within_a_second(now)
        smallest = min([self._estimate(fn) for fn in self._flushers] or [1])
        left = self.message_budget - recent
        return left if left >= smallest or recent == 0 else 0

    def _estimate(self, fn):
        """A flusher's typical size: the median of its last three non-empty flushes (the smallest while there are
        fewer: one large first flush must not hold the flusher back), 1 before any."""
        sizes = self._sizes.get(fn)
        if not sizes:
            return 1
        return int(np.median(sizes)) if len(sizes) >= 3 else min(sizes)

    def flush(self):
        """Run every flusher now (e.g. the final flush after a run); always counts."""
        with self._flush_lock, self._forced():
            self._flush()

    def flush_one(self, fn):
        """Run the one flusher ``fn`` now (e.g. to show a background job's result), counted against the budget.

        Unlike :meth:`flush`, the other flushers wait for their next turn.
        """
        with self._flush_lock:
            with self._forced():
                sent = self._run_flusher(fn)
            self._record(self.clock(), sent)
        return sent

    @contextlib.contextmanager
    def _forced(self):
        """Mark a flush that runs whatever the rate and budget say (flush lock held)."""
        self.forcing = True
        try:
            yield
        finally:
            self.forcing = False

    def _record(self, when, messages):
        """Count ``messages`` sent at ``when`` against the budget (flush lock held); keeps the last 25-50 entries."""
        self.messages_sent += messages
        self.sent.append((when, messages))
        if len(self.sent) > 50:
            del self.sent[:25]

    def _run_flusher(self, fn):
        """Call one flusher (flush lock held); the messages it reports (None: one; 0 if it raised: kept in ``errors``)."""
        try:
            sent = fn()
        except Exception as error:  # noqa: BLE001 - a view's bug must not kill training
            self.errors.append((fn, error))
            if len(self.errors) > 100:
                del self.errors[:50]
            return 0
        sent = sent if isinstance(sent, int) and not isinstance(sent, bool) else 1
        if sent:
            self._sizes[fn] = (self._sizes.get(fn, []) + [sent])[-3:]
        return sent

    def spare(self):
        """Messages the budget still allows in the current second (None: no budget), counting those the flush
        in progress has sent so far: a low-priority flusher sends only when some are left."""
        if self.message_budget is None:
            return None
        return self.message_budget - self._sent_within_a_second(self.clock()) - self._flush_messages

    def _sent_within_a_second(self, now):
        """Messages the flushes of the last second (before ``now``) sent, as counted against the budget."""
        return sum(n for t, n in self.sent if now - t < 1.0)

    def reserve(self, messages):
        """Count ``messages`` sent outside a flush (e.g. main-thread work a flusher posted) against the budget."""
        with self._flush_lock:
            self._record(self.clock(), int(messages))

    def _flush(self, allowance=None):
        """Run the flushers (those that fit in ``allowance`` messages; None: all)."""
        self._last_flush = self.clock()
        with self._lock:
            self._dirty = False
        self.n_flushes += 1
        self.flush_times.append(self._last_flush)
        if len(self.flush_times) > 10000:
            del self.flush_times[:5000]
        messages = self._flush_messages = 0
        waiting, self._waiting = self._waiting, []
        order = [fn for fn in waiting if fn in self._flushers] + [fn for fn in self._flushers if fn not in waiting]
        for index, fn in enumerate(order):
            fits = messages + self._estimate(fn) <= allowance if allowance is not None else True
            alone = messages == 0 and allowance is not None and allowance >= self.message_budget
            if not fits and not alone:  # (a flusher larger than the whole budget goes out alone)
                # it and everyone after it wait, in order: nobody behind may use up the budget it waits for
                self._waiting = list(order[index:])
                break
            messages += self._run_flusher(fn)
            self._flush_messages = messages
        self._flush_messages = 0
        if self._waiting:
            with self._lock:
                self._dirty = True
        self._record(self._last_flush, messages)

    def rate(self, window=None):
        """Flushes per second over the last ``window`` seconds (all flushes if None)."""
        times = self.flush_times
        if window is not None:
            cutoff = self.clock() - window
            times = [t for t in times if t >= cutoff]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)

    def __repr__(self):
        return (f"ThrottledUpdater(max_rate_hz={self.max_rate_hz}, n_flushes={self.n_flushes}, "
                f"flushers={len(self._flushers)})")
