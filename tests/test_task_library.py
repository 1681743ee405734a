"""Task-specific behaviour of the tasks beyond PsychRNN's three, the multi-task wrapper and
the NeuroGym adapter (the generic checks every task passes are in test_tasks.py)."""
import warnings

import numpy as np
import pytest

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.tasks import (
    ContextDependentIntegration,
    DelayedMatchToSample,
    FlipFlop,
    GoNoGo,
    MatchToCategory,
    MultiTask,
    NeuroGymTask,
    PerceptualDiscrimination,
    ProAntiSaccade,
    ReadySetGo,
    Task,
)


# ------------------------------------------------------------------ context-dependent integration
def test_context_decides_which_stream_counts():
    task = ContextDependentIntegration(N_batch=2000, seed=0)
    p = task.generate_batch(noise=False)[3]
    context = np.array([q["context"] for q in p])
    motion = np.array([q["motion_coherence"] for q in p])
    color = np.array([q["color_coherence"] for q in p])
    relevant = np.where(context == 0, motion, color)
    np.testing.assert_array_equal([q["choice"] for q in p], (relevant > 0).astype(int))
    np.testing.assert_array_equal([q["evidence"] for q in p], relevant)
    assert set(np.abs(motion).round(6)) == {0.05, 0.15, 0.5} and abs(context.mean() - 0.5) < 0.05
    # the irrelevant stream agrees with the relevant one on about half of the trials
    irrelevant = np.where(context == 0, color, motion)
    assert abs(np.mean(np.sign(irrelevant) == np.sign(relevant)) - 0.5) < 0.05
    fixed = ContextDependentIntegration(N_batch=50, context=1, coherences=0.3, seed=0)
    assert {q["context"] for q in fixed.generate_batch()[3]} == {1}
    with pytest.raises(ParameterError, match="ContextDependentIntegration: coherences"):
        ContextDependentIntegration(coherences=(0.0, 0.1))


# ------------------------------------------------------------------ go / no-go
def test_go_nogo_scores_responses_by_their_timing():
    task = GoNoGo(N_batch=100, seed=1, delay=400.0)
    x, y, mask, p = task.generate_batch(noise=False)
    go = np.array([q["go"] for q in p]).astype(bool)
    assert 0.35 < go.mean() < 0.65
    decision = np.arange(task.N_steps) * task.dt >= 800  # fixation 100 + cue 300 + delay 400
    late = decision[None, :, None] * np.ones_like(y)  # responds in the decision period on every trial
    early = np.ones_like(y)  # responds from the start
    silent = np.zeros_like(y)
    np.testing.assert_array_equal(task.trial_correct(y, late, mask), go)
    np.testing.assert_array_equal(task.trial_correct(y, silent, mask), ~go)
    assert not task.trial_correct(y, early, mask).any()
    np.testing.assert_array_equal(task.decode_choice(late, mask), np.ones(100))
    # the go signal is the fixation cue turning off
    assert np.all(x[:, decision, 0] == 0) and np.all(x[:, ~decision, 0] == 1)


# ------------------------------------------------------------------ flip-flop
def test_flip_flop_holds_the_last_pulse_sign():
    task = FlipFlop(N_batch=30, n_bits=3, seed=2)
    x, y, mask, p = task.generate_batch()
    assert (task.N_in, task.N_out) == (3, 3)
    assert set(np.unique(x)) <= {-1.0, 0.0, 1.0}  # brief +-1 pulses, no noise
    pulse_steps = task.pulse_duration / task.dt
    for i in range(30):
        for bit in range(3):
            steps = np.flatnonzero(x[i, :, bit])
            starts = steps[np.r_[True, np.diff(steps) > 1]] if steps.size else steps
            assert steps.size == starts.size * pulse_steps
            if not starts.size:
                assert not mask[i, :, bit].any()
                continue
            assert not mask[i, :starts[0], bit].any() and mask[i, starts[0]:, bit].all()
            for k, start in enumerate(starts):  # the target is the last pulse's sign until the next one
                end = starts[k + 1] if k + 1 < starts.size else task.N_steps
                assert np.all(y[i, start:end, bit] == x[i, start, bit])
        np.testing.assert_array_equal(p[i]["final_state"], y[i, -1])
    with pytest.raises(ParameterError, match="n_bits"):
        task.N_in = 4
    with pytest.raises(ParameterError, match="pulse_duration"):
        FlipFlop(interval=50, pulse_duration=60)
    task.n_bits = 2
    assert (task.N_in, task.N_out) == (2, 2) and task.generate_batch()[0].shape[-1] == 2


# ------------------------------------------------------------------ ready-set-go
def test_ready_set_go_scores_the_produced_interval():
    task = ReadySetGo(N_batch=40, seed=3)
    x, y, mask, p = task.generate_batch(noise=False)
    interval = np.array([q["interval"] for q in p])
    assert 500 <= interval.min() and interval.max() <= 1000
    produced = task.produced_interval(y, y, mask)
    assert np.all(np.abs(produced - interval) < task.dt)
    # Ready and Set are `interval` apart
    ready = np.argmax(x[..., 0] > 0, axis=1) * task.dt
    set_ = np.argmax(x[..., 1] > 0, axis=1) * task.dt
    assert np.all(np.abs(set_ - ready - interval) < task.dt)

    def shifted(fraction):  # respond `fraction` of the interval late
        out = np.zeros_like(y)
        for i, (s, ts) in enumerate(zip(set_, interval)):
            out[i, int(np.ceil((s + ts * (1 + fraction)) / task.dt)):] = 1
        return out

    assert task.accuracy_function(y, shifted(0.08), mask) == 1.0
    assert task.accuracy_function(y, shifted(0.3), mask) == 0.0
    assert np.all(np.isnan(task.produced_interval(np.zeros_like(y), y, mask)))
    with pytest.raises(ParameterError, match="interval"):
        ReadySetGo(interval=(40.0, 600.0))


# ------------------------------------------------------------------ delayed match-to-sample
def test_match_trials_repeat_the_sample_and_non_match_trials_do_not():
    task = DelayedMatchToSample(N_batch=1000, N_in=5, seed=4)
    p = task.generate_batch()[3]
    match = np.array([q["match"] for q in p]).astype(bool)
    sample = np.array([q["sample_stimulus"] for q in p])
    test = np.array([q["test_stimulus"] for q in p])
    assert 0.45 < match.mean() < 0.55
    assert np.all(test[match] == sample[match]) and np.all(test[~match] != sample[~match])
    assert set(test[~match]) == set(range(5))
    np.testing.assert_array_equal([q["choice"] for q in p], (~match).astype(int))
    with pytest.raises(ParameterError, match="N_in"):
        DelayedMatchToSample(N_in=1)


# ------------------------------------------------------------------ pro / anti saccade
def test_anti_saccades_go_the_other_way():
    task = ProAntiSaccade(N_batch=200, n_ring=8, seed=5)
    x, y, mask, p = task.generate_batch(noise=False)
    rule = np.array([q["rule"] for q in p])
    stimulus = np.array([q["stimulus_angle"] for q in p])
    response = np.array([q["response_angle"] for q in p])
    assert set(rule) == {0, 1}
    np.testing.assert_allclose(np.angle(np.exp(1j * (response - stimulus - np.pi * rule))), 0, atol=1e-9)
    # the rule input is on for the whole trial
    assert np.all(x[np.arange(200), :, 9 + rule] == 1) and np.all(x[np.arange(200), :, 10 - rule] == 0)
    # the response ring is rotated by one channel (45 degrees > 36): wrong; by a little: right
    off_by_one = y.copy()
    off_by_one[..., 1:] = np.roll(y[..., 1:], 1, axis=-1)
    assert task.accuracy_function(y, off_by_one, mask) == 0.0
    nudged = y.copy()
    nudged[..., 1:] = 0.8 * y[..., 1:] + 0.2 * np.roll(y[..., 1:], 1, axis=-1)
    assert task.accuracy_function(y, nudged, mask) == 1.0
    broke_fixation = y.copy()
    broke_fixation[..., 0] = 0  # looked away before the go signal
    assert task.accuracy_function(y, broke_fixation, mask) == 0.0


# ------------------------------------------------------------------ multi-task
def test_multitask_pads_channels_and_adds_one_rule_input_per_task():
    tasks = [PerceptualDiscrimination(10, 100, 1500, 1), GoNoGo(N_batch=1), MatchToCategory(10, 100, 2000, 1, N_in=6)]
    multi = MultiTask(tasks, N_batch=300, weights=(1, 1, 2), seed=6)
    assert (multi.N_in, multi.N_out, multi.T) == (6 + 3, 2, 2000)
    assert multi.rules == ["PerceptualDiscrimination", "GoNoGo", "MatchToCategory"]
    x, y, mask, p = multi.generate_batch(noise=False)
    which = np.array([q["task"] for q in p])
    assert 0.4 < np.mean(which == 2) < 0.6  # weights 1:1:2
    np.testing.assert_array_equal(x[..., 6:], np.broadcast_to(np.eye(3)[which][:, None, :], (300, 200, 3)))
    for i in np.flatnonzero(which == 1)[:5]:  # a Go/No-Go trial: its own rendering, padded
        sub = multi.tasks[1]
        sx, sy, sm = sub.trials_from_params([p[i]["params"]], noise=False)
        np.testing.assert_array_equal(x[i, :sub.N_steps, :3], sx[0])
        np.testing.assert_array_equal(y[i, :sub.N_steps, :1], sy[0])
        assert not x[i, :, 3:6].any() and not mask[i, :, 1].any() and not mask[i, sub.N_steps:].any()
        assert p[i]["rule"] == "GoNoGo" and p[i]["choice"] == p[i]["params"]["go"]
    # scored per trial by its own task; arrays it did not generate need the trial params
    assert multi.accuracy_function(y, y, mask) == 1.0
    assert multi.accuracy_function(y.copy(), 1 - y, mask) == 0.0
    with pytest.raises(ValueError, match="trial_params"):
        multi.accuracy_function(y[:10], y[:10], mask[:10])
    assert multi.accuracy_function(y[:10], y[:10], mask[:10], trial_params=p[:10]) == 1.0
    # the given tasks were copied; a PsychRNN-style task cannot be combined; dt must agree
    assert multi.tasks[0] is not tasks[0]
    with pytest.raises(ParameterError, match="same dt"):
        MultiTask([PerceptualDiscrimination(10, 100, 1000, 1), GoNoGo(dt=20)])
    assert MultiTask([PerceptualDiscrimination(10, 100, 1000, 1), GoNoGo(dt=20)], dt=5).tasks[1].dt == 5

    class OnlyTrialFunction(Task):
        def trial_function(self, time, params):
            return np.zeros(1), np.zeros(1), np.ones(1)

    with pytest.raises(ParameterError, match="describe_trials"):
        MultiTask([OnlyTrialFunction(1, 1, 10, 100, 100, 1)])
    with pytest.raises(ParameterError, match="weights"):
        MultiTask(tasks, weights=(1, 1))


# ------------------------------------------------------------------ NeuroGym
class _Space:
    def __init__(self, shape=None, n=None):
        self.shape, self.n = shape, n


class StandInTrialEnv:
    """The part of NeuroGym's TrialEnv the adapter uses: a 2-choice task with trials of 6-9 steps."""

    def __init__(self, dt=20):
        self.dt = dt
        self.observation_space = _Space(shape=(3,))
        self.action_space = _Space(n=3)
        self.rng = np.random.RandomState()

    def seed(self, seed=None):
        self.rng = np.random.RandomState(seed)

    def new_trial(self):
        steps = self.rng.randint(6, 10)
        truth = int(self.rng.choice([1, 2]))
        self.ob = np.zeros((steps, 3), dtype=np.float32)
        self.ob[:-2, 0] = 1
        self.ob[1:-2, truth] = self.rng.uniform(0.5, 1.0)
        self.gt = np.zeros(steps, dtype=np.int64)
        self.gt[-2:] = truth
        self.start_t = {"fixation": 0, "stimulus": self.dt, "decision": (steps - 2) * self.dt}
        self.end_t = {"fixation": self.dt, "stimulus": (steps - 2) * self.dt, "decision": steps * self.dt}
        self.trial = {"ground_truth": np.int64(truth), "coh": np.float64(0.5)}
        return self.trial


def check_adapter(env):
    task = NeuroGymTask(env, N_batch=16, seed=0)
    assert (task.N_in, task.N_out, task.dt) == (env.observation_space.shape[0], env.action_space.n, env.dt)
    x, y, mask, p = task.generate_batch()
    for i, q in enumerate(p):
        length = q["length"]
        np.testing.assert_array_equal(x[i, :length], np.asarray(q["ob"])[:length])
        assert not x[i, length:].any() and mask[i, :length].all() and not mask[i, length:].any()
        np.testing.assert_array_equal(np.argmax(y[i, :length], axis=-1), np.asarray(q["gt"])[:length])
        assert q["choice"] == q["gt"][length - 1]
        assert "decision" in q["epochs"]
    # the same trials again from their parameters; the same seed, the same batch
    for a, b in zip(task.trials_from_params(p), (x, y, mask)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(NeuroGymTask(env, N_batch=16, seed=0).generate_batch()[:3], (x, y, mask)):
        np.testing.assert_array_equal(a, b)
    assert task.accuracy_function(y, y, mask) == 1.0
    assert task.accuracy_function(y, np.roll(y, 1, axis=-1), mask) == 0.0
    step = task.trial_function(task.dt * 2, p[0])
    np.testing.assert_array_equal(step[0], x[0, 2])
    return task


def test_neurogym_adapter_with_a_stand_in_environment():
    task = check_adapter(StandInTrialEnv())
    assert task.T == 9 * 20  # the longest of 50 trials
    assert task.generate_batch()[3][0]["info"]["ground_truth"] in (1, 2)
    with pytest.raises(TypeError, match="TrialEnv"):
        NeuroGymTask(object())


def test_neurogym_adapter_with_neurogym():
    try:
        import neurogym
    except ImportError:
        pytest.skip("neurogym is not installed: pip cannot add it to this environment cleanly (neurogym 2.3.1 pins "
                    "numpy==2.2.*, matplotlib==3.10.* and gymnasium==0.29.* and imports torch without declaring it; "
                    "2.2.0 pins numpy<2.2), so it is not an extra of this package; the adapter is tested with a "
                    "stand-in TrialEnv above")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's registration warnings about NeuroGym's metadata
        for name in ("GoNogo-v0", "PerceptualDecisionMaking-v0", "DelayMatchSample-v0"):
            check_adapter(neurogym.make(name, dt=20))
