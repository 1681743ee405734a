"""A run registry as an attacker and an unlucky user meet it (issue #21, must-show 1).

Records name classes and never import them; every path stays inside the registry; two
drivers train each run once; a registry belongs to one sweep; malformed records are moved
aside and redone; weight files are checked against their records.  Also the task and
model catalog, and the small validations of sweeps and ensembles.  Networks are tiny
(4 units, 10 time steps, 2 training steps) and run in this process.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import psychrnn_widgets
from helpers import wait_until
from psychrnn_widgets import ParameterError, PerceptualDiscrimination, Sweep, register_task
from psychrnn_widgets.catalog import MODELS, TASKS, Catalog, task_class, task_name
from psychrnn_widgets.errors import RegistryError, RegistryWarning, UnknownClassError
from psychrnn_widgets.sweeps import execution
from psychrnn_widgets.sweeps.config import from_json
from psychrnn_widgets.sweeps.registry import Registry
from psychrnn_widgets.tasks.task import Task

ROOT = Path(__file__).resolve().parents[1]
TASK_PARAMS = dict(dt=10, tau=100, T=100, N_batch=4)


def tiny_sweep(registry, **kwargs):
    kwargs.setdefault("axes", {"learning_rate": [0.001, 0.01]})
    kwargs.setdefault("seed", 0)
    return Sweep(PerceptualDiscrimination, task_params=TASK_PARAMS, network_params=dict(N_rec=4),
                 train_params=dict(training_iters=8, loss_epoch=1), registry=registry, **kwargs)


@pytest.fixture
def trained(tmp_path):
    """A finished two-run sweep (trained once per test module would share state between tests)."""
    sweep = tiny_sweep(tmp_path / "reg")
    sweep.run(in_process=True)
    assert [row["status"] for row in sweep.table()] == ["finished", "finished"]
    return sweep


def edit_record(sweep, index, change):
    path = sweep.registry.record_path(sweep.runs[index].run_id)
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))
    return path


def count_trainings(monkeypatch):
    """Wrap the worker function the execution calls; returns the list of run ids it trained."""
    trained, lock = [], threading.Lock()
    real = execution.train_group

    def counting(runs, *args, **kwargs):
        with lock:
            trained.extend(run.run_id for run in runs)
        return real(runs, *args, **kwargs)

    monkeypatch.setattr(execution, "train_group", counting)
    return trained


# ----------------------------------------------------------------------------- records name, they do not import
def test_a_record_naming_a_function_never_imports_or_calls_it(trained, tmp_path, monkeypatch):
    folder = tmp_path / "on_path"
    folder.mkdir()
    imported, called = tmp_path / "imported", tmp_path / "called"
    (folder / "evil_module_21.py").write_text(textwrap.dedent(f"""
        open({str(imported)!r}, "w").write("imported")

        def boom(**kwargs):
            open({str(called)!r}, "w").write("called")
    """))
    monkeypatch.syspath_prepend(str(folder))
    for hostile in ("evil_module_21:boom", "evil_module_21.boom", "os:system"):
        edit_record(trained, 0, lambda record: record["config"]["task"].update({"class": hostile}))
        with pytest.raises(UnknownClassError, match="not registered") as info:
            trained.model(0)
        assert trained.runs[0].run_id in str(info.value) and "register_task" in str(info.value)
    # the definition names it too: the Sweep refuses the registry (its identity no longer matches)
    definition_path = trained.registry.path / "sweep.json"
    definition = json.loads(definition_path.read_text())
    definition["task"]["class"] = "evil_module_21:boom"
    definition_path.write_text(json.dumps(definition))
    with pytest.raises(RegistryError, match="damaged"):
        tiny_sweep(trained.registry.path, seed=None)
    assert not imported.exists() and not called.exists()
    assert "evil_module_21" not in sys.modules


def test_the_labs_saved_runs_find_their_task_through_the_catalog(tmp_path, monkeypatch):
    from psychrnn_widgets import Basic
    from psychrnn_widgets.widgets.history import NetworkRecord, load_record, save_record

    task = PerceptualDiscrimination(**TASK_PARAMS, seed=0)
    params = dict(task.get_task_params(), name="saved", N_rec=4)
    record = NetworkRecord(model=Basic(params), network_params={"N_rec": 4}, task=task, label="saved")
    weights_path, json_path = save_record(record, tmp_path / "run")
    assert json.loads(json_path.read_text())["task"]["class"] == "PerceptualDiscrimination"
    assert type(load_record(tmp_path / "run").task) is PerceptualDiscrimination
    imported = tmp_path / "imported"
    (tmp_path / "evil_lab_21.py").write_text(f"open({str(imported)!r}, 'w').write('x')\nclass T: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    document = json.loads(json_path.read_text())
    document["task"]["class"] = "evil_lab_21:T"
    json_path.write_text(json.dumps(document))
    assert load_record(tmp_path / "run").task is None  # an unknown class: the dashboard keeps its own task
    assert not imported.exists() and "evil_lab_21" not in sys.modules


def test_a_registry_of_a_users_task_resolves_once_the_task_is_handed_over(tmp_path):
    class ConstantTask(Task):
        def __init__(self, dt, tau, T, N_batch, seed=None):
            super().__init__(1, 1, dt, tau, T, N_batch, seed=seed)

        def generate_trial_params(self, batch, trial):
            return {}

        def trial_function(self, time, params):
            return np.ones(1), np.ones(1), np.ones(1)

    sweep = Sweep(ConstantTask, task_params=TASK_PARAMS, network_params=dict(N_rec=4),
                  train_params=dict(training_iters=4), seed=0, registry=tmp_path)
    assert task_class("ConstantTask") is ConstantTask and task_name(ConstantTask) == "ConstantTask"
    assert sweep.runs[0].config()["task"]["class"] == "ConstantTask"
    # an older record's 'module:QualName' of a known class is matched, never imported
    assert task_class(f"{ConstantTask.__module__}:{ConstantTask.__qualname__}") is ConstantTask
    assert task_class("psychrnn_widgets.tasks.perceptual_discrimination:PerceptualDiscrimination") \
        is PerceptualDiscrimination


# ----------------------------------------------------------------------------- the catalog
def test_the_catalog_registers_looks_up_and_refuses_clearly():
    catalog = Catalog("task", ("psychrnn_widgets.tasks.task", "Task"), register_hint="register_task")

    @catalog.register
    class Alpha(PerceptualDiscrimination):
        pass

    @catalog.register(name="beta")
    class Beta(PerceptualDiscrimination):
        pass

    assert catalog.get("Alpha") is Alpha and catalog.get("beta") is Beta and catalog.name_of(Beta) == "beta"
    assert catalog.names() == ["Alpha", "beta"]
    with pytest.raises(UnknownClassError, match=r"'Gamma' is not registered \(known: Alpha, beta\)"):
        catalog.get("Gamma", where="record run-1")
    other = type("Alpha", (PerceptualDiscrimination,), {"__module__": "elsewhere"})
    with pytest.raises(ParameterError, match="taken by"):
        catalog.register(other)
    assert catalog.register(other, replace=True) is other and catalog.get("Alpha") is other
    again = type("Alpha", (PerceptualDiscrimination,), {"__module__": "elsewhere"})  # a cell run twice
    assert catalog.register(again) is again and catalog.get("Alpha") is again
    with pytest.raises(ParameterError, match="already registered as the task 'beta'"):
        catalog.register(Beta, name="gamma")
    for bad in (int, "PerceptualDiscrimination", PerceptualDiscrimination(**TASK_PARAMS)):
        with pytest.raises(ParameterError, match="subclasses of Task"):
            catalog.register(bad)
    for name in ("a/b", "../x", "os:system", "", 3):
        with pytest.raises(ParameterError, match="plain name"):
            catalog.register(Alpha, name=name, replace=True)
    with pytest.raises(UnknownClassError):
        catalog.name_of(float)
    # the package's catalogs: every built-in task by its class name, the built-in models by a fixed table
    assert set(psychrnn_widgets.BUILTIN_TASKS) <= set(TASKS.names())
    assert all(task_name(cls) == name for name, cls in psychrnn_widgets.BUILTIN_TASKS.items())
    assert {"Basic", "BasicScan", "LSTM", "GRU"} <= set(MODELS.names())
    with pytest.raises(ParameterError, match="taken by"):
        register_task(type("PerceptualDiscrimination", (PerceptualDiscrimination,), {"__module__": "mine"}))


def test_the_catalog_imports_no_model_until_one_is_asked_for():
    code = """
import sys
from psychrnn_widgets import catalog, register_model, register_task
assert catalog.model_names() == ["Basic", "BasicScan", "GRU", "LSTM"], catalog.model_names()
assert "PerceptualDiscrimination" in catalog.task_names()
try:
    register_model(int)
except ValueError as error:
    assert "subclasses of RNN" in str(error)
for heavy in ("tensorflow", "ipywidgets", "psychrnn_widgets.models"):
    assert heavy not in sys.modules, "the catalog imported " + heavy
from psychrnn_widgets.models.lstm import LSTM
assert catalog.model_class("LSTM") is LSTM and catalog.model_name(LSTM) == "LSTM"
assert catalog.model_class("psychrnn_widgets.models.basic:Basic").__name__ == "Basic"
class Mine(LSTM):
    pass
assert register_model(Mine) is Mine and catalog.model_class("Mine") is Mine
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


# ----------------------------------------------------------------------------- paths stay inside
def test_every_path_escape_is_refused(trained, tmp_path):
    registry = trained.registry
    outside = tmp_path / "outside"
    outside.mkdir()
    for run_id in ("../escaped", "../../escaped", str(outside / "abs"), "a/b", "..", ".hidden", "", 3):
        with pytest.raises(RegistryError, match="plain name"):
            registry.update(run_id, status="queued")
        with pytest.raises(RegistryError, match="plain name"):
            registry.save_weights(run_id, {})
    for name in ("../up", "a/b", str(outside / "abs"), ".hidden"):
        with pytest.raises(ParameterError, match="plain name"):
            tiny_sweep(None, name=name)
    assert list(outside.iterdir()) == [] and not (tmp_path / "escaped").exists()

    # a record whose weights_file climbs out, or is absolute: moved aside, never read
    run0, run1 = (run.run_id for run in trained.runs)
    (outside / "net.npz").write_bytes(registry.weights_path(run0).read_bytes())
    original = registry.record_path(run0).read_text()
    for bad, reason in (("../../outside/net.npz", "climbs out"), (str(outside / "net.npz"), "absolute"),
                        (f"runs/{run1}.npz", "not this run's own")):
        edit_record(trained, 0, lambda record: record.update(weights_file=bad))
        with pytest.warns(RegistryWarning, match=reason):
            assert registry.record(run0) is None
        with pytest.raises(FileNotFoundError):
            registry.load_weights(run0)
        assert reason in registry.problem(run0)
        registry.record_path(run0).write_text(original)
    assert registry.is_finished(run0)

    # a weight file that is a symlink out of the registry (same bytes, so the checksum matches)
    target = registry.weights_path(run1)
    (outside / "linked.npz").write_bytes(target.read_bytes())
    target.unlink()
    target.symlink_to(outside / "linked.npz")
    assert not registry.is_finished(run1) and "outside the registry" in registry.problem(run1)
    with pytest.raises(RegistryError, match="outside the registry"):
        registry.load_weights(run1)
    # a record that is a symlink out: moved aside (the link itself), the outside file untouched
    (outside / "record.json").write_text(registry.record_path(run1).read_text())
    registry.record_path(run1).unlink()
    registry.record_path(run1).symlink_to(outside / "record.json")
    with pytest.warns(RegistryWarning, match="outside the registry"):
        assert registry.record(run1) is None
    assert (outside / "record.json").is_file()
    # the runs folder itself pointing out: nothing is written through it
    shutil.rmtree(registry.runs_dir)
    registry.runs_dir.symlink_to(outside, target_is_directory=True)
    with pytest.raises(RegistryError, match="outside the registry"):
        registry.update(run0, status="queued")
    assert sorted(p.name for p in outside.iterdir()) == ["linked.npz", "net.npz", "record.json"]


# ----------------------------------------------------------------------------- concurrency and identity
def test_two_drivers_on_one_registry_train_each_run_once(tmp_path, monkeypatch):
    trained = count_trainings(monkeypatch)
    sweeps = [tiny_sweep(tmp_path / "reg", axes={"learning_rate": [0.001, 0.003, 0.01]}) for _ in range(2)]
    start, errors = threading.Barrier(2), []

    def drive(sweep):
        start.wait()
        try:
            sweep.run(in_process=True)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=drive, args=(sweep,)) for sweep in sweeps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    ids = [run.run_id for run in sweeps[0].runs]
    assert sorted(trained) == sorted(ids)  # every run trained exactly once, by one driver or the other
    for sweep in sweeps:
        assert [row["status"] for row in sweep.table()] == ["finished"] * 3
        assert [row["attempts"] for row in sweep.table()] == [1] * 3
        summary = sweep.last_execution.summary()
        assert summary["statuses"] == {"finished": 3}
    assert sum(s.last_execution.trained for s in sweeps) == 3
    assert sum(s.last_execution.skipped for s in sweeps) == 3
    assert not list((tmp_path / "reg" / "locks").glob("driver-*.lock"))  # both drivers removed their locks


def test_a_killed_drivers_claims_do_not_block_and_a_live_ones_do(tmp_path, monkeypatch):
    trained = count_trainings(monkeypatch)
    sweep = tiny_sweep(tmp_path / "reg")
    registry = sweep.registry
    driver_id = "ab" * 16
    lock = registry.locks_dir / f"driver-{driver_id}.lock"
    registry.locks_dir.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import filelock, sys, time\n"
                               f"lock = filelock.FileLock({str(lock)!r}); lock.acquire(timeout=0)\n"
                               "print('held', flush=True); time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        run = sweep.runs[0]
        registry.update(run.run_id, index=0, status="running", claim={"driver": driver_id, "host": "h", "pid": 1})
        execution_ = sweep.start(in_process=True)
        assert wait_until(lambda: execution_.states[sweep.runs[1].run_id].status == "finished", timeout=120)
        assert execution_.states[run.run_id].status == "running" and "another driver" in \
            execution_.states[run.run_id].worker
        assert trained == [sweep.runs[1].run_id]  # the live driver's run is left to it
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    assert execution_.wait(timeout=120)  # the killed driver's lock is gone: its run is taken over
    assert execution_.error is None, execution_.error
    assert sorted(trained) == sorted(r.run_id for r in sweep.runs)
    assert [row["status"] for row in sweep.table()] == ["finished", "finished"]
    assert not lock.exists()


def test_a_registry_belongs_to_one_sweep_and_a_damaged_definition_is_refused(trained, monkeypatch):
    path = trained.registry.path
    for other in (dict(axes={"learning_rate": [0.5]}), dict(seed=1), dict(name="other")):
        with pytest.raises(RegistryError, match="belongs to another sweep"):
            tiny_sweep(path, **other)
    same = tiny_sweep(path, seed=None)  # resuming without a seed: the stored one
    assert same.seed == trained.seed and [r.run_id for r in same.runs] == [r.run_id for r in trained.runs]
    definition = path / "sweep.json"
    original = definition.read_text()
    trained_runs = count_trainings(monkeypatch)
    for damage in ("{not json", "[1, 2]", json.dumps(dict(json.loads(original), seed="7")),
                   json.dumps(dict(json.loads(original), seed=123)), original[: len(original) // 2]):
        definition.write_text(damage)
        for seed in (None, 0):
            with pytest.raises(RegistryError, match="damaged"):
                tiny_sweep(path, seed=seed)
        with pytest.raises(RegistryError, match="damaged"):
            same.run(in_process=True)
        assert definition.read_text() == damage  # never replaced
    assert trained_runs == []
    # a sweep.json written before identities (the task as 'module:QualName') is still this sweep's
    legacy = json.loads(original)
    legacy.pop("identity")
    legacy["task"]["class"] = "psychrnn_widgets.tasks.perceptual_discrimination:PerceptualDiscrimination"
    definition.write_text(json.dumps(legacy))
    assert tiny_sweep(path, seed=None).run(in_process=True).skipped == 2
    assert json.loads(definition.read_text())["identity"] == trained.identity()


# ----------------------------------------------------------------------------- records validated on read
@pytest.mark.parametrize("damage", [
    "[1, 2, 3]", "null", '"finished"', "{bad json", "NaN",
    {"final_accuracy": 7.5}, {"attempts": -3}, {"attempts": "1"}, {"status": "done"}, {"metrics": [1, 2]},
    {"config": "PerceptualDiscrimination"}, {"weights_sha256": "00"}, {"final_loss": -1.0}, {"run_id": "run-other"},
])
def test_a_malformed_record_is_quarantined_reported_and_its_run_redone(trained, monkeypatch, damage):
    run0, run1 = (run.run_id for run in trained.runs)
    path = trained.registry.record_path(run0)
    if isinstance(damage, str):
        path.write_text(damage)
    else:
        edit_record(trained, 0, lambda record: record.update(damage))
    with pytest.warns(RegistryWarning, match="moved to runs/quarantine"):
        rows = trained.table()
    assert rows[0]["status"] == "missing" and "moved aside" in rows[0]["problem"] and rows[1]["problem"] is None
    moved = list(trained.registry.quarantine_dir.glob(f"{run0}.json.*[0-9a-f]"))
    assert len(moved) == 1 and trained.registry.quarantined()[0]["run_id"] == run0
    trainings = count_trainings(monkeypatch)
    again = trained.run(in_process=True)
    assert trainings == [run0] and again.skipped == 1 and again.trained == 1
    assert [row["status"] for row in trained.table()] == ["finished", "finished"]
    assert trained.table()[0]["problem"] is None


def test_records_are_checked_when_written_too(tmp_path):
    registry = Registry(tmp_path)
    for fields, name in (({"final_accuracy": 7.5}, "final_accuracy"), ({"attempts": -3}, "attempts"),
                         ({"status": "done"}, "status"), ({"weights_file": "../x.npz"}, "weights_file")):
        with pytest.raises(RegistryError, match=name) as info:
            registry.update("run-1", **dict({"status": "queued"}, **fields))
        assert info.value.parameter == name
    assert not (tmp_path / "runs" / "run-1.json").exists()


def test_a_truncated_or_swapped_weight_file_is_retrained(trained, monkeypatch):
    registry = trained.registry
    run0, run1 = (run.run_id for run in trained.runs)
    before = {run_id: registry.load_weights(run_id) for run_id in (run0, run1)}
    data0 = registry.weights_path(run0).read_bytes()
    registry.weights_path(run0).write_bytes(data0[: len(data0) // 2])  # truncated
    registry.weights_path(run1).write_bytes(data0)  # swapped: run 0's network in run 1's file
    for run_id in (run0, run1):
        assert not registry.is_finished(run_id) and "SHA-256" in registry.problem(run_id)
        with pytest.raises(RegistryError, match="does not match"):
            registry.load_weights(run_id)
    with pytest.raises(RegistryError, match="does not match"):
        trained.model(1)  # never the other run's network
    rows = trained.table()
    assert all("SHA-256" in row["problem"] for row in rows)
    trainings = count_trainings(monkeypatch)
    again = trained.run(in_process=True)
    assert sorted(trainings) == sorted([run0, run1]) and again.trained == 2
    for run_id in (run0, run1):  # retrained from the run's own seed: its own network again
        np.testing.assert_allclose(registry.load_weights(run_id)["W_rec"], before[run_id]["W_rec"], atol=1e-5)
    assert not np.allclose(before[run0]["W_rec"], before[run1]["W_rec"])
    assert [row["problem"] for row in trained.table()] == [None, None]


# ----------------------------------------------------------------------------- small validations
def test_unknown_sweep_keys_warn_with_a_did_you_mean(tmp_path):
    cases = [
        (dict(network_params=dict(N_rec=4, dale_ratoi=0.8)), "network_params: unknown key 'dale_ratoi'.*'dale_ratio'"),
        (dict(task_params=dict(TASK_PARAMS, coherance=0.1)), "task_params of PerceptualDiscrimination: unknown key "
                                                             "'coherance'.*'coherence'"),
        (dict(axes={"network.N_recc": [4, 5]}), "axis 'network.<key>': unknown key 'N_recc'.*'N_rec'"),
        (dict(axes={"task.coherance": [0.1]}), "axis 'task.<key>' of PerceptualDiscrimination: unknown key "
                                               "'coherance'.*'coherence'"),
    ]
    for kwargs, message in cases:
        arguments = dict(task_params=TASK_PARAMS, network_params=dict(N_rec=4), seed=0, registry=tmp_path)
        arguments.update(kwargs)
        with pytest.warns(UserWarning, match=message):
            Sweep(PerceptualDiscrimination, **arguments)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known keys, task keys and a custom loss's key are not warned about
        Sweep(PerceptualDiscrimination, task_params=TASK_PARAMS, registry=tmp_path, seed=0,
              network_params=dict(N_rec=4, dale_ratio=0.8, N_in=2, coherence=0.5),
              axes={"network.rec_noise": [0.0], "task.coherence": [0.1]})


def test_ensemble_inputs_are_validated():
    from psychrnn_widgets import Ensemble

    params = dict(name="e", N_in=2, N_rec=4, N_out=2, N_steps=5, dt=10, tau=100, N_batch=2)
    for n in ("3", 0, 1.5, -1, True, [2]):
        with pytest.raises(ParameterError, match="Ensemble: n must be an integer >= 1") as info:
            Ensemble(params, n=n)
        assert info.value.parameter == "n"
    with pytest.warns(UserWarning, match="networks 0 and 2 have the same seed 5"):
        Ensemble([dict(params, seed=5), dict(params, seed=6), dict(params, seed=5)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(set(Ensemble(params, n=3, seed=0).seeds)) == 3


def test_arrays_in_records_are_numeric_only():
    assert from_json({"__ndarray__": [[1, 0]], "dtype": "int64"}).dtype == np.int64
    for dtype in ("object", "datetime64[s]", "complex128", "V8", "not a dtype", 3):
        with pytest.raises(ParameterError, match="dtype"):
            from_json({"__ndarray__": [1], "dtype": dtype})
