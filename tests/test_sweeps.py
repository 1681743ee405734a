"""Sweeps: definitions, the run registry, execution in this process and on dask.distributed (issue #14).

The dask tests start every process themselves, bind to 127.0.0.1, and stop what they
started by PID; runs are tiny (8 units, 30 time steps, a few steps).
"""
import ast
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import wait_until
from psychrnn_widgets import ParameterError, PerceptualDiscrimination, Sweep, load_weights
from psychrnn_widgets.errors import RegistryWarning
from psychrnn_widgets.sweeps.config import from_json, to_json
from psychrnn_widgets.sweeps.registry import DONE_STATUSES, Registry
from psychrnn_widgets.tasks.task import Task

ROOT = Path(__file__).resolve().parents[1]
TASK_PARAMS = dict(dt=10, tau=100, T=300, N_batch=8)


def tiny_sweep(registry, training_iters=40, **kwargs):
    kwargs.setdefault("axes", {"learning_rate": [0.001, 0.01]})
    kwargs.setdefault("repeats", 2)
    return Sweep(PerceptualDiscrimination, task_params=TASK_PARAMS, network_params=dict(N_rec=8),
                 train_params=dict(training_iters=training_iters, loss_epoch=1), seed=0, registry=registry, **kwargs)


def check_complete(sweep):
    """Every run has a readable record that ended; finished ones have a loadable weight file and metrics."""
    records = sweep.records()
    assert all(record is not None for record in records)
    for record in records:
        assert record["status"] in DONE_STATUSES, record
        if record["status"] == "finished":
            weights = load_weights(sweep.registry.path / record["weights_file"])
            assert weights["W_rec"].shape == (8, 8)
            assert len(record["metrics"]["loss"]) > 0 and record["final_accuracy"] is not None
            assert {"psychrnn_widgets", "tensorflow", "numpy"} <= set(record["versions"])
    return records


# ----------------------------------------------------------------------------- definitions
def test_axes_go_where_they_are_declared_and_runs_get_distinct_recorded_seeds(tmp_path):
    sweep = Sweep(PerceptualDiscrimination, task_params=TASK_PARAMS, network_params=dict(N_rec=8),
                  axes={"learning_rate": [1e-3, 1e-2], "coherence": [0.1, 0.5], "dale_ratio": [None, 0.8]},
                  repeats=2, seed=3, registry=tmp_path)
    runs = sweep.runs
    assert len(runs) == 16 and [r.index for r in runs] == list(range(16))
    assert runs[0].values == {"learning_rate": 1e-3, "coherence": 0.1, "dale_ratio": None, "repeat": 0}
    assert runs[6].train_params["learning_rate"] == 1e-3 and runs[6].task_params["coherence"] == 0.5
    assert runs[6].network_params["dale_ratio"] == 0.8 and runs[6].values["repeat"] == 0
    assert len({r.seed for r in runs}) == 16 and len({r.run_id for r in runs}) == 16
    again = Sweep(PerceptualDiscrimination, task_params=TASK_PARAMS, network_params=dict(N_rec=8),
                  axes={"learning_rate": [1e-3, 1e-2], "coherence": [0.1, 0.5], "dale_ratio": [None, 0.8]},
                  repeats=2, seed=3, registry=tmp_path / "other")
    assert [r.run_id for r in again.runs] == [r.run_id for r in runs]
    # a task's batches and a network's initial weights come from the run's seed
    task = runs[0].build_task()
    assert task.get_trial_batch()[0].shape == (8, 30, 2)
    params = runs[0].network_params_for(task)
    assert params["seed"] == runs[0].seed and params["N_rec"] == 8 and params["N_steps"] == 30


def test_zip_explicit_combinations_seed_axis_and_clear_errors(tmp_path):
    zipped = tiny_sweep(tmp_path, axes={"learning_rate": [1e-3, 1e-2], "network.N_rec": [8, 12]}, grid=False,
                        repeats=None)
    assert [r.values for r in zipped.runs] == [{"learning_rate": 1e-3, "network.N_rec": 8},
                                               {"learning_rate": 1e-2, "network.N_rec": 12}]
    assert zipped.runs[1].network_params["N_rec"] == 12
    explicit = tiny_sweep(tmp_path, axes=[{"seed": 5}, {"seed": 6, "task.coherence": 0.3}], repeats=None)
    assert [r.seed for r in explicit.runs] == [5, 6] and explicit.runs[1].task_params["coherence"] == 0.3
    assert explicit.runs[0].group_key() == explicit.runs[1].group_key()
    assert zipped.runs[0].group_key() != zipped.runs[1].group_key()  # 8 and 12 units: two ensembles
    with pytest.raises(ParameterError, match="did you mean 'learning_rate'"):
        tiny_sweep(tmp_path, axes={"learnig_rate": [1e-3]})
    with pytest.raises(ParameterError, match="same number of values"):
        tiny_sweep(tmp_path, axes={"learning_rate": [1e-3, 1e-2], "N_rec": [8]}, grid=False)
    with pytest.raises(ParameterError, match="callbacks"):
        Sweep(PerceptualDiscrimination, task_params=TASK_PARAMS, train_params=dict(callbacks=print), seed=0,
              registry=tmp_path)
    with pytest.raises(ParameterError, match="data only"):
        tiny_sweep(tmp_path, axes={"transfer_function": [np.tanh]})
    with pytest.raises(ParameterError, match="repeats"):
        tiny_sweep(tmp_path, repeats=0)


def test_configurations_round_trip_through_json():
    mask = np.eye(3)
    value = {"a": [1, 2.5, None, True], "mask": mask, "n": np.int64(4)}
    back = from_json(json.loads(json.dumps(to_json(value))))
    assert back["a"] == [1, 2.5, None, True] and back["n"] == 4
    np.testing.assert_array_equal(back["mask"], mask)


# ----------------------------------------------------------------------------- in this process
class FailingTask(PerceptualDiscrimination):
    """Raises while generating the batches of one coherence (a run that raises on its worker)."""

    def generate_batch(self, *args, **kwargs):
        if self.coherence == 0.5:
            raise RuntimeError("this run's task is broken")
        return super().generate_batch(*args, **kwargs)


def test_in_process_sweep_records_failures_and_a_rerun_trains_nothing_new(tmp_path):
    sweep = Sweep(FailingTask, task_params=TASK_PARAMS, network_params=dict(N_rec=8),
                  train_params=dict(training_iters=24, loss_epoch=1),
                  axes={"coherence": [0.1, 0.5], "N_rec": [8, 0]}, seed=1, registry=tmp_path / "reg")
    execution = sweep.run(in_process=True)
    statuses = [row["status"] for row in sweep.table()]
    # N_rec = 0 fails when planned (invalid); coherence 0.5 raises inside training; the others finish
    assert statuses == ["finished", "failed", "failed", "failed"]
    records = check_complete(sweep)
    assert "N_rec" in records[1]["error"] and "this run's task is broken" in records[2]["error"]
    assert "Traceback" in records[2]["error"]
    assert execution.summary()["statuses"] == {"finished": 1, "failed": 3}
    # the record names everything needed to redo the run
    record = records[0]
    assert record["seed"] == sweep.runs[0].seed and record["config"]["task"]["class"] == "FailingTask"  # its name
    assert record["attempts"] == 1 and record["ensemble"]["size"] == 1  # its group failed: each run trained alone
    assert not [p for p in (tmp_path / "reg" / "runs").iterdir() if p.name.endswith(".tmp")]
    # a rerun skips finished runs and redoes failed ones
    again = sweep.run(in_process=True)
    assert again.skipped == 1 and again.trained == 1  # the invalid runs fail again before training
    model = sweep.model(0)
    x, y, mask, _ = sweep.runs[0].build_task().get_trial_batch()
    assert model.test(x, noise=False)[0].shape == (8, 30, 2)


def test_a_run_in_an_ensemble_equals_the_same_run_trained_alone(tmp_path):
    grouped = tiny_sweep(tmp_path / "grouped")
    grouped.run(in_process=True)
    alone = tiny_sweep(tmp_path / "alone", ensemble_size=1)
    alone.run(in_process=True)
    for a, b in zip(grouped.records(), alone.records()):
        assert a["run_id"] == b["run_id"] and a["ensemble"]["size"] == 4 and b["ensemble"]["size"] == 1
        np.testing.assert_allclose(a["metrics"]["loss"], b["metrics"]["loss"], rtol=0, atol=1e-5)
        wa, wb = grouped.registry.load_weights(a["run_id"]), alone.registry.load_weights(b["run_id"])
        np.testing.assert_allclose(wa["W_rec"], wb["W_rec"], rtol=0, atol=1e-5)


def test_registry_records_are_whole_and_unreadable_ones_count_as_missing(tmp_path):
    registry = Registry(tmp_path)
    registry.update("run-abc", index=0, status="queued")
    registry.update("run-abc", status="finished", weights_file="runs/run-abc.npz")
    assert registry.record("run-abc")["index"] == 0
    assert not registry.is_finished("run-abc")  # no weight file
    (tmp_path / "runs" / "run-abc.json").write_text('{"format": "psychrnn_widgets-run-1", "run_id": "run-ab')
    with pytest.warns(RegistryWarning, match="not readable JSON"):
        assert registry.record("run-abc") is None
    assert registry.records() == [] and "moved aside" in registry.problem("run-abc")
    with pytest.raises(ParameterError, match="status"):
        registry.write({"run_id": "run-x", "status": "done?"})


# ----------------------------------------------------------------------------- dask
needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason="dask.distributed is not installed (pip install 'psychrnn_widgets[sweeps]')")


@needs_dask
def test_sweep_on_a_two_worker_local_cluster_then_a_rerun_trains_nothing(tmp_path):
    """Must-show 3: 4 tiny runs, 2 worker processes; 4 complete records, distinct seeds; rerun is a no-op."""
    sweep = tiny_sweep(tmp_path / "reg")
    seen = []
    t0 = time.perf_counter()
    execution = sweep.run(n_workers=2, listeners=[lambda state: seen.append((state.status, len(state.curve)))])
    first = time.perf_counter() - t0
    records = check_complete(sweep)
    assert [r["status"] for r in records] == ["finished"] * 4
    assert len({r["seed"] for r in records}) == 4
    assert len({r["worker"] for r in records}) == 2  # the two groups went to the two workers
    assert {status for status, _ in seen} == {"running", "finished"}
    assert any(status == "running" and points for status, points in seen)  # losses streamed while training
    assert execution.summary()["trained"] == 4
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "reg" / "runs").iterdir()}
    t0 = time.perf_counter()
    again = sweep.run(n_workers=2)
    assert again.skipped == 4 and again.trained == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "reg" / "runs").iterdir()} == mtimes
    print(f"sweep of 4 runs on 2 workers: {first:.1f} s; rerun: {time.perf_counter() - t0:.2f} s")


@needs_dask
def test_killing_a_worker_mid_sweep_loses_no_run(tmp_path):
    """Must-show 4: a worker process is killed while it trains; every run ends finished or failed, none missing."""
    sweep = tiny_sweep(tmp_path / "reg", training_iters=8 * 300)
    execution = sweep.start(n_workers=2, retries=2)
    try:
        assert wait_until(lambda: any(s.status == "running" and s.curve for s in execution.states.values())
                          or execution.done.is_set(), timeout=120)
        victim = next(s for s in execution.states.values() if s.status == "running")
        os.kill(victim.pid, signal.SIGKILL)
        assert execution.wait(timeout=180)
    finally:
        execution.stop()
        execution.wait(timeout=60)
    assert execution.error is None, execution.error
    records = check_complete(sweep)
    killed = [r for r in records if r["run_id"] == victim.run_id][0]
    assert killed["status"] == "failed" or killed["attempts"] >= 2  # retried after its worker died
    assert [r["status"] for r in records].count("finished") >= 2  # the other group was not disturbed
    print(f"killed worker pid {victim.pid}: " + ", ".join(f"{r['status']} after {r['attempts']} attempt(s)"
                                                         for r in records))


@pytest.fixture
def scheduler_and_worker(tmp_path):
    """A `dask scheduler` and a `dask worker` on 127.0.0.1, started and stopped here by PID."""
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        assert wait_until(scheduler_file.exists, timeout=60), "the scheduler did not start"
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
             "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield scheduler_file, [p.pid for p in processes]
    finally:
        for process in reversed(processes):
            os.kill(process.pid, signal.SIGTERM)
        for process in reversed(processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@needs_dask
def test_the_same_sweep_runs_on_a_separately_started_scheduler_and_worker(tmp_path, scheduler_and_worker):
    """Must-show 5: a Client connected to `dask scheduler` + `dask worker` processes on 127.0.0.1."""
    import distributed

    scheduler_file, pids = scheduler_and_worker
    sweep = tiny_sweep(tmp_path / "reg")
    with distributed.Client(scheduler_file=str(scheduler_file), timeout=60) as client:
        client.wait_for_workers(1, timeout=60)
        (address, worker_pid), = client.run(os.getpid).items()
        assert worker_pid == pids[1]
        execution = sweep.run(client=client)
    records = check_complete(sweep)
    assert [r["status"] for r in records] == ["finished"] * 4 and {r["worker"] for r in records} == {address}
    assert execution.summary()["trained"] == 4


def test_dask_is_optional_and_named_when_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r"psychrnn_widgets\[sweeps\]"):
        tiny_sweep(tmp_path).run()


class NoAccuracyTask(Task):
    """A PsychRNN-style user task without an accuracy function (the slow per-trial path)."""

    def __init__(self, dt, tau, T, N_batch, seed=None):
        super().__init__(1, 1, dt, tau, T, N_batch, seed=seed)

    def generate_trial_params(self, batch, trial):
        return {"level": float(self.rng.uniform())}

    def trial_function(self, time, params):
        return np.array([params["level"]]), np.array([params["level"]]), np.ones(1)


def test_a_user_task_without_accuracy_sweeps_in_process(tmp_path):
    sweep = Sweep(NoAccuracyTask, task_params=dict(dt=10, tau=100, T=100, N_batch=4),
                  network_params=dict(N_rec=4), train_params=dict(training_iters=8), repeats=2, seed=0,
                  registry=tmp_path)
    sweep.run(in_process=True)
    records = sweep.records()
    assert [r["status"] for r in records] == ["finished", "finished"]
    assert records[0]["final_accuracy"] is None and records[0]["final_loss"] is not None


# ----------------------------------------------------------------------------- layering
def test_sweeps_sit_below_the_widgets_and_importing_them_is_cheap():
    """DESIGN §2: sweeps/ never imports ipywidgets or the widgets; importing the package or the
    sweeps (and defining a sweep) imports neither dask nor TensorFlow."""
    code = """
import sys
import psychrnn_widgets
from psychrnn_widgets import Sweep, PerceptualDiscrimination
import psychrnn_widgets.sweeps as sweeps
sweep = Sweep(PerceptualDiscrimination, task_params=dict(dt=10, tau=100, T=100, N_batch=2), seed=0,
              network_params=dict(N_rec=4),
              registry=sys.argv[1], axes={"learning_rate": [0.1, 0.2]})
assert len(sweep.runs) == 2 and sweep.runs[0].group_key() == sweep.runs[1].group_key()
for name in ("tensorflow", "dask", "distributed", "ipywidgets", "bqplot", "psychrnn_widgets.widgets"):
    assert name not in sys.modules, name + " was imported"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code, "unused-registry"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    for path in (ROOT / "psychrnn_widgets" / "sweeps").glob("*.py"):
        source = path.read_text()
        for forbidden in ("ipywidgets", "bqplot", "anywidget", "from ..widgets", "psychrnn_widgets.widgets"):
            assert forbidden not in source, f"{path.name} names {forbidden}"
        top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
        assert not any("dask" in line or "distributed" in line for line in top_level), path


#: what defining a model or a training step takes: compiled functions, gradients, variables and updates,
#: the training layer's step and optimiser, the models' maths (DESIGN §8: sweeps/ only configures, executes, records)
MODEL_AND_STEP_NAMES = {
    "function", "GraphFunction", "GradientTape", "custom_gradient", "gradient", "while_loop", "scan",
    "Variable", "assign", "assign_add", "assign_sub", "apply_gradients", "minimize",
    "TrainingStep", "OptimizerState", "Adam", "LastGood", "keep_masks",
    "LeakyUpdate", "leaky_pass", "hoisted_recurrence", "fused_recurrence", "effective_W_rec", "effective_W_in",
    "effective_W_out", "forward_pass", "compute_loss", "recurrent_timestep",
}
MODEL_AND_STEP_MODULES = ("models._tf", "models.leaky", "models.constraints", "training.step", "training.optim",
                          "tensorflow", "keras")


def model_or_step_definitions(path):
    """``(line, what)`` for each piece of a model or a training step that ``path`` defines or builds."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found.extend((node.lineno, f"imports {m}") for m in modules if m.endswith(MODEL_AND_STEP_MODULES)
                         or m.startswith(("tensorflow", "keras")))
            if isinstance(node, ast.ImportFrom):
                found.extend((node.lineno, f"imports {a.name}") for a in node.names if a.name in MODEL_AND_STEP_NAMES)
        elif isinstance(node, ast.Attribute) and node.attr in MODEL_AND_STEP_NAMES:
            found.append((node.lineno, f"uses .{node.attr}"))
        elif isinstance(node, ast.Name) and node.id in MODEL_AND_STEP_NAMES:
            found.append((node.lineno, f"uses {node.id}"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in MODEL_AND_STEP_NAMES:
            found.append((node.lineno, f"defines {node.name}"))
        elif isinstance(node, ast.ClassDef) and any(ast.unparse(b).split(".")[-1] in ("RNN", "Basic", "Ensemble")
                                                    for b in node.bases):
            found.append((node.lineno, f"defines a model class {node.name}"))
    return found


def test_sweeps_define_no_model_and_no_training_step():
    """Issue 20, DESIGN §8: one stack for 1...K networks lives in models/ and training/; sweeps/ configures,
    executes and records (no tf.function, no GradientTape, no optimiser update, no model class)."""
    sweeps = ROOT / "psychrnn_widgets" / "sweeps"
    found = {f"{path.name}:{line} {what}" for path in sorted(sweeps.glob("*.py"))
             for line, what in model_or_step_definitions(path)}
    assert not found, sorted(found)
    # the check sees such code where it is (the one stack's own modules are full of it)
    models = ROOT / "psychrnn_widgets"
    for module in ("models/ensemble.py", "training/step.py", "training/optim.py"):
        assert model_or_step_definitions(models / module), module
