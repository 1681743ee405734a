"""One long-lived background thread that runs what it is handed, in order (no widgets here).

The dashboard's background work -- a training run, an analysis -- used to start a new
thread each time.  glibc's ``malloc`` gives threads arenas of their own (up to 8 per
core) and keeps memory freed there for reuse by whichever thread uses that arena next; a
new thread per run lands on another arena each time, so the arrays of every run were
left behind somewhere and the process grew by 20-27 MB per Start, never shrinking
(measured: 30 Start/Stop cycles of a Lab).  A :class:`WorkerThread` is created once per
panel and runs all its jobs: the same thread, the same arena, flat memory.

    worker = WorkerThread("psychrnn-training")
    run = worker.submit(fn)      # fn() runs on the worker thread
    run.join(5); run.is_alive()  # a RunHandle: what a threading.Thread would offer

The thread ends after :data:`IDLE_SECONDS` without work (the next :meth:`submit` starts a
new one), so a discarded panel leaves no thread for long; between jobs it holds no
reference to what it ran.
"""
import collections
import threading

__all__ = ["WorkerThread", "RunHandle", "IDLE_SECONDS"]

#: a worker thread ends after this many seconds without work
IDLE_SECONDS = 300.0


class RunHandle:
    """One job handed to a :class:`WorkerThread`: ``is_alive()`` until it has returned, ``join(timeout)``."""

    def __init__(self, name):
        self.name = name
        self._done = threading.Event()

    def is_alive(self):
        """True until the job has returned (or raised)."""
        return not self._done.is_set()

    def join(self, timeout=None):
        """Wait until the job has returned, at most ``timeout`` seconds."""
        self._done.wait(timeout)

    def __repr__(self):
        return f"RunHandle({self.name!r}, {'running' if self.is_alive() else 'done'})"


class WorkerThread:
    """A daemon thread that runs submitted functions one after the other (see the module docstring).

    Args:
        name: the thread's name (also the handles').
        idle_seconds: how long the thread waits for work before it ends.
    """

    def __init__(self, name, idle_seconds=IDLE_SECONDS):
        self.name = name
        self.idle_seconds = float(idle_seconds)
        self._changed = threading.Condition()
        self._queue = collections.deque()
        self._thread = None
        #: exceptions that escaped a job (the jobs of the panels catch their own; the last 10)
        self.errors = collections.deque(maxlen=10)

    @property
    def alive(self):
        """Whether the worker thread exists now."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def submit(self, fn):
        """Run ``fn()`` on the worker thread after what was submitted before; returns its :class:`RunHandle`.

        An exception ``fn`` raises ends that job only (the thread goes on); handle it in ``fn``.
        """
        handle = RunHandle(self.name)
        with self._changed:
            self._queue.append((fn, handle))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
            self._changed.notify()
        return handle

    def _loop(self):
        while True:
            with self._changed:
                if not self._queue:
                    self._changed.wait_for(lambda: self._queue, timeout=self.idle_seconds)
                if not self._queue:
                    self._thread = None  # the next submit() starts a new thread
                    return
                fn, handle = self._queue.popleft()
            try:
                fn()
            except BaseException as error:  # noqa: BLE001 - kept for inspection; the worker goes on
                self.errors.append(error)
            finally:
                handle._done.set()
                fn = handle = None  # hold nothing of the job while waiting for the next
