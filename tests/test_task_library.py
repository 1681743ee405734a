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


def test_cdi_near_misses_the_old_rule_accepted():
    """Answering before the go signal, or never committing to an answer, scored as right under the
    old rule (argmax of the decision period's mean); both fail now, as in Mante et al. and NeuroGym."""
    task = ContextDependentIntegration(N_batch=300, seed=8)
    x, y, mask, p = task.generate_batch(noise=False)
    assert task.N_in == 5 and np.all(x[..., 4] == (mask[..., 0] > 0) * (y.max(axis=-1) == 0))  # fixation input
    deciding = y.max(axis=-1, keepdims=True) > 0
    old_choice = np.argmax((y * deciding).mean(axis=1), axis=-1)
    early = y.copy()
    for i, q in enumerate(p):  # the choice output goes up during the delay, before the go signal
        start, end = q["epochs"]["delay"]
        early[i, (task.times >= start) & (task.times < end), q["choice"]] = 0.8
    timid = y * 0.4  # the right ordering, but neither output ever exceeds 0.5
    for near_miss in (early, timid):
        assert np.all(np.argmax((near_miss * deciding).mean(axis=1), axis=-1) == old_choice)  # old: right
        assert task.accuracy_function(y, near_miss, mask) == 0.0                              # new: wrong
    assert task.accuracy_function(y, y, mask) == 1.0


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


def test_flip_flop_near_misses_the_old_rule_accepted():
    """The old rule scored the output's sign on 90 % of the steps: a faint echo of the memory
    (0.02 x the target) or a memory sagging towards 0 scored 1.0; both fail the tolerance now."""
    task = FlipFlop(N_batch=300, seed=9)
    x, y, mask, _ = task.generate_batch()
    counted = mask > 0

    def old_rule(out):
        right = (np.sign(out) == np.sign(y)) & counted
        fraction = np.where(counted.sum(1) > 0, right.sum(1) / np.maximum(counted.sum(1), 1), 1.0)
        return np.all(fraction >= 0.9, axis=-1)

    faint = 0.02 * y
    sagging = y * np.exp(-np.arange(task.N_steps) * task.dt / 400.0)[None, :, None]  # decays from the start
    for near_miss in (faint, sagging):
        assert old_rule(near_miss).mean() > 0.5
        assert task.accuracy_function(y, near_miss, mask) < 0.05
    # flipping 40 ms late is within the settle time; 80 ms late is not
    for lag, expected in ((4, 1.0), (8, 0.0)):
        late = np.concatenate([np.zeros_like(y[:, :lag]), y[:, :-lag]], axis=1)
        has_flip = (np.abs(np.diff(y, axis=1)) > 0).any(axis=(1, 2)) | (y[:, 0] != 0).any(axis=-1)
        assert np.mean(task.trial_correct(y, late, mask)[has_flip]) == expected
    assert task.chance_level < 0.01
    with pytest.raises(ParameterError, match="tolerance"):
        FlipFlop(tolerance=0.0)


# ------------------------------------------------------------------ ready-set-go
def _respond_after_set(y, mask, dt, delays):
    """Outputs that step to 1 ``delays[i]`` ms after Set (the first masked step) of each trial."""
    out = np.zeros_like(y)
    set_step = np.argmax(mask[..., 0] > 0, axis=1)
    for i, (s, d) in enumerate(zip(set_step, np.broadcast_to(delays, set_step.shape))):
        out[i, s + int(np.ceil(d / dt - 1e-9)):] = 1
    return out


def test_ready_set_go_scores_the_produced_interval():
    task = ReadySetGo(N_batch=40, seed=3, interval=(500.0, 1000.0), tolerance=0.15)
    x, y, mask, p = task.generate_batch(noise=False)
    interval = np.array([q["interval"] for q in p])
    assert 500 <= interval.min() and interval.max() <= 1000
    produced = task.produced_interval(y, y, mask)
    assert np.all(np.abs(produced - interval) < task.dt)
    # Ready and Set are `interval` apart
    ready = np.argmax(x[..., 0] > 0, axis=1) * task.dt
    set_ = np.argmax(x[..., 1] > 0, axis=1) * task.dt
    assert np.all(np.abs(set_ - ready - interval) < task.dt)
    assert task.accuracy_function(y, _respond_after_set(y, mask, task.dt, interval * 1.08), mask) == 1.0
    assert task.accuracy_function(y, _respond_after_set(y, mask, task.dt, interval * 1.3), mask) == 0.0
    assert np.all(np.isnan(task.produced_interval(np.zeros_like(y), y, mask)))
    with pytest.raises(ParameterError, match="interval"):
        ReadySetGo(interval=(40.0, 600.0))
    for bad in ("medium", 0.0, -5.0, (0.0, 100.0), (900.0, 500.0)):
        with pytest.raises(ParameterError, match="interval"):
            ReadySetGo(interval=bad)


def test_ready_set_go_draws_jazayeri_and_shadlens_priors():
    for name, (low, high) in {"short": (494, 847), "intermediate": (671, 1023), "long": (847, 1200)}.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the long prior needs T > 2500 ms
            task = ReadySetGo(N_batch=3000, interval=name, seed=0)
        drawn = np.array([q["interval"] for q in task.generate_batch()[3]])
        values = np.unique(drawn)
        np.testing.assert_allclose(values, np.linspace(low, high, 11), atol=0.05)  # 11 equally spaced values
        counts = np.bincount(np.searchsorted(values, drawn))
        assert counts.min() > 200  # each drawn about 1/11 of the time
    assert ReadySetGo().interval == "short"  # the default is the paper's short prior


def test_ready_set_go_near_miss_the_old_rule_accepted():
    """A production 12 % late: the old default (tolerance 0.15) accepted it, the new one (0.1) does not;
    and a fixed production at the prior's mean, which ignores t_s, scores at most the stated chance."""
    task = ReadySetGo(N_batch=2000, seed=4)
    _, y, mask, p = task.generate_batch(noise=False)
    interval = np.array([q["interval"] for q in p])
    late = _respond_after_set(y, mask, task.dt, interval * 1.12)
    produced, sample = task.produced_interval(late, y, mask), interval
    assert np.all(np.abs(produced - sample) <= 0.15 * sample + task.dt)  # the old rule: right
    assert task.accuracy_function(y, late, mask) == 0.0                 # the new rule: wrong
    fixed = _respond_after_set(y, mask, task.dt, np.full(interval.shape, interval.mean()))
    assert task.accuracy_function(y, fixed, mask) <= task.chance_level + 0.02
    assert 0.4 < task.chance_level < 0.5  # short prior, tolerance 0.1: 5 of its 11 values


# ------------------------------------------------------------------ delayed match-to-sample
def test_match_trials_repeat_the_sample_and_non_match_trials_do_not():
    task = DelayedMatchToSample(N_batch=1000, n_stimuli=5, seed=4)
    assert (task.N_in, task.N_out) == (6, 2)  # five objects and the fixation point
    p = task.generate_batch()[3]
    match = np.array([q["match"] for q in p]).astype(bool)
    sample = np.array([q["sample_stimulus"] for q in p])
    test = np.array([q["test_stimulus"] for q in p])
    assert 0.45 < match.mean() < 0.55
    assert np.all(test[match] == sample[match]) and np.all(test[~match] != sample[~match])
    assert set(test[~match]) == set(range(5))
    np.testing.assert_array_equal([q["choice"] for q in p], (~match).astype(int))
    for bad in (dict(n_stimuli=1), dict(sample=0.0), dict(test=0.0), dict(decision=0.0), dict(mode="abba"),
                dict(max_nonmatches=0)):
        with pytest.raises(ParameterError, match=next(iter(bad))):
            DelayedMatchToSample(**bad)


def test_miller_sequences_put_non_matches_before_the_match():
    task = DelayedMatchToSample(N_batch=2000, mode="sequence", max_nonmatches=3, T=3300, seed=5)
    x, y, mask, p = task.generate_batch(noise=False)
    n_tests = np.array([q["n_tests"] for q in p])
    np.testing.assert_array_equal(np.unique(n_tests), [1, 2, 3, 4])  # 0 to 3 non-matches, then the match
    assert np.bincount(n_tests)[1:].min() > 400
    assert task.chance_level == 0.25
    for i in range(50):
        q = p[i]
        shown = [o for o in q["nonmatches"] if o >= 0]
        assert len(shown) == q["n_tests"] - 1 and q["sample_stimulus"] not in shown
        # the objects after the delay, in order: each non-match, then the sample again
        on = x[i, :, :4].any(axis=1)
        starts = np.flatnonzero(on & ~np.r_[False, on[:-1]])
        order = [int(np.argmax(x[i, s, :4])) for s in starts]
        assert order == [q["sample_stimulus"]] + shown + [q["sample_stimulus"]]
        # the response window opens with the match, and the fixation point never goes off
        window = np.flatnonzero(y[i, :, 0] > 0)
        assert window[0] == starts[-1] and np.all(x[i, mask[i, :, 0] > 0, 4] == 1)
    assert task.accuracy_function(y, y, mask) == 1.0


def test_dms_near_misses_the_old_rule_accepted():
    """The old rule scored only the answer (argmax from the test's onset): an answer given during
    the delay, before any test was shown, scored as right; so did answering "match" at a
    non-match of a sequence.  Both fail now."""
    task = DelayedMatchToSample(N_batch=200, seed=6)
    _, y, mask, p = task.generate_batch(noise=False)
    t = task.times
    early = y.copy()
    for i, q in enumerate(p):  # the answer already during the delay
        start, end = q["epochs"]["delay"]
        early[i, (t >= start) & (t < end)] = y[i, (t >= end)][0]
    answering = (y.max(axis=-1, keepdims=True) > 0)  # the old mask: from the test's onset
    old_choice = np.argmax((early * answering).mean(axis=1), axis=-1)
    assert np.all(old_choice == [q["choice"] for q in p])  # the old rule: every trial right
    assert task.accuracy_function(y, early, mask) == 0.0    # the new rule: fixation broken
    assert task.accuracy_function(y, y, mask) == 1.0

    seq = DelayedMatchToSample(N_batch=400, mode="sequence", T=3300, seed=7)
    _, y, mask, p = seq.generate_batch(noise=False)
    t = seq.times
    with_nonmatch = np.array([q["n_tests"] > 1 for q in p])
    false_alarm = y.copy()
    for i in np.flatnonzero(with_nonmatch):  # "match" during the first (non-matching) test object
        start, end = p[i]["epochs"]["test_0"]
        false_alarm[i, (t >= start) & (t < end), 0] = 1.0
    correct = seq.trial_correct(y, false_alarm, mask)
    assert not correct[with_nonmatch].any() and correct[~with_nonmatch].all()


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


def test_pro_anti_near_miss_the_old_rule_accepted():
    """Breaking fixation for 100 ms during the stimulus kept the *mean* fixation output above 0.5,
    which the old rule checked; Yang et al. fail a trial that breaks fixation at any step."""
    task = ProAntiSaccade(N_batch=200, seed=10)
    _, y, mask, p = task.generate_batch(noise=False)
    glance = y.copy()
    for i, q in enumerate(p):
        start, _ = q["epochs"]["stimulus"]
        glance[i, (task.times >= start) & (task.times < start + 100), 0] = 0.0
    before_go = (mask[..., 0] > 0) & (y[..., 0] > 0.5)
    old_mean = (glance[..., 0] * before_go).sum(1) / before_go.sum(1)
    assert np.all(old_mean > 0.5)                            # the old rule: fixation "held"
    assert task.accuracy_function(y, glance, mask) == 0.0    # the new rule: broken
    assert task.accuracy_function(y, y, mask) == 1.0
    assert task.chance_level == pytest.approx(0.2)


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
    # the network leaks at NeuroGym's default dt of 100 ms (alpha 0.5, not 1); at dt 20 tau is 100 ms
    assert NeuroGymTask(StandInTrialEnv(dt=100)).alpha == 0.5 and NeuroGymTask(StandInTrialEnv(dt=20)).tau == 100
    assert NeuroGymTask(StandInTrialEnv(dt=100), tau=1000).alpha == 0.1


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
