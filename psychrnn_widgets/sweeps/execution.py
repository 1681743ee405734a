"""Running a sweep: groups of runs on ``dask.distributed`` (or in this process), records written as results arrive.

:class:`SweepExecution` is one pass over a sweep:

1. the driver takes its lock and checks the registry (:mod:`.claims`): the definition goes to
   ``sweep.json`` (a registry of another sweep, or a damaged ``sweep.json``, stops the pass
   with a ``RegistryError``); runs whose record says ``finished`` (weight file matching the
   record) are skipped, runs claimed by another driver that is still running are left to it,
   every other run is claimed and (re)done;
2. a run whose configuration is invalid is recorded ``failed`` at once, with the error;
3. the others are grouped by :meth:`~.config.RunSpec.group_key` (same shape and schedule)
   into ensembles of at most ``ensemble_size`` runs, split further so that every worker
   gets work, and recorded ``queued``;
4. each group is one call of :func:`~.worker.train_group` -- a dask task, or a plain
   call with ``in_process=True`` (no dask needed);
5. as each group's results arrive, this process (the only writer of the runs it claimed)
   saves each run's weight file and then its record (with the file's SHA-256), atomically;
6. runs another driver held are waited for: when that driver has ended, the ones it did not
   finish are claimed and done here.  Two drivers on one registry train every run once.

Progress streams back while groups train (dask's worker event log: ``Worker.log_event``
on the worker, ``Client.subscribe_topic`` here): a group's start (``running``, the
attempt count) and each run's loss and accuracy every ``loss_epoch`` steps.  Listeners
(:meth:`SweepExecution.add_listener`, e.g. the sweep panel) are called on the thread that
drives the sweep, never on dask's event loop.

Faults: a run that raises is ``failed`` with its traceback and the others go on (see
:mod:`.worker`).  A worker process that dies mid-group is survived by dask: the group runs
again on another worker (``retries`` times, dask's ``allowed-failures``; the record's
``attempts`` counts the starts); after that the group's runs are recorded ``failed``
with the error.  A run is never silently lost: at the end every run of the sweep has a
record that is ``finished``, ``diverged`` or ``failed`` -- or ``queued`` if the sweep was
stopped before it ran (done next time).

Dask is imported only here, when a sweep runs on it; without it the error names the
``[sweeps]`` extra.
"""
import math
import os
import queue
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field

from ..params import SWEEP_PARAMS
from .claims import import_filelock
from .registry import DONE_STATUSES, now
from ..threads import ENVIRONMENT
from .worker import train_group, versions, worker_thread_pools

__all__ = ["SweepExecution", "RunState", "import_distributed", "default_workers", "POLL_INTERVAL"]

#: seconds between looks at runs that another driver is training
POLL_INTERVAL = 0.5


def import_distributed():
    """``distributed``, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError("running a sweep on dask needs dask.distributed: from a clone, pip install -e '.[cpu,lab]' "
                          "(or '.[sweeps]'); from PyPI, pip install 'psychrnn_widgets[sweeps]' (or pass "
                          "in_process=True to run it here, one group after another)") from error
    return distributed


def default_workers(n_workers=None, threads_per_worker=None):
    """``(n_workers, threads_per_worker)`` for a LocalCluster: by default one worker per CPU core (at most 8)."""
    cores = os.cpu_count() or 1
    n_workers = SWEEP_PARAMS["n_workers"].validate(n_workers, "Sweep.run")
    threads = SWEEP_PARAMS["threads_per_worker"].validate(threads_per_worker, "Sweep.run")
    if n_workers is None:
        n_workers = max(1, min(cores, 8) // (threads or 1))
    if threads is None:
        threads = max(1, cores // n_workers)
    return n_workers, threads


@dataclass
class RunState:
    """What the driver knows of one run while the sweep goes on (the panel shows it)."""

    run_id: str
    index: int
    values: dict
    seed: int
    status: str = "queued"
    attempts: int = 0
    worker: str = None
    pid: int = None  # of the worker process training it
    epoch: int = 0
    trials: int = 0
    loss: float = None
    accuracy: float = None
    final_accuracy: float = None
    error: str = None
    curve: list = field(default_factory=list)  # [(trials, loss), ...] while it trains


class _InProcess:
    """Runs groups one after another in this thread (no dask)."""

    def __init__(self, on_message):
        self.on_message = on_message

    def run(self, groups, handle_result, stop_requested):
        for key, group in groups:
            if stop_requested():
                return
            handle_result(key, group, train_group(group, progress=self.on_message), None)


class SweepExecution:
    """One pass over a sweep; see the module docstring.  Create with ``Sweep.run`` / ``Sweep.start``.

    Attributes:
        states: ``{run_id: RunState}`` of every run of the sweep, in order.
        done: a ``threading.Event`` set when the pass has ended.
        error: the exception that stopped the pass itself (None if it completed).
        skipped, trained: how many runs were already finished / were done in this pass.
        wall_time: seconds the pass took.
    """

    def __init__(self, sweep, client=None, n_workers=None, threads_per_worker=None, in_process=False,
                 ensemble_size=None, retries=None, listeners=()):
        self.sweep = sweep
        self.registry = sweep.registry
        self.client = client
        self.in_process = bool(in_process)
        self.n_workers, self.threads = default_workers(n_workers, threads_per_worker)
        if client is not None and threads_per_worker is None:
            self.threads = None  # a given cluster's workers keep the threads their environment sets
        self.ensemble_size = SWEEP_PARAMS["ensemble_size"].validate(
            sweep.ensemble_size if ensemble_size is None else ensemble_size, "Sweep.run")
        self.retries = SWEEP_PARAMS["retries"].validate(SWEEP_PARAMS["retries"].default if retries is None
                                                        else retries, "Sweep.run")
        import_filelock()  # fail early, on the caller's thread
        if not self.in_process:
            import_distributed()
        self.states = {run.run_id: RunState(run.run_id, run.index, run.values, run.seed) for run in sweep.runs}
        self.specs = {run.run_id: run for run in sweep.runs}
        self.listeners = list(listeners)
        self.end_listeners = []
        self.done = threading.Event()
        self.error = None
        self.skipped = self.trained = 0
        self.wall_time = None
        self.thread = None
        self._stop = threading.Event()
        self._held_before = set()  # runs seen claimed by another live driver during this pass
        self.driver = None
        self._messages = queue.Queue()
        self._topic = f"psychrnn-sweep-{uuid.uuid4().hex[:12]}"

    # --------------------------------------------------------------- listeners
    def add_listener(self, fn):
        """Call ``fn(state)`` (a :class:`RunState`) whenever a run changes; on the driving thread."""
        self.listeners.append(fn)
        return fn

    def add_end_listener(self, fn):
        """Call ``fn(execution)`` once when the pass has ended (on the driving thread, before :attr:`done` is set)."""
        self.end_listeners.append(fn)
        return fn

    def _notify(self, state):
        for fn in list(self.listeners):
            try:
                fn(state)
            except Exception:  # noqa: BLE001 - a view's bug must not stop the sweep
                traceback.print_exc()

    # ----------------------------------------------------------------- control
    def start(self):
        """Run the pass on a background thread (the notebook stays usable); returns self."""
        self.thread = threading.Thread(target=self._run_guarded, name="psychrnn-sweep", daemon=True)
        self.thread.start()
        return self

    def run(self):
        """Run the pass on this thread; returns self (re-raises what stopped the pass itself)."""
        self._run_guarded()
        if self.error is not None:
            raise self.error
        return self

    def wait(self, timeout=None):
        """Block until the pass has ended (or ``timeout`` s); True if it has."""
        return self.done.wait(timeout)

    def stop(self):
        """Ask the pass to stop: groups not yet started are cancelled (their runs stay ``queued``)."""
        self._stop.set()

    def summary(self):
        """Counts by status and the pass's figures, as a dict."""
        counts = {}
        for state in self.states.values():
            counts[state.status] = counts.get(state.status, 0) + 1
        return {"runs": len(self.states), "statuses": counts, "skipped": self.skipped, "trained": self.trained,
                "wall_time": self.wall_time}

    # ------------------------------------------------------------------- the pass
    def _run_guarded(self):
        t0 = time.perf_counter()
        try:
            self._run()
        except BaseException as error:  # noqa: BLE001 - kept for the caller (run() re-raises it)
            self.error = error
        finally:
            self.wall_time = time.perf_counter() - t0
            for fn in list(self.end_listeners):
                try:
                    fn(self)
                except Exception:  # noqa: BLE001 - a view's bug must not hide the sweep's outcome
                    traceback.print_exc()
            self.done.set()

    def _plan(self, runs):
        """Check the definition, skip finished runs, claim the others, fail invalid ones.

        Returns ``(chunks to train, runs held by other drivers)``; runs another driver
        ended while this pass waited for them count as done.
        """
        registry = self.registry
        groups, held = {}, []
        with self.driver.claiming():
            registry.adopt_definition(self.sweep.definition())
            for run in runs:
                record = registry.record(run.run_id)
                if self._done_elsewhere(run, record):
                    continue
                if record is not None and self.driver.holds_elsewhere(record.get("claim")):
                    held.append(run)
                    self._note_held(run, record)
                    continue
                self._claim(run, record, groups)
        chunks = []
        for members in groups.values():
            size = min(self.ensemble_size,
                       max(1, math.ceil(len(members) / (1 if self.in_process else self.n_workers))))
            chunks += [members[i:i + size] for i in range(0, len(members), size)]
        return chunks, held

    def _done_elsewhere(self, run, record):
        """True (and the run's state updated) when the run needs nothing from this pass."""
        if record is None:
            return False
        state = self.states[run.run_id]
        finished = self.registry.is_finished(run.run_id, record)
        failed_by_other = record.get("status") in ("failed", "diverged") and (
            run.run_id in self._held_before or self.driver.holds_elsewhere(record.get("claim")))
        if not (finished or failed_by_other):
            return False
        state.status, state.final_accuracy = record["status"], record.get("final_accuracy")
        state.attempts, state.error = record.get("attempts", 0), record.get("error")
        self.skipped += 1
        self._notify(state)
        return True

    def _note_held(self, run, record):
        if run.run_id in self._held_before:
            return
        self._held_before.add(run.run_id)
        state = self.states[run.run_id]
        claim = record["claim"]
        state.status = record["status"]
        state.worker = f"another driver (pid {claim.get('pid')} on {claim.get('host')})"
        self._notify(state)

    def _claim(self, run, record, groups):
        """Claim ``run`` for this driver: record it queued (or failed at once when invalid) and group it."""
        registry, state = self.registry, self.states[run.run_id]
        base = dict(self._identity(run), attempts=0 if record is None else record.get("attempts", 0), error=None,
                    claim=self.driver.claim)
        try:
            if run.error:
                raise ValueError(run.error)
            key = run.group_key()
        except Exception as error:  # noqa: BLE001 - an invalid run fails alone
            text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            registry.update(run.run_id, **dict(base, status="failed", error=text, finished=now(),
                                               versions=versions()))
            state.status, state.error = "failed", text
            self._notify(state)
            return
        registry.update(run.run_id, **base, status="queued")
        groups.setdefault(key, []).append(run)

    def _run(self):
        from .claims import Driver

        with Driver(self.registry) as driver:
            self.driver = driver
            pending = list(self.sweep.runs)
            while pending and not self._stop.is_set():
                chunks, pending = self._plan(pending)
                if chunks:
                    self._train(chunks)
                elif pending:
                    self._stop.wait(POLL_INTERVAL)  # other drivers hold these runs: look again shortly

    def _train(self, chunks):
        groups = [(f"psychrnn-group-{uuid.uuid4().hex[:12]}", chunk) for chunk in chunks]
        if self.in_process:
            _InProcess(self._on_message).run(groups, self._handle_result, self._stop.is_set)
        elif self.client is not None:
            self._run_on_dask(self.client, groups)
        else:
            self._run_on_local_cluster(groups)

    def _run_on_local_cluster(self, groups):
        distributed = import_distributed()
        import dask

        env = {ENVIRONMENT[pool]: str(n) for pool, n in worker_thread_pools(self.threads).items()}
        env.update({"OMP_NUM_THREADS": str(self.threads),
                    "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")})
        with dask.config.set({"distributed.scheduler.allowed-failures": self.retries}):
            cluster = distributed.LocalCluster(n_workers=min(self.n_workers, len(groups)), threads_per_worker=1,
                                               processes=True, host="127.0.0.1", dashboard_address=None, env=env,
                                               silence_logs=40)
        try:
            client = distributed.Client(cluster)
            try:
                self._run_on_dask(client, groups)
            finally:
                client.close()
        finally:
            cluster.close()

    def _run_on_dask(self, client, groups):
        client.subscribe_topic(self._topic, lambda event: self._messages.put(event[1]))
        try:
            futures = {}
            for key, chunk in groups:
                future = client.submit(train_group, chunk, progress=self._topic, threads=self.threads, key=key,
                                       pure=False)
                futures[future] = (key, chunk)
            pending = set(futures)
            while pending:
                self._drain_messages()
                if self._stop.is_set():
                    for future in pending:
                        future.cancel()
                    return
                finished = {future for future in pending if future.done()}
                if not finished:
                    time.sleep(0.05)
                    continue
                pending -= finished
                for future in finished:
                    key, chunk = futures[future]
                    self._drain_messages()
                    try:
                        results, error = future.result(), None
                    except Exception as exc:  # noqa: BLE001 - the worker died, or the task was lost
                        results, error = None, exc
                    self._handle_result(key, chunk, results, error)
            self._drain_messages()
        finally:
            try:
                client.unsubscribe_topic(self._topic)
            except Exception:  # noqa: BLE001 - the client may be closing
                pass

    def _identity(self, run):
        """What every write of a run's record repeats, so that a record is whole even if it was deleted meanwhile."""
        return {"index": run.index, "config": run.config(), "seed": run.seed, "name": run.name}

    # ---------------------------------------------------------------- messages
    def _drain_messages(self):
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                return
            self._on_message(message)

    def _on_message(self, message):
        kind = message.get("kind")
        if kind == "start":
            for run_id in message["run_ids"]:
                state = self.states.get(run_id)
                if state is None:
                    continue
                state.attempts += 1
                state.status, state.worker, state.pid = "running", message.get("worker"), message.get("pid")
                state.curve = []
                self.registry.update(run_id, **self._identity(self.specs[run_id]), status="running",
                                     attempts=state.attempts, worker=state.worker, started=now())
                self._notify(state)
        elif kind == "progress":
            changed = {}
            for run_id, epoch, trials, loss, accuracy in message["points"]:
                state = self.states.get(run_id)
                if state is None:
                    continue
                state.epoch, state.trials, state.loss, state.accuracy = epoch, trials, loss, accuracy
                state.curve.append((trials, loss))
                changed[run_id] = state
            for state in changed.values():
                self._notify(state)

    def _handle_result(self, key, chunk, results, error):
        """Write the weight files and records of one group (``error``: the group itself was lost)."""
        registry = self.registry
        if error is not None:
            text = (f"{type(error).__name__}: {error} -- the group of {len(chunk)} run(s) was lost (e.g. its worker "
                    f"process died {self.retries + 1} time(s)); it is done again when the sweep is run again")
            results = [{"run_id": run.run_id, "status": "failed", "error": text} for run in chunk]
        for result in results:
            state = self.states[result["run_id"]]
            fields = dict(self._identity(self.specs[result["run_id"]]), status=result["status"],
                          error=result.get("error"), finished=now())
            if result.get("weights") is not None:
                fields["weights_file"], fields["weights_sha256"] = registry.save_weights(result["run_id"],
                                                                                         result["weights"])
            for name in ("metrics", "final_loss", "final_accuracy", "training_time", "worker", "versions"):
                if name in result:
                    fields[name] = result[name]
            if result.get("ensemble") is not None:
                fields["ensemble"] = {"group": key, "size": result["ensemble"]}
            if state.attempts == 0 and error is None:
                state.attempts = 1  # the start message was lost (e.g. the worker died right after sending it)
            fields["attempts"] = state.attempts
            registry.update(result["run_id"], **fields)
            state.status, state.error = result["status"], result.get("error")
            state.final_accuracy = result.get("final_accuracy")
            if result["status"] in DONE_STATUSES:
                self.trained += 1
            self._notify(state)
