"""NeuroGymTask against real NeuroGym output: recorded trials (no NeuroGym needed) and, where
NeuroGym is installed, its environments themselves (issue 26)."""
import importlib.util
import warnings

import numpy as np
import pytest

from neurogym_recording import RECORDING, ReplayEnv, load_recording
from psychrnn_widgets import Basic, NeuroGymTask
from psychrnn_widgets.errors import ParameterError

_spec = importlib.util.spec_from_file_location(
    "neurogym_side_by_side", RECORDING.parents[2] / "tools" / "neurogym_side_by_side.py")
TOOL = importlib.util.module_from_spec(_spec)  # its top level imports the standard library only
_spec.loader.exec_module(TOOL)

NOTES, RECORDED = load_recording()
BY_ROW = {recorded.row: recorded for recorded in RECORDED}
#: the environments the tool records: 8 native ones, ContextDecisionMaking in both context settings
ROWS = tuple(TOOL.ROWS)


def converted(recorded, **kwargs):
    env = ReplayEnv(recorded)
    meta = recorded.meta
    task = NeuroGymTask(env, N_batch=len(recorded.trials), T=meta["T"], seed=meta["seed"], **kwargs)
    return env, task, task.generate_batch()


def test_the_recording_holds_every_environment_and_says_how_it_was_made():
    assert RECORDING.stat().st_size < 400_000
    assert tuple(BY_ROW) == ROWS and len(ROWS) >= 9
    assert "ContextDecisionMaking-v0" in ROWS and "ContextDecisionMaking-v0 (use_expl_context=True)" in ROWS
    assert "neurogym_side_by_side.py --record" in NOTES and '"neurogym": "2.3.1"' in NOTES
    assert BY_ROW["ContextDecisionMaking-v0 (use_expl_context=True)"].meta["kwargs"] == {"use_expl_context": True}
    for recorded in RECORDED:
        assert len(recorded.trials) == 8 and recorded.meta["env_class"] in recorded.row.replace("-", "")


@pytest.mark.parametrize("row", ROWS)
def test_recorded_trials_convert_identically(row):
    """Observations, ground truth, periods and trial info of the real environment's trials, exactly."""
    recorded = BY_ROW[row]
    meta = recorded.meta
    env, task, (x, y, mask, params) = converted(recorded)
    assert env.seeds[-1] == meta["seed"] and all(s == meta["seed"] for s in env.seeds)  # the seed, unchanged
    assert (task.N_in, task.N_out, task.dt, task.T) == (meta["N_in"], meta["N_out"], meta["dt"], meta["T"])
    assert task.get_task_params()["loss_function"] == "categorical_cross_entropy"
    for i, ((ob, gt), p) in enumerate(zip(recorded.trials, params)):
        n = min(len(ob), task.N_steps)
        assert p["length"] == n
        np.testing.assert_array_equal(x[i, :n], ob[:n])
        assert x.dtype == np.float32 and not x[i, n:].any()
        np.testing.assert_array_equal(np.argmax(y[i, :n], axis=-1), gt[:n])
        np.testing.assert_array_equal(y[i, :n].max(axis=-1), 1.0)
        assert not y[i, n:].any() and not mask[i, n:].any() and mask[i, :n].min() == 1.0
        assert p["periods"] == meta["periods"][i] and p["info"] == meta["info"][i]
        assert p["choice"] == gt[n - 1]
        end_of_batch = task.N_steps * task.dt
        for name, (start, end) in meta["periods"][i].items():  # epochs: the periods, within the batch's steps
            assert p["epochs"][name] == (pytest.approx(min(start, end_of_batch)), pytest.approx(min(end, end_of_batch)))
        assert p["epochs"]["trial"] == (0.0, pytest.approx(n * task.dt))
    # what NeuroGymTask made of the same trials inside the NeuroGym venv, bit for bit
    assert TOOL.digest(x, y, mask) == meta["digest"]
    # the trials re-render from their parameters; the same seed gives the same batch
    for a, b in zip(task.trials_from_params(params), (x, y, mask)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(converted(recorded)[2][:3], (x, y, mask)):
        np.testing.assert_array_equal(a, b)
    assert task.accuracy_function(y, y, mask) == 1.0


@pytest.mark.parametrize("row", ("ContextDecisionMaking-v0", "GoNogo-v0"))
def test_fixation_weight_weighs_the_fixation_steps(row):
    recorded = BY_ROW[row]
    _, task, (x, y, mask, params) = converted(recorded, fixation_weight=0.05)
    for i, (ob, gt) in enumerate(recorded.trials):
        n = params[i]["length"]
        np.testing.assert_array_equal(mask[i, :n, 0], np.where(gt[:n] == 0, 0.05, 1.0).astype(np.float32))
        assert not mask[i, n:].any()
    assert task.accuracy_function(y, y, mask) == 1.0  # scoring reads the trial's last step whatever the weights
    with pytest.raises(ParameterError, match="fixation_weight"):
        NeuroGymTask(ReplayEnv(recorded), fixation_weight=0.0)


def test_the_last_step_is_scored():
    """NeuroGym's supervised rule: the largest output at the trial's last step is the ground truth there."""
    recorded = BY_ROW["PerceptualDecisionMaking-v0"]
    _, task, (x, y, mask, params) = converted(recorded)
    wrong_before_the_end = y.copy()
    for i, p in enumerate(params):
        wrong_before_the_end[i, : p["length"] - 1] = np.roll(y[i, : p["length"] - 1], 1, axis=-1)
    assert task.accuracy_function(y, wrong_before_the_end, mask) == 1.0
    wrong_at_the_end = y.copy()
    for i, p in enumerate(params):
        wrong_at_the_end[i, p["length"] - 1] = np.roll(y[i, p["length"] - 1], 1)
    assert task.accuracy_function(y, wrong_at_the_end, mask) == 0.0


def test_chance_level_is_the_commonest_final_action():
    recorded = BY_ROW["AntiReach-v0"]  # 8 recorded trials, replayed over and over
    env = ReplayEnv(recorded)
    task = NeuroGymTask(env, N_batch=4, T=recorded.meta["T"], seed=0)
    finals = np.array([gt[-1] for _, gt in recorded.trials])
    assert task.chance_level == pytest.approx(np.max(np.bincount(finals)) / len(finals), abs=1 / len(finals))
    first = task.generate_batch()[0]
    task.chance_level  # noqa: B018 - computed on a copy of the environment
    np.testing.assert_array_equal(NeuroGymTask(ReplayEnv(recorded), N_batch=4, T=recorded.meta["T"],
                                               seed=0).generate_batch()[0], first)


def test_a_network_learns_recorded_trials_with_the_tasks_loss():
    """Basic built from get_task_params() trains with cross-entropy and learns a recorded environment."""
    recorded = BY_ROW["GoNogo-v0"]
    task = NeuroGymTask(ReplayEnv(recorded), N_batch=8, T=recorded.meta["T"], seed=0)
    model = Basic(dict(task.get_task_params(), name="gonogo", N_rec=32, seed=0))
    assert model.loss_name == "categorical_cross_entropy"
    losses, _, _ = model.train(task, dict(training_iters=8 * 150, learning_rate=0.01, loss_epoch=10,
                                          verbosity=False))
    x, y, mask, _ = task.generate_batch()
    assert losses[-1] < 0.5 * losses[0]
    assert task.accuracy_function(y, model.test(x)[0], mask) == 1.0


def test_against_real_neurogym():
    """Where NeuroGym is installed: NeuroGymTask(env, seed=s) draws what env.seed(s) + new_trial() draws."""
    try:
        import neurogym
    except ImportError:
        pytest.skip("neurogym is not installed (it cannot be, beside this package's pins); the recorded trials "
                    "above are its output, and tools/neurogym_side_by_side.py runs this check in a venv of its own")
    for recorded in RECORDED:
        meta = recorded.meta
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            make = lambda: neurogym.make(meta["id"], dt=meta["dt"], **meta["kwargs"])  # noqa: E731
            task = NeuroGymTask(make(), N_batch=8, seed=meta["seed"])
            x, y, mask, params = task.generate_batch()
            reference = make().unwrapped
        reference.seed(meta["seed"])
        for i in range(8):
            reference.new_trial()
            n = params[i]["length"]
            np.testing.assert_array_equal(x[i, :n], np.asarray(reference.ob, np.float32)[:n])
            np.testing.assert_array_equal(np.asarray(params[i]["gt"])[:n], np.asarray(reference.gt)[:n])
            # and the recording is this environment's output for that seed
            np.testing.assert_array_equal(recorded.trials[i][0], reference.ob)
