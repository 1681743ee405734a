"""Running a sweep: groups of runs on ``dask.distributed`` (or in this process), records written as results arrive.

:class:`SweepExecution` is one pass over a sweep:

1. the definition goes to the registry (``sweep.json``); runs whose record says
   ``finished`` (weight file present) are skipped, every other run is (re)done;
2. a run whose configuration is invalid is recorded ``failed`` at once, with the error;
3. the others are grouped by :meth:`~.config.RunSpec.group_key` (same shape and schedule)
   into ensembles of at most ``ensemble_size`` runs, split further so that every worker
   gets work, and recorded ``queued``;
4. each group is one call of :func:`~.worker.train_group` -- a dask task, or a plain
   call with ``in_process=True`` (no dask needed);
5. as each group's results arrive, this process (the only writer) saves each run's weight
   file and then its record, atomically.

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
from .registry import DONE_STATUSES, now
from ..threads import ENVIRONMENT
from .worker import train_group, versions, worker_thread_pools

__all__ = ["SweepExecution", "RunState", "import_distributed", "default_workers"]


def import_distributed():
    """``distributed``, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError("running a sweep on dask needs dask.distributed: pip install 'psychrnn_widgets[sweeps]' "
                          "(or pass in_process=True to run it here, one group after another)") from error
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
        if not self.in_process:
            import_distributed()  # fail early, on the caller's thread
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

    def _plan(self):
        """Record the definition, skip finished runs, fail invalid ones; the groups to train."""
        registry = self.registry
        registry.write_definition(self.sweep.definition())
        groups = {}
        for run in self.sweep.runs:
            state = self.states[run.run_id]
            record = registry.record(run.run_id)
            if record is not None and registry.is_finished(run.run_id):
                state.status, state.final_accuracy = "finished", record.get("final_accuracy")
                state.attempts = record.get("attempts", 0)
                self.skipped += 1
                self._notify(state)
                continue
            base = dict(self._identity(run), attempts=0 if record is None else record.get("attempts", 0), error=None)
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
                continue
            registry.update(run.run_id, **base, status="queued")
            groups.setdefault(key, []).append(run)
        chunks = []
        for runs in groups.values():
            size = min(self.ensemble_size, max(1, math.ceil(len(runs) / (1 if self.in_process else self.n_workers))))
            chunks += [runs[i:i + size] for i in range(0, len(runs), size)]
        return chunks

    def _run(self):
        chunks = self._plan()
        if not chunks:
            return
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
                fields["weights_file"] = registry.save_weights(result["run_id"], result["weights"])
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
