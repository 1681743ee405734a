"""Which driver trains which run: one lock per driver, a claim in each run's record (``filelock``).

Two processes (two notebooks, two SLURM jobs) may drive the same sweep on the same
registry.  Each run must be trained once, and a driver that was killed must not keep its
runs from ever being trained.  The rule:

* a driver (one :class:`~.execution.SweepExecution` pass) holds an exclusive lock on
  ``<registry>/locks/driver-<id>.lock`` for as long as it runs.  The lock is an OS file lock
  (``flock`` on POSIX, ``LockFileEx`` on Windows, through the ``filelock`` package): the
  kernel releases it when the process ends, however it ends, so no lock outlives its driver;
* a driver claims a run by writing ``claim: {driver, host, pid}`` into the run's record,
  while it holds ``<registry>/locks/claims.lock`` (so two drivers never claim at once);
* a claim counts while its driver's lock is held.  Whether it is is found by trying that
  lock without waiting: taken by us means its driver has ended (the lock file is removed),
  busy means it is alive.  A run claimed by a live driver is left to it; a run whose
  driver has ended is claimed again if it did not finish.

Where the file system has no working ``flock`` (some network file systems), ``filelock``
falls back to lock files it creates and removes; see its documentation.
"""
import contextlib
import os
import re
import socket
import uuid

from ..errors import RegistryError

__all__ = ["Driver", "import_filelock", "CLAIM_TIMEOUT"]

#: seconds a driver waits for another driver to finish claiming runs (claiming takes milliseconds)
CLAIM_TIMEOUT = 120.0
_DRIVER = re.compile(r"^[0-9a-f]{32}$")


def import_filelock():
    """``filelock``, or an ImportError that says how to install it."""
    try:
        import filelock
    except ImportError as error:
        raise ImportError("running a sweep needs the filelock package, so that two drivers never train the same run: "
                          "from a clone, pip install -e '.[cpu,lab]'; from PyPI, pip install 'psychrnn_widgets[sweeps]' "
                          "(or pip install filelock)") from error
    return filelock


class Driver:
    """This pass's identity and lock on one registry; a context manager (the lock is released on exit).

    Attributes:
        id: 32 hexadecimal digits, unique to this pass.
        claim: what this driver writes into the records it claims, ``{'driver', 'host', 'pid'}``.
    """

    def __init__(self, registry):
        self._filelock = import_filelock()
        self.registry = registry
        self.id = uuid.uuid4().hex
        self.claim = {"driver": self.id, "host": socket.gethostname(), "pid": os.getpid()}
        self._path = self._lock_path(self.id)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = self._filelock.FileLock(str(self._path))
        self._lock.acquire(timeout=0)
        self._alive = {}

    def _lock_path(self, driver):
        return self.registry.inside(self.registry.locks_dir / f"driver-{driver}.lock", "a driver's lock file")

    def close(self):
        """Release this driver's lock (its claims then count as ended) and remove the lock file."""
        if self._lock.is_locked:
            self._lock.release()
            with contextlib.suppress(OSError):
                os.unlink(self._path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextlib.contextmanager
    def claiming(self, timeout=CLAIM_TIMEOUT):
        """Hold the registry's claims lock (one driver claims runs at a time)."""
        path = self.registry.inside(self.registry.locks_dir / "claims.lock", "the claims lock")
        lock = self._filelock.FileLock(str(path))
        try:
            lock.acquire(timeout=timeout)
        except self._filelock.Timeout:
            raise RegistryError(f"another driver has held {path} for more than {timeout:g} s; is a sweep on "
                                f"{self.registry.path} stuck? (a lock of a process that ended is released by the "
                                "system)", parameter="registry") from None
        self._alive = {}  # liveness is looked up afresh for every round of claims
        try:
            yield
        finally:
            lock.release()

    def holds_elsewhere(self, claim):
        """True when ``claim`` (a record's ``claim``) names another driver that is still running."""
        driver = (claim or {}).get("driver")
        if not isinstance(driver, str) or not _DRIVER.match(driver) or driver == self.id:
            return False
        if driver not in self._alive:
            self._alive[driver] = self._probe(driver)
        return self._alive[driver]

    def _probe(self, driver):
        path = self._lock_path(driver)
        if not path.exists():
            return False
        probe = self._filelock.FileLock(str(path))
        try:
            probe.acquire(timeout=0)
        except self._filelock.Timeout:
            return True
        probe.release()
        with contextlib.suppress(OSError):
            os.unlink(path)  # its driver ended without removing it (killed)
        return False
