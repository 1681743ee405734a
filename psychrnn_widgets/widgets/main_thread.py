"""Hand work from the training thread to the main thread (the kernel's event loop).

Widgets are created and rearranged on the main thread only (DESIGN §4); the training
thread may only *post* what should happen.  :class:`MainThreadQueue` captures the event
loop running on the main thread when it is created (in a notebook: the kernel's) and
``post(fn)`` schedules ``fn()`` there with ``call_soon_threadsafe``; the kernel runs it
as soon as it is idle.  In a plain script there is no running loop, and ``fn()`` runs at
once on the posting thread, under the queue's lock (so tests and scripts behave the
same, minus the thread).  ``drain()`` runs whatever is waiting (e.g. from a blocking
``wait()`` on the main thread).
"""
import asyncio
import queue
import threading

__all__ = ["MainThreadQueue"]


class MainThreadQueue:
    """Callables posted from any thread, run on the main thread's event loop (see the module doc).

    Args:
        lock: the lock held while posted callables run (the owner's state lock).
        on_error: ``fn(callable, exception)`` for a callable that raised (default: re-raise nothing, keep it).
    """

    def __init__(self, lock=None, on_error=None):
        self.lock = lock if lock is not None else threading.RLock()
        self.on_error = on_error
        self.errors = []
        self._items = queue.SimpleQueue()
        try:
            self.loop = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    def post(self, fn):
        """Run ``fn()`` on the main thread (soon), or now when there is no event loop."""
        self._items.put(fn)
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.drain)
                return
            except RuntimeError:  # the loop closed meanwhile
                pass
        self.drain()

    def drain(self):
        """Run every posted callable now, in order, under the lock; returns how many ran."""
        count = 0
        with self.lock:
            while True:
                try:
                    fn = self._items.get_nowait()
                except queue.Empty:
                    return count
                count += 1
                try:
                    fn()
                except Exception as error:  # noqa: BLE001 - one bad callback must not stop the others
                    self.errors.append((fn, error))
                    if self.on_error is not None:
                        self.on_error(fn, error)
