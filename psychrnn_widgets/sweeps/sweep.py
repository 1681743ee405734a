"""``Sweep``: many runs from one base configuration, trained in ensembles on dask, recorded on disk.

    from psychrnn_widgets import Sweep, PerceptualDiscrimination

    sweep = Sweep(PerceptualDiscrimination, task_params=dict(dt=10, tau=100, T=2000, N_batch=50),
                  network_params=dict(N_rec=50),
                  train_params=dict(training_iters=5000),
                  axes={"learning_rate": [0.001, 0.003], "dale_ratio": [None, 0.8]},
                  repeats=4, seed=0, registry="sweeps/pd")
    sweep.run()                        # a LocalCluster of processes, started and closed here
    sweep.run(client=client)           # any dask Client: dask-jobqueue's SLURMCluster, a scheduler address
    sweep.run(in_process=True)         # no dask: one group after another in this process
    execution = sweep.start()          # the same on a background thread (the sweep panel follows it)
    sweep.table()                      # one row per run: axis values, seed, status, accuracy
    model = sweep.model(3)             # run 3's trained network as a Basic

See :mod:`.config` (axes, seeds, run ids), :mod:`.registry` (what is recorded),
:mod:`.execution` (grouping, dask, faults) and :mod:`.worker` (what runs on a worker).
Running the same sweep again trains only the runs that are not ``finished``.

A registry belongs to one sweep: ``sweep.json`` keeps the sweep's identity (a digest of its
definition), and a different sweep pointed at it, or a damaged ``sweep.json``, is refused
with a :class:`~psychrnn_widgets.errors.RegistryError` when the ``Sweep`` is made.  Two
drivers of the same sweep on one registry share the work: each run is trained once
(:mod:`.claims`).  The task class is registered in the catalog
(:mod:`psychrnn_widgets.catalog`), which is how records name it.
"""
import os

from ..params import SWEEP_PARAMS
from .config import SweepDefinition
from .registry import Registry, check_same_sweep

__all__ = ["Sweep"]


class Sweep(SweepDefinition):
    """A sweep: base configuration, axes, registry; see the module docstring.

    Args:
        task: a Task subclass (with ``task_params``) or a task object.
        task_params: the task's constructor arguments (``dt, tau, T, N_batch``...).
        network_params: the base ``network_params`` (the task's parameters are added).
        train_params: ``training_iters``, ``learning_rate``, ``loss_epoch``, ``clip_grads``,
            ``fixed_weights``.
        axes: ``{name: [values]}`` (a grid, or zipped with ``grid=False``) or a list of
            dicts, one per run (see :mod:`.config`).
        grid: cartesian product of the axes (default) or zip.
        repeats: replicates of every combination, each with its own seed.
        seed: the sweep's seed (an int); None reuses the registry's, or draws one.
        registry: the directory of the run registry (default ``sweeps/<name>-<seed>``).
        ensemble_size: most runs trained together in one ensemble (default 16).
        name: the networks' name.
    """

    def __init__(self, task, task_params=None, network_params=None, train_params=None, axes=None, grid=True,
                 repeats=None, seed=None, registry=None, ensemble_size=None, name="net"):
        stored = None
        if registry is not None:
            stored = Registry(registry).read_definition()  # a damaged sweep.json is refused, never re-seeded
            if seed is None and stored is not None:
                seed = stored["seed"]  # resuming: the same seeds, hence the same run ids
        super().__init__(task, task_params, network_params, train_params, axes, grid, repeats, seed, name)
        self.ensemble_size = SWEEP_PARAMS["ensemble_size"].validate(
            SWEEP_PARAMS["ensemble_size"].default if ensemble_size is None else ensemble_size, "Sweep")
        if registry is None:
            registry = os.path.join("sweeps", f"{self.name}-{self.seed}")
            stored = Registry(registry).read_definition()
        self.registry = Registry(registry)
        if stored is not None:
            check_same_sweep(self.registry.path, stored, self.definition())
        self.last_execution = None

    # ---------------------------------------------------------------- running
    def execution(self, client=None, n_workers=None, threads_per_worker=None, in_process=False, retries=None,
                  listeners=()):
        """A :class:`~.execution.SweepExecution` of this sweep, not started yet."""
        from .execution import SweepExecution

        self.last_execution = SweepExecution(self, client=client, n_workers=n_workers,
                                             threads_per_worker=threads_per_worker, in_process=in_process,
                                             retries=retries, listeners=listeners)
        return self.last_execution

    def run(self, client=None, n_workers=None, threads_per_worker=None, in_process=False, retries=None,
            listeners=()):
        """Train every run that is not finished; block until done; returns the execution (``.summary()``).

        Args:
            client: a ``dask.distributed.Client``; None starts a ``LocalCluster`` of
                ``n_workers`` processes (TensorFlow's thread pools set in each before its first op)
                and closes it at the end.
            n_workers, threads_per_worker: the LocalCluster's size (default one worker per
                core, at most 8, with cores / workers TensorFlow threads each).
            in_process: run the groups one after another in this process, without dask.
            retries: times a group is run again after its worker died (LocalCluster; a
                given client keeps its own ``distributed.scheduler.allowed-failures``).
            listeners: functions ``fn(RunState)`` called as runs change.
        """
        return self.execution(client, n_workers, threads_per_worker, in_process, retries, listeners).run()

    def start(self, client=None, n_workers=None, threads_per_worker=None, in_process=False, retries=None,
              listeners=()):
        """Like :meth:`run` on a background thread; returns the execution (``.wait()``, ``.stop()``)."""
        return self.execution(client, n_workers, threads_per_worker, in_process, retries, listeners).start()

    # ---------------------------------------------------------------- results
    def records(self):
        """The registry's records of this sweep's runs, in order (None for runs without one)."""
        return [self.registry.record(run.run_id) for run in self.runs]

    def table(self):
        """One dict per run: index, run_id, axis values, seed, status, attempts, final accuracy and loss, problem.

        ``problem`` says, in words, why a run will be done again although its record says
        otherwise (a weight file that does not match its record), or why it has no record
        (it was malformed and moved aside); None when there is nothing to report.
        """
        rows = []
        for run, record in zip(self.runs, self.records()):
            problem = self.registry.problem(run.run_id, record)
            record = record or {}
            rows.append({"index": run.index, "run_id": run.run_id, **run.values, "seed": run.seed,
                         "status": record.get("status", "missing"), "attempts": record.get("attempts", 0),
                         "final_accuracy": record.get("final_accuracy"), "final_loss": record.get("final_loss"),
                         "problem": problem})
        return rows

    def model(self, run):
        """A finished run's network as a ``Basic`` (``run``: its index or its run_id)."""
        run_id = self.runs[run].run_id if isinstance(run, int) else run
        return self.registry.model(run_id)

    def __repr__(self):
        return (f"Sweep({self.task_class.__name__}, {len(self)} runs, seed={self.seed}, "
                f"registry={str(self.registry.path)!r})")
