"""Tests of the tasks layer: one generic suite that every built-in task passes, then
task-specific checks, the PsychRNN-style subclass fallback and argument validation."""
import copy
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.params import TASK_CORE_PARAMS, Parameter, validate_network_params
from psychrnn_widgets.tasks import (
    BUILTIN_TASKS,
    ContextDependentIntegration,
    DelayedDiscrimination,
    DelayedMatchToSample,
    FlipFlop,
    GoNoGo,
    MatchToCategory,
    MultiTask,
    PerceptualDiscrimination,
    ProAntiSaccade,
    ReadySetGo,
    Task,
    TaskParameter,
    one_hot,
)
from psychrnn_widgets.tasks.task import _vectorised_paths


def psychrnn_std(dt):
    """PsychRNN's input-noise std for stim_noise = 0.1, written independently."""
    return np.sqrt(2 * 0.01 * np.sqrt(10 * dt)) * 0.1


def white_std(dt, tau=100):
    """Per-step std of white input noise of strength 0.1 (Yang et al. 2019), written independently."""
    return 0.1 * np.sqrt(2 * tau / dt)


# --------------------------------------------------------------------------------------
# independent restatements of each task's specification (noise-free x, y and mask)
# --------------------------------------------------------------------------------------
def blank(task, t):
    return np.zeros((t.size, task.N_in)), np.zeros((t.size, task.N_out)), np.zeros((t.size, task.N_out))


def expected_pd(task, params, t):
    x, y, m = blank(task, t)
    on, off = params["onset_time"], params["onset_time"] + params["stim_duration"]
    d = params["direction"]
    stim = (t > on) & (t < off)
    x[stim, d] = 1 + params["coherence"]
    x[stim, 1 - d] = 1
    resp = t > off + 20
    y[resp, d] = 1.0
    y[resp, 1 - d] = 0.2
    m[t >= off] = 1
    return x, y, m


def _scale(f):
    return 0.4 + 0.8 * (f - 10) / 24, 0.4 + 0.8 * (34 - f) / 24


def expected_dd(task, params, t):
    x, y, m = blank(task, t)
    s1 = (t >= params["stimulus_1"]) & (t < params["delay"])
    s2 = (t >= params["stimulus_2"]) & (t < params["decision"])
    dec = (t >= params["decision"]) & (t < params["end"])
    x[s1] = _scale(params["f1"])
    x[s2] = _scale(params["f2"])
    c = params["choice"]
    y[dec, c] = 1.0
    y[dec, 1 - c] = 0.2
    m[dec] = 1
    return x, y, m


def expected_mtc(task, params, t):
    x, y, m = blank(task, t)
    pref = np.linspace(0, 2 * np.pi, task.N_in)
    d = (pref - params["angle"] + np.pi) % (2 * np.pi) - np.pi  # wrapped distance
    bump = np.exp(-d**2 / 2) / np.sqrt(2 * np.pi)
    on = params["onset_time"]
    stim_end = on + params["input_dur"]
    x[(t >= on) & (t < stim_end)] = bump
    resp = (t >= stim_end) & (t < stim_end + params["output_dur"])
    y[resp, params["category"]] = 1.0
    m[resp] = 1
    return x, y, m


def edges(params, names):
    """Cumulative period edges (ms) from the durations ``names`` of a trial."""
    return np.concatenate([[0.0], np.cumsum([params[k] for k in names])])


def expected_cdi(task, params, t):
    x, y, m = blank(task, t)
    f, s, d, e = edges(params, ("fixation", "stimulus", "delay", "decision"))[1:]
    x[:, 2 + params["context"]] = 1
    x[t < d, 4] = 1  # fixation until the go signal
    stim = (t >= f) & (t < s)
    x[stim, 0] += params["motion_coherence"]
    x[stim, 1] += params["color_coherence"]
    relevant = (params["motion_coherence"], params["color_coherence"])[params["context"]]
    c = int(relevant > 0)
    dec = (t >= d) & (t < e)
    y[dec, c], y[dec, 1 - c] = 1.0, 0.2
    m[t < e] = 1  # hold (target 0) before the go signal, respond after it
    return x, y, m


def expected_gonogo(task, params, t):
    x, y, m = blank(task, t)
    f, s, d, e = edges(params, ("fixation", "stimulus", "delay", "decision"))[1:]
    x[t < d, 0] = 1
    x[(t >= f) & (t < s), 2 if params["go"] else 1] = 1
    y[(t >= d) & (t < e), 0] = params["go"]
    m[t < e] = 1
    return x, y, m


def expected_flipflop(task, params, t):
    x, y, m = blank(task, t)
    interval, duration = task.interval, task.pulse_duration
    held = np.zeros(task.N_in)
    pulses = np.asarray(params["pulses"])
    for k, pulse in enumerate(pulses):
        start = k * interval
        x[(t >= start) & (t < start + duration)] += pulse
        held = np.where(pulse != 0, pulse, held)
        slot = (t >= start) & ((t < start + interval) if k < len(pulses) - 1 else True)
        y[slot] = held
        m[slot] = held != 0
    return x, y, m


def expected_rsg(task, params, t):
    x, y, m = blank(task, t)
    ready, ts, cue = params["fixation"], params["interval"], task.cue_duration
    x[(t >= ready) & (t < ready + cue), 0] = 1
    x[(t >= ready + ts) & (t < ready + ts + cue), 1] = 1
    y[t >= ready + 2 * ts, 0] = 1
    m[t >= ready + ts] = 1
    return x, y, m


def expected_dms(task, params, t):
    x, y, m = blank(task, t)
    fix = task.N_in - 1
    c = 0 if params["match"] else 1
    if task.mode == "two_choice":
        f, s, d, te, e = edges(params, ("fixation", "sample", "delay", "test", "decision"))[1:]
        x[(t >= f) & (t < s), params["sample_stimulus"]] = 1
        x[(t >= d) & (t < te), params["test_stimulus"]] += 1
        x[t < e, fix] = 1
        dec = (t >= d) & (t < e)  # from the test's onset
    else:
        f, s, d = edges(params, ("fixation", "sample", "delay"))[1:]
        x[(t >= f) & (t < s), params["sample_stimulus"]] = 1
        shown = [q for q in params["nonmatches"] if q >= 0] + [params["sample_stimulus"]]
        start = d
        for j, item in enumerate(shown):
            x[(t >= start) & (t < start + params["test"]), item] += 1
            start += params["test"]
            if j < len(shown) - 1:
                start += params["gap"]
        match_on, e = start - params["test"], start + params["decision"]
        x[t < e, fix] = 1
        dec = (t >= match_on) & (t < e)  # the match and the response window after it
    y[dec, c], y[dec, 1 - c] = 1.0, 0.2
    m[t < e] = 1
    return x, y, m


def _ring(n, angle):
    pref = 2 * np.pi * np.arange(n) / n
    d = (pref - angle + np.pi) % (2 * np.pi) - np.pi
    return np.exp(-d**2 / (2 * (2 * np.pi / n) ** 2))


def expected_proanti(task, params, t):
    x, y, m = blank(task, t)
    n = task.n_ring
    f, s, d, e = edges(params, ("fixation", "stimulus", "delay", "decision"))[1:]
    x[t < d, 0] = 1
    x[(t >= f) & (t < s), 1:n + 1] = _ring(n, params["stimulus_angle"])
    x[:, n + 1 + params["rule"]] = 1
    y[t < d, 0] = 1
    y[(t >= d) & (t < e), 1:] = _ring(n, params["stimulus_angle"] + np.pi * params["rule"])
    m[t < e] = 1
    return x, y, m


def expected_multi(task, params, t):
    x, y, m = blank(task, t)
    sub = task.tasks[params["task"]]
    sx, sy, sm = SPECS[type(sub).__name__][1](sub, params["params"], t)
    x[:, :sub.N_in], y[:, :sub.N_out], m[:, :sub.N_out] = sx, sy, sm
    x[:, task.N_in - len(task.tasks) + params["task"]] = 1
    return x, y, m


def factory(cls):
    """``make(dt=10, N_batch=16, seed=0, T=None)`` for a task class, from its declared defaults."""
    def make(dt=10, N_batch=16, seed=0, T=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # T shorter than a task's longest trial is tested elsewhere
            task = cls.with_defaults(dt=dt, tau=100, N_batch=N_batch, seed=seed)
            if T is not None:
                task.T = T
        return task
    return make


def sequence_factory(dt=10, N_batch=16, seed=0, T=None):
    """DelayedMatchToSample in Miller's sequence form (long enough for its longest trial)."""
    task = DelayedMatchToSample(dt=dt, tau=100, N_batch=N_batch, seed=seed, mode="sequence", T=3300)
    if T is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            task.T = T
    return task


# name -> (factory, expected noise-free (x, y, mask) of one trial, (noisy input channels, noise std of dt))
SPECS = {
    "PerceptualDiscrimination": (factory(PerceptualDiscrimination), expected_pd, (None, psychrnn_std)),
    "DelayedDiscrimination": (factory(DelayedDiscrimination), expected_dd, (None, psychrnn_std)),
    "MatchToCategory": (factory(MatchToCategory), expected_mtc, (None, lambda dt: 0.1 / (2 * dt))),
    "ContextDependentIntegration": (factory(ContextDependentIntegration), expected_cdi, ((0, 1), white_std)),
    "GoNoGo": (factory(GoNoGo), expected_gonogo, ((1, 2), white_std)),
    "FlipFlop": (factory(FlipFlop), expected_flipflop, None),
    "ReadySetGo": (factory(ReadySetGo), expected_rsg, (None, white_std)),
    "DelayedMatchToSample": (factory(DelayedMatchToSample), expected_dms, ((0, 1, 2, 3), white_std)),
    "DelayedMatchToSample(sequence)": (sequence_factory, expected_dms, ((0, 1, 2, 3), white_std)),
    "ProAntiSaccade": (factory(ProAntiSaccade), expected_proanti, (tuple(range(1, 9)), white_std)),
    "MultiTask": (factory(MultiTask), expected_multi, "mixed"),  # each task's own noise
}


@pytest.fixture(params=sorted(SPECS))
def spec(request):
    return SPECS[request.param]


def test_every_builtin_task_is_under_test():
    assert set(BUILTIN_TASKS) == {name.split("(")[0] for name in SPECS}
    import psychrnn_widgets

    for name, cls in BUILTIN_TASKS.items():
        assert getattr(psychrnn_widgets, name) is cls  # public, resolved lazily from the top level
        assert cls.__doc__ and len(cls.__doc__.split()) > 40  # documented (the module cites the paper)
        assert sys.modules[cls.__module__].__doc__


# --------------------------------------------------------------------------------------
# the generic suite
# --------------------------------------------------------------------------------------
def test_shapes_dtypes_and_params(spec):
    task = spec[0](N_batch=7)
    x, y, mask, params = task.generate_batch()
    assert x.shape == (7, task.N_steps, task.N_in)
    assert y.shape == mask.shape == (7, task.N_steps, task.N_out)
    assert task.N_steps == int(np.ceil(task.T / task.dt))
    for a in (x, y, mask):
        assert a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable
        assert np.all(np.isfinite(a))
    assert params.dtype == object and params.shape == (7,)
    assert all(isinstance(p, dict) and "epochs" in p for p in params)
    assert np.all(mask >= 0)
    # explicit batch size, and the batch generator honours an edited N_batch
    assert task.generate_batch(N_batch=3)[0].shape[0] == 3
    task.N_batch = 5
    assert next(task.batch_generator())[0].shape[0] == 5


def test_windows_match_the_specification(spec):
    make, expected, _ = spec
    task = make(N_batch=40, seed=3)
    x, y, mask, params = task.generate_batch(noise=False)
    t = np.arange(task.N_steps) * task.dt
    for i, p in enumerate(params):
        ex, ey, em = expected(task, p, t)
        np.testing.assert_allclose(x[i], ex, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(y[i], ey, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(mask[i], em)
        # the epochs handed back for analysis are the periods (in ms, within the trial)
        for start, end in p["epochs"].values():
            assert 0 <= start <= end <= task.N_steps * task.dt
    # a noisy rendering of the same trials differs only by the noise
    xn, yn, mn = task.trials_from_params(params)
    np.testing.assert_array_equal(yn, y)
    np.testing.assert_array_equal(mn, mask)
    assert not np.array_equal(xn, x) or spec[2] is None


def test_same_seed_same_batch_different_seed_different(spec):
    make = spec[0]
    a = make(seed=11).generate_batch()
    b = make(seed=11).generate_batch()
    c = make(seed=12).generate_batch()
    for u, v in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(u, v)
    assert pickle.dumps(list(a[3])) == pickle.dumps(list(b[3]))
    assert not np.array_equal(a[0], c[0]) or not np.array_equal(a[1], c[1])
    # a Generator works as seed, and set_seed restarts the stream
    g = make(seed=np.random.default_rng(11)).generate_batch()
    np.testing.assert_array_equal(g[0], a[0])
    task = make(seed=0)
    task.generate_batch()
    task.set_seed(11)
    np.testing.assert_array_equal(task.generate_batch()[0], a[0])


def test_unseeded_tasks_follow_numpys_global_seed(spec):
    make = spec[0]
    np.random.seed(2020)
    a = make(seed=None).generate_batch()
    np.random.seed(2020)
    b = make(seed=None).generate_batch()
    np.random.seed(2021)
    c = make(seed=None).generate_batch()
    for u, v in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("dt", [5, 10, 20])
def test_timing_is_in_ms_whatever_dt(spec, dt):
    make = spec[0]
    params = make(dt=10, N_batch=12, seed=5).generate_batch()[3]
    ref = make(dt=1, N_batch=1).trials_from_params(params, noise=False)
    task = make(dt=dt, N_batch=1)
    assert task.N_steps == int(np.ceil(task.T / dt))
    assert task.alpha == pytest.approx(dt / 100)
    rendered = task.trials_from_params(params, noise=False)
    for ref_a, a in zip(ref, rendered):
        # step k at this dt is the same moment (k*dt ms) as step k*dt at dt = 1 ms
        np.testing.assert_array_equal(a, ref_a[:, ::dt])
    # so every window edge lands within one dt of where it is at 1 ms resolution
    mask_ref, mask = ref[2].max(axis=-1), rendered[2].max(axis=-1)
    for i in range(len(params)):
        on_ref, on = np.flatnonzero(mask_ref[i]), np.flatnonzero(mask[i]) * dt
        if on_ref.size >= dt:
            assert 0 <= on[0] - on_ref[0] < dt and 0 <= on_ref[-1] - on[-1] < dt


def test_accuracy_on_targets_and_wrong_outputs(spec):
    task = spec[0](N_batch=80, seed=2)
    x, y, mask, params = task.generate_batch()
    keep = mask.sum(axis=(1, 2)) > 0  # a trial whose response window has no step cannot be scored
    assert keep.sum() > 70
    y, mask = y[keep], mask[keep]
    n = len(y)
    extra = {"trial_params": params[keep]} if isinstance(task, MultiTask) else {}
    acc = task.accuracy_function(y, y, mask, **extra)
    assert isinstance(acc, float) and acc == 1.0
    assert task.accuracy_function(y, 1 - y, mask, **extra) == 0.0  # every task's wrong answer
    if task.scored_by_choice and task.N_out == 2:
        assert task.accuracy_function(y, y[..., ::-1], mask) == 0.0  # the other choice
    assert task.accuracy_function(y, np.zeros_like(y), mask, **extra) <= 0.6
    # half right, half wrong
    half = y.copy()
    half[::2] = 1 - y[::2]
    assert task.accuracy_function(y, half, mask, **extra) == pytest.approx(1 - np.ceil(n / 2) / n)
    correct = task.trial_correct(y, half, mask, **extra)
    assert correct.dtype == bool and correct.tolist() == [i % 2 == 1 for i in range(n)]


def _window(task, params, period):
    """(B, N_steps) bool: the steps of ``period`` in each trial (from the trials' epochs)."""
    t = task.times
    return np.array([(t >= q["epochs"][period][0]) & (t < q["epochs"][period][1]) for q in params])


def _random_but_well_timed(task, y, mask, params, rng):
    """Answers that obey the task's cues and timing but ignore the stimulus: a coin decides."""
    name = type(task).__name__
    n = len(y)
    coin = rng.random(n) < 0.5
    if name in ("PerceptualDiscrimination", "DelayedDiscrimination", "MatchToCategory",
                "ContextDependentIntegration") or (name == "DelayedMatchToSample" and task.mode == "two_choice"):
        return [np.where(coin[:, None, None], y[..., ::-1], y)]  # the other alternative half the time
    if name == "DelayedMatchToSample":  # respond "match" at a fixed position of the sequence
        answers = []
        for j in range(task.max_nonmatches + 1):
            out = np.zeros_like(y)
            start = np.array([q["epochs"][f"test_{j}"][0] for q in params])
            for i, s0 in enumerate(start):
                window = (task.times >= s0) & (task.times < s0 + task.test + task.decision)
                out[i, window] = (1.0, 0.2)
            answers.append(out)
        return answers
    if name == "GoNoGo":
        return [(coin[:, None] & _window(task, params, "decision"))[..., None].astype(np.float32)]
    if name == "ProAntiSaccade":
        out = y.copy()
        deciding = _window(task, params, "decision")
        ring = task.ring(rng.uniform(0, 2 * np.pi, n))
        out[..., 1:] = deciding[..., None] * ring[:, None, :]
        return [out]
    if name == "FlipFlop":  # a random but constant memory per bit
        return [np.broadcast_to(rng.choice([-1.0, 1.0], size=(n, 1, task.N_out)), y.shape).copy()]
    if name == "ReadySetGo":  # respond the prior's mean interval after Set, whatever t_s was
        mean = np.mean([q["interval"] for q in params])
        out = np.zeros_like(y)
        set_step = np.argmax(mask[..., 0] > 0, axis=1)
        for i, s0 in enumerate(set_step):
            out[i, s0 + int(round(mean / task.dt)):] = 1.0
        return [out]
    return []  # MultiTask: the generic strategies below


def test_trivial_strategies_score_at_chance(spec):
    """Outputs that ignore the stimulus -- constants, the batch's mean target, another trial's
    answer, and well-timed random answers -- score no more than the task's stated chance level."""
    task = spec[0](N_batch=2000, seed=31)
    x, y, mask, params = task.generate_batch()
    chance = task.chance_level
    assert chance is not None and 0.0 <= chance < 1.0
    extra = {"trial_params": params} if isinstance(task, MultiTask) else {}
    rng = np.random.default_rng(0)
    strategies = {f"constant {c}": np.full_like(y, c) for c in (0.0, 0.5, 1.0, -1.0)}
    strategies["mean target"] = np.broadcast_to(y.mean(axis=0), y.shape).copy()
    strategies["another trial's answer"] = y[rng.permutation(len(y))]
    for k, out in enumerate(_random_but_well_timed(task, y, mask, params, rng)):
        strategies[f"well-timed random {k}"] = out
    scores = {name: task.accuracy_function(y, out, mask, **extra) for name, out in strategies.items()}
    too_good = {name: score for name, score in scores.items() if score > chance + 0.05}
    assert not too_good, f"chance level {chance:.3f}; these scored above it: {too_good}"
    assert task.accuracy_function(y, y, mask, **extra) == 1.0


def test_decoded_choice_is_the_noted_choice(spec):
    task = spec[0](N_batch=30, seed=6)
    x, y, mask, params = task.generate_batch()
    if "choice" not in params[0]:
        with pytest.raises(NotImplementedError):
            task.decode_choice(y, mask)
        return
    extra = {"trial_params": params} if isinstance(task, MultiTask) else {}
    decoded = task.decode_choice(y, mask, **extra)
    noted = np.array([p["choice"] for p in params])
    if isinstance(task, MultiTask):  # tasks without a choice decode to -1
        keep = decoded >= 0
        decoded, noted = decoded[keep], noted[keep]
    np.testing.assert_array_equal(decoded, noted)


def test_trial_function_equals_the_vectorised_batch(spec, monkeypatch):
    task = spec[0](N_batch=3, seed=4)
    assert _vectorised_paths(type(task)) == (True, True)

    def no_time_loop(*args, **kwargs):
        raise AssertionError("the vectorised path called trial_function")

    monkeypatch.setattr(task, "trial_function", no_time_loop)
    x, y, mask, params = task.generate_batch(noise=False)
    monkeypatch.undo()
    for i, p in enumerate(params):
        steps = [task.trial_function(k * task.dt, p) for k in range(task.N_steps)]
        for j, batch_array in enumerate((x, y, mask)):
            per_step = np.array([s[j] for s in steps])
            assert per_step.shape == batch_array[i].shape
            if j == 0 and spec[2] is not None:
                continue  # trial_function draws noise; compared noise-free below
            np.testing.assert_array_equal(per_step.astype(np.float32), batch_array[i])
        for a, b in zip(task.generate_trial(p, noise=False), (x[i], y[i], mask[i])):
            np.testing.assert_array_equal(a, b)
    # PsychRNN-style per-trial parameters have the same keys and kinds
    single = task.generate_trial_params(1, 0)
    alike = [p for p in task.generate_batch(N_batch=30)[3] if p.get("task") == single.get("task")]
    assert set(single) == set(alike[0])
    assert all(type(single[k]) is type(alike[0][k]) for k in single)


def test_input_noise_std_matches_formula(spec):
    if not isinstance(spec[2], tuple):
        pytest.skip("no input noise of its own (FlipFlop) or each task's own (MultiTask)")
    make, _, (channels, std_of) = spec
    for dt in (10, 20):
        task = make(dt=dt, N_batch=200, seed=8)
        x, _, _, params = task.generate_batch()
        clean = task.trials_from_params(params, noise=False)[0]
        noise = (x - clean).astype(np.float64)
        noisy = list(range(task.N_in)) if channels is None else list(channels)
        quiet = [c for c in range(task.N_in) if c not in noisy]
        assert noise[..., noisy].std() == pytest.approx(std_of(dt), rel=0.03)
        assert abs(noise[..., noisy].mean()) < 0.02 * std_of(dt)
        assert np.all(noise[..., quiet] == 0)
        # independent across channels and time
        assert abs(np.corrcoef(noise[..., noisy[0]].ravel(), noise[..., noisy[1]].ravel())[0, 1]) < 0.02
        assert abs(np.corrcoef(noise[:, 1:, noisy[0]].ravel(), noise[:, :-1, noisy[0]].ravel())[0, 1]) < 0.02


def test_get_trial_batch_advances_one_persistent_generator(spec):
    make = spec[0]
    task, twin = make(seed=21), make(seed=21)
    gen = twin.batch_generator()
    first, second = task.get_trial_batch(), task.get_trial_batch()
    assert not np.array_equal(first[1], second[1]) or not np.array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[0], next(gen)[0])
    np.testing.assert_array_equal(second[0], next(gen)[0])
    task.set_seed(21)  # restarts both the stream and the generator
    np.testing.assert_array_equal(task.get_trial_batch()[0], first[0])


def test_task_pickles_and_copies_after_use(spec):
    task = spec[0](seed=4)
    task.get_trial_batch()
    clone = pickle.loads(pickle.dumps(task))
    twin = copy.deepcopy(task)
    expected = task.generate_batch()[0]
    np.testing.assert_array_equal(clone.generate_batch()[0], expected)
    np.testing.assert_array_equal(twin.generate_batch()[0], expected)
    assert pickle.dumps(clone.get_task_params()) == pickle.dumps(task.get_task_params())


def test_get_task_params_is_a_plain_copy(spec):
    task = spec[0](seed=1)
    params = task.get_task_params()
    for key, value in dict(N_in=task.N_in, N_out=task.N_out, dt=10, tau=100, T=task.T,
                           N_batch=16, alpha=0.1, N_steps=int(np.ceil(task.T / 10))).items():
        assert params[key] == value
    assert "rng" not in params and "seed" not in params
    assert not any(k.startswith("_") for k in params)
    assert not any(isinstance(v, (np.random.Generator, np.random.RandomState, Task)) for v in params.values())
    for value in params.values():
        if isinstance(value, list):
            value.append("garbage")
    params["T"] = 1
    fresh = task.get_task_params()
    assert fresh is not params and fresh["T"] == task.T
    assert not any(isinstance(v, list) and "garbage" in v for v in fresh.values())
    assert set(fresh) == set(params)


def test_task_params_are_declared_and_never_unknown_network_keys(spec):
    task = spec[0](seed=1)
    declared = type(task).parameters()
    params = task.get_task_params()
    # every parameter of a built-in task is declared (type, range, help, label), the core ones reused
    assert set(params) - {"alpha", "N_steps"} <= set(declared)
    for name, parameter in declared.items():
        assert parameter.help and parameter.display_label, name
        if name in TASK_CORE_PARAMS:
            assert parameter is TASK_CORE_PARAMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_network_params({**params, "name": "n", "N_rec": 10})


def test_bad_values_of_every_declared_parameter_are_refused(spec):
    task = spec[0](seed=1)
    before = task.get_task_params()
    for name, parameter in type(task).parameters().items():
        if parameter.kind == "object":
            examples = [float("nan"), float("inf"), "3", [object()], -1]
        else:
            examples = parameter.invalid_examples()
        for bad in examples:
            with pytest.raises(ParameterError, match=name) as info:
                setattr(task, name, bad)
            assert type(task).__name__ in str(info.value)
    assert pickle.dumps(task.get_task_params()) == pickle.dumps(before)  # refused values change nothing
    with pytest.raises(ParameterError, match="dt"):  # alpha = dt / tau > 1
        task.dt = 2 * task.tau


def test_derived_values_follow_edits(spec):
    task = spec[0]()
    task.T = 1000
    task.dt = 20
    task.tau = 50
    assert (task.N_steps, task.alpha) == (50, 0.4)
    assert task.generate_batch()[0].shape[1] == 50
    assert task.get_task_params()["N_steps"] == 50
    task.N_steps = 3  # PsychRNN tasks may assign it: an override, until T or dt is set again
    assert task.generate_batch()[0].shape[1] == 3
    assert task.get_task_params()["N_steps"] == 3
    task.T = 1000
    assert task.N_steps == 50
    with pytest.raises(ParameterError, match="dt"):
        task.dt = 0


def test_n_steps_rounds_up(spec):
    task = spec[0](T=2005)
    assert task.N_steps == 201
    assert task.generate_batch()[0].shape[1] == 201


def test_conditions_turns_a_batch_into_columns(spec):
    task = spec[0](N_batch=9, seed=3)
    params = task.generate_batch()[3]
    columns = Task.conditions(params)
    for name, (start, end) in params[0]["epochs"].items():
        assert columns[name + "_start"][0] == start and columns[name + "_end"][0] == end
    for key in ("choice", "evidence"):
        if any(key in p for p in params):
            np.testing.assert_array_equal(columns[key], [p.get(key, np.nan) for p in params])
    assert all(len(v) == 9 for v in columns.values())


def test_subclass_overriding_trial_function_is_not_bypassed():
    class Silent(PerceptualDiscrimination):
        def trial_function(self, time, params):
            x, y, m = super().trial_function(time, params)
            return x * 0 + 7, y, m

    task = Silent(dt=20, tau=100, T=400, N_batch=3, seed=0)
    assert _vectorised_paths(Silent) == (True, False)
    x = task.generate_batch()[0]
    assert np.all(x == 7)


# --------------------------------------------------------------------------------------
# task-specific behaviour
# --------------------------------------------------------------------------------------
def test_pd_coherence_and_direction_sampling():
    task = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=400, seed=0)
    p = task.generate_batch()[3]
    coh = np.array([q["coherence"] for q in p])
    assert set(coh) == {0.1, 0.3, 0.5, 0.7}
    assert set(q["direction"] for q in p) == {0, 1}
    onset = np.array([q["onset_time"] for q in p])
    dur = np.array([q["stim_duration"] for q in p])
    assert onset.min() >= 0 and onset.max() < 1000 and onset.max() > 900
    assert dur.min() >= 250 and dur.max() < 750
    # direction and coherence are honoured when given (PsychRNN 1.0 ignores direction)
    fixed = PerceptualDiscrimination(10, 100, 2000, 50, coherence=0.25, direction=1, seed=0)
    x, y, mask, p = fixed.generate_batch(noise=False)
    assert all(q["direction"] == 1 and q["coherence"] == 0.25 for q in p)
    assert x[..., 1].max() == pytest.approx(1.25) and x[..., 0].max() == 1.0
    assert np.all(y[..., 1] >= y[..., 0])
    drawn = PerceptualDiscrimination(10, 100, 2000, 100, coherence=[0.0, 0.05], seed=0)
    assert {q["coherence"] for q in drawn.generate_batch()[3]} == {0.0, 0.05}


def test_pd_window_edges_on_the_grid():
    task = PerceptualDiscrimination(dt=10, tau=100, T=1500, N_batch=1)
    p = {"coherence": 0.5, "direction": 0, "stim_noise": 0.1, "onset_time": 500.0,
         "stim_duration": 300.0}
    x, y, mask = (a[0] for a in task.trials_from_params([p], noise=False))
    # stimulus strictly inside (500, 800); target strictly after 820; mask from 800 on
    assert x[50].tolist() == [0, 0] and x[51].tolist() == [1.5, 1.0]
    assert x[79].tolist() == [1.5, 1.0] and x[80].tolist() == [0, 0]
    assert mask[79].tolist() == [0, 0] and mask[80].tolist() == [1, 1]
    assert y[82].tolist() == [0, 0] and y[83].tolist() == pytest.approx([1.0, 0.2])
    assert np.all(mask[80:] == 1) and np.all(y[83:, 0] == 1)
    for a, b in zip((x, y, mask), task.generate_trial(p, noise=False)):
        np.testing.assert_array_equal(a, b)


def test_dd_window_edges_on_the_grid():
    task = DelayedDiscrimination(dt=10, tau=100, T=1000, N_batch=1)
    p = {"stimulus_1": 100.0, "delay": 300.0, "stimulus_2": 500.0, "decision": 600.0,
         "end": 800.0, "stim_noise": 0.1, "f1": 34, "f2": 10, "choice": 0}
    x, y, mask = (a[0] for a in task.trials_from_params([p], noise=False))
    assert np.all(x[:10] == 0) and np.all(x[30:50] == 0) and np.all(x[60:] == 0)
    np.testing.assert_allclose(x[10:30], np.tile([1.2, 0.4], (20, 1)), rtol=1e-6)
    np.testing.assert_allclose(x[50:60], np.tile([0.4, 1.2], (10, 1)), rtol=1e-6)
    assert np.all(mask[60:80] == 1) and mask.sum() == 40
    np.testing.assert_allclose(y[60:80], np.tile([1.0, 0.2], (20, 1)))
    for a, b in zip((x, y, mask), task.generate_trial(p, noise=False)):
        np.testing.assert_array_equal(a, b)


def test_pd_noise_std_value_at_dt_10():
    assert psychrnn_std(10) == pytest.approx(0.0447, abs=1e-4)


def test_dd_choice_and_fixed_epochs():
    task = DelayedDiscrimination(dt=10, tau=100, T=2000, N_batch=300, seed=0)
    p = task.generate_batch()[3]
    pairs = {(18, 10), (22, 14), (26, 18), (30, 22), (34, 26)}
    for q in p:
        assert (q["f1"], q["f2"]) in pairs or (q["f2"], q["f1"]) in pairs
        assert q["choice"] == (0 if q["f1"] > q["f2"] else 1)
        assert 0 <= q["stimulus_1"] <= q["delay"] <= q["stimulus_2"] <= q["decision"] <= q["end"] <= 2000
    assert {q["choice"] for q in p} == {0, 1}
    fixed = DelayedDiscrimination(10, 100, 2000, 5, onset_time=100, stim_duration_1=200,
                                  delay_duration=300, stim_duration_2=200,
                                  decision_duration=150, seed=0)
    q = fixed.generate_batch()[3][0]
    assert (q["stimulus_1"], q["delay"], q["stimulus_2"], q["decision"], q["end"]) == (
        100, 300, 600, 800, 950)
    mask = fixed.generate_batch()[2]
    assert np.all(mask[:, 80:95] == 1) and mask.sum() == 5 * 15 * 2


def test_mtc_category_ring_and_endpoint_quirk():
    task = MatchToCategory(dt=10, tau=100, T=2000, N_batch=200, N_in=16, N_out=4, seed=0)
    x, y, mask, p = task.generate_batch(noise=False)
    for i, q in enumerate(p):
        assert q["category"] == int(q["angle"] // (np.pi / 2))
        assert np.argmax(y[i].sum(axis=0)) == q["category"]
    # first and last channels share the preferred angle 0 == 2*pi (PsychRNN's linspace)
    np.testing.assert_array_equal(x[..., 0], x[..., -1])
    assert np.all(x[:, :20] == 0) and np.any(x[:, 20] != 0) and np.all(x[:, 120:] == 0)
    assert np.all(mask[:, 120:200] == 1) and np.all(mask[:, :120] == 0)
    with pytest.warns(UserWarning, match="response window"):
        MatchToCategory(dt=10, tau=100, T=1500, N_batch=2)


# --------------------------------------------------------------------------------------
# PsychRNN-style user task through the per-trial fallback
# --------------------------------------------------------------------------------------
class PulseTask(Task):
    """A PsychRNN-tutorial-style task: only generate_trial_params and trial_function."""

    def __init__(self, dt, tau, T, N_batch):
        super().__init__(1, 1, dt, tau, T, N_batch)

    def generate_trial_params(self, batch, trial):
        return {"batch": batch, "trial": trial, "amp": np.random.uniform(0.5, 1.5),
                "jitter": self.rng.uniform(0, 100)}

    def trial_function(self, time, params):
        on = 100 + params["jitter"] <= time < 300
        return (np.array([params["amp"] * on]), np.array([float(time >= 300)]),
                np.array([time >= 300]))


def test_psychrnn_style_subclass_works_through_fallback():
    task = PulseTask(dt=10, tau=100, T=500, N_batch=4)
    assert _vectorised_paths(PulseTask) == (False, False)
    x, y, mask, params = task.get_trial_batch()
    assert x.shape == (4, 50, 1) and x.dtype == y.dtype == mask.dtype == np.float32
    assert [p["batch"] for p in params] == [1] * 4 and [p["trial"] for p in params] == [0, 1, 2, 3]
    assert task.get_trial_batch()[3][0]["batch"] == 2
    task.set_seed(0)  # restarts the persistent generator: batch counter back to 1
    assert task.get_trial_batch()[3][0]["batch"] == 1
    for i, p in enumerate(params):
        on = (np.arange(50) * 10 >= 100 + p["jitter"]) & (np.arange(50) * 10 < 300)
        np.testing.assert_allclose(x[i, :, 0], p["amp"] * on, rtol=1e-6)
    np.testing.assert_array_equal(mask[:, 30:], 1)
    np.testing.assert_array_equal(task.trials_from_params(params)[0], x)
    assert task.get_task_params()["N_steps"] == 50
    # self.rng is what makes a user task reproducible
    task.set_seed(3)
    a = [p["jitter"] for p in task.generate_batch()[3]]
    task.set_seed(3)
    assert a == [p["jitter"] for p in task.generate_batch()[3]]
    with pytest.raises(NotImplementedError, match="accuracy_function"):
        task.accuracy_function(y, y, mask)
    with pytest.warns(UserWarning, match="stim_noise"):
        task.trials_from_params(params, noise=False)


class SignTask(Task):
    """A user's task in the description API: report the sign of a noisy input (the task.py docstring's example)."""

    strength = TaskParameter(Parameter("strength", "float", 0.5, low=0.0, label="Strength",
                                       help="mean input during the stimulus"))
    scored_by_choice = True  # accuracy: decode_choice (argmax of the masked mean output) of output vs target

    def __init__(self, dt=10, tau=100, T=1000, N_batch=16, strength=0.5, seed=None):
        super().__init__(1, 2, dt, tau, T, N_batch, seed=seed)
        self.strength = strength

    def sample_trials(self, n, batch=1):
        return {"fixation": self.rng.uniform(100, 300, n), "choice": self.rng.integers(2, size=n)}

    def describe_trials(self, trials):
        sign = 2 * trials["choice"] - 1
        trials.period("fixation", trials["fixation"])
        trials.period("stimulus", 500)
        trials.period("decision", end=np.inf)
        trials.add_input(self.strength * sign, "stimulus", channel=0)
        trials.add_noise(0.1)
        trials.set_target(one_hot(trials["choice"], 2), "decision")
        trials.set_mask(1, "decision")
        trials.note(choice=trials["choice"], evidence=self.strength * sign)


def test_a_user_task_written_with_the_description_api():
    task = SignTask(seed=0)
    assert _vectorised_paths(SignTask) == (True, True)
    x, y, mask, params = task.generate_batch(noise=False)
    t = task.times
    for i, p in enumerate(params):
        stim = (t >= p["fixation"]) & (t < p["fixation"] + 500)
        np.testing.assert_allclose(x[i, :, 0], np.where(stim, 0.5 * (2 * p["choice"] - 1), 0), atol=1e-7)
        assert np.all(mask[i, t >= p["fixation"] + 500] == 1) and np.all(mask[i, t < p["fixation"] + 500] == 0)
        assert p["epochs"]["decision"] == (p["fixation"] + 500, 1000.0)
        assert p["evidence"] == pytest.approx(0.5 * (2 * p["choice"] - 1))
    # PsychRNN's interface comes for free
    p = task.generate_trial_params(1, 0)
    x_t, y_t, mask_t = task.trial_function(p["fixation"] + 100, p)
    assert x_t.shape == (1,) and mask_t.tolist() == [0, 0] and abs(x_t[0]) > 0
    assert task.accuracy_function(y, y, mask) == 1.0 and task.accuracy_function(y, 1 - y, mask) == 0.0
    # its declared parameter is validated, registered and described
    with pytest.raises(ParameterError, match="SignTask: strength must be a finite number >= 0"):
        task.strength = -1
    assert SignTask.parameters()["strength"].label == "Strength"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_network_params({**task.get_task_params(), "name": "n", "N_rec": 10})


def test_channel_names_the_same_channels_for_every_trial():
    """A per-trial array or repeated channels passed as ``channel`` used to be read as a set of
    channels and put every trial's target on all of them; now it is refused with a way out."""

    class PerTrialChannel(SignTask):
        def describe_trials(self, trials):
            trials.period("decision", end=np.inf)
            trials.set_target(1.0, "decision", channel=trials["choice"])

    with pytest.raises(ParameterError, match=r"one entry per trial.*one_hot\(trials\['choice'\], 2\)") as error:
        PerTrialChannel(seed=0).generate_batch()
    assert error.value.parameter == "channel"

    class Repeated(SignTask):
        def describe_trials(self, trials):
            trials.period("decision", end=np.inf)
            trials.set_target(1.0, "decision", channel=[1, 1])

    with pytest.raises(ParameterError, match="more than once"):
        Repeated(seed=0).generate_batch()
    for bad in ("0", [0.5], [], [True], object()):
        class Bad(SignTask):
            def describe_trials(self, trials, bad=bad):
                trials.period("decision", end=np.inf)
                trials.set_mask(1.0, "decision", channel=bad)

        with pytest.raises(ParameterError, match="channel"):
            Bad(seed=0).generate_batch()
    # a set of channels, as a tuple, a list, a range or a NumPy array of another length, still works
    for good in ((0, 1), [1], range(2), np.array([0])):
        class Good(SignTask):
            def describe_trials(self, trials, good=good):
                trials.period("decision", end=np.inf)
                trials.set_mask(1.0, "decision", channel=good)

        assert Good(seed=0).generate_batch()[2].any()


class OldSchoolTask(Task):
    """As PsychRNN's own tasks do: alpha and N_steps assigned in __init__."""

    def __init__(self, dt, tau, T, N_batch, N_steps=None):
        super().__init__(1, 1, dt, tau, T, N_batch)
        self.alpha = (1.0 * self.dt) / self.tau  # PsychRNN's Task.__init__
        self.N_steps = int(np.ceil(self.T / self.dt)) if N_steps is None else N_steps

    def generate_trial_params(self, batch, trial):
        return {"level": float(self.rng.uniform())}

    def trial_function(self, time, params):
        return np.array([params["level"]]), np.array([params["level"]]), np.array([1.0])


def test_a_psychrnn_style_task_may_set_alpha_and_n_steps():
    task = OldSchoolTask(10, 100, 500, 4)
    assert (task.alpha, task.N_steps, task.tau) == (0.1, 50, 100)
    assert task.generate_batch()[0].shape == (4, 50, 1)
    # a different N_steps is PsychRNN's independent attribute: an override of ceil(T / dt)...
    short = OldSchoolTask(10, 100, 500, 4, N_steps=30)
    assert short.N_steps == 30 and short.T == 500
    x, y, mask, params = short.get_trial_batch()
    assert x.shape == (4, 30, 1) and short.times.shape == (30,)
    assert short.get_task_params()["N_steps"] == 30
    # ...until T or dt is assigned again
    short.T = 400
    assert short.N_steps == 40
    # assigning alpha sets tau = dt / alpha, so a network built from the task uses that alpha
    task.alpha = 0.2
    assert task.tau == 50 and task.get_task_params()["alpha"] == 0.2
    for bad in (0, -0.1, float("nan"), "0.1"):
        with pytest.raises(ParameterError, match="alpha"):
            task.alpha = bad
    with pytest.raises(ParameterError, match="N_steps"):
        task.N_steps = 0


def test_a_trial_function_of_the_wrong_shape_is_reported_by_name():
    class Wrong(PulseTask):
        def trial_function(self, time, params):
            return np.zeros(3), np.zeros(1), np.ones(1)

    class TwoValues(PulseTask):
        def trial_function(self, time, params):
            return np.zeros(1), np.zeros(1)

    with pytest.raises(ValueError, match=r"Wrong.trial_function.*x_t \(1,\), y_t \(1,\), mask_t \(1,\).*\(3,\)"):
        Wrong(10, 100, 200, 2).generate_batch()
    with pytest.raises(ValueError, match="TwoValues.trial_function.*returned 2 values"):
        TwoValues(10, 100, 200, 2).get_trial_batch()


def test_task_params_skip_generators_and_private_attributes():
    task = PulseTask(dt=10, tau=100, T=500, N_batch=4)
    task.my_rng = np.random.default_rng(0)
    task.legacy = np.random.RandomState(0)
    task._hidden = 1
    task.width = 3.5
    params = task.get_task_params()
    assert params["width"] == 3.5
    assert not {"my_rng", "legacy", "_hidden", "rng"} & set(params)


def test_base_task_explains_what_to_implement():
    task = Task(2, 2, 10, 100, 200, 3)
    with pytest.raises(NotImplementedError, match="generate_trial_params"):
        task.generate_batch()
    with pytest.raises(NotImplementedError, match="trial_function"):
        task.generate_trial({})


# --------------------------------------------------------------------------------------
# argument validation
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, name", [
    (lambda: PerceptualDiscrimination(10, 100, 2000, 0), "N_batch"),
    (lambda: PerceptualDiscrimination(10, 100, 2000, 2.5), "N_batch"),
    (lambda: PerceptualDiscrimination(0, 100, 2000, 5), "dt"),
    (lambda: PerceptualDiscrimination(-1, 100, 2000, 5), "dt"),
    (lambda: PerceptualDiscrimination(10, 0, 2000, 5), "tau"),
    (lambda: PerceptualDiscrimination(10, 100, float("nan"), 5), "T"),
    (lambda: PerceptualDiscrimination(10, 100, "2000", 5), "T"),
    (lambda: PerceptualDiscrimination(10, 100, 2000, 5, direction=2), "direction"),
    (lambda: PerceptualDiscrimination(10, 100, 2000, 5, coherence=-0.1), "coherence"),
    (lambda: PerceptualDiscrimination(10, 100, 2000, 5, coherence=[]), "coherence"),
    (lambda: PerceptualDiscrimination(10, 100, 2000, 5, seed="abc"), "seed"),
    (lambda: DelayedDiscrimination(10, 100, 2000, 5, delay_duration=-5), "delay_duration"),
    (lambda: MatchToCategory(10, 100, 2000, 5, N_in=0), "N_in"),
    (lambda: Task(2, 1.5, 10, 100, 200, 3), "N_out"),
    (lambda: PerceptualDiscrimination(10, 100, 2000, 5).generate_batch(N_batch=0), "N_batch"),
])
def test_bad_arguments_raise_parameter_error_naming_them(make, name):
    with pytest.raises(ParameterError, match=name) as info:
        make()
    assert isinstance(info.value, ValueError) and isinstance(info.value, UserWarning)


def test_bad_assignment_after_construction_is_caught():
    task = PerceptualDiscrimination(10, 100, 2000, 5)
    with pytest.raises(ParameterError, match="direction"):
        task.direction = 3
    with pytest.raises(ParameterError, match="N_batch"):
        task.N_batch = -1
    task.direction = 0
    assert task.get_task_params()["direction"] == 0


def test_importing_tasks_does_not_import_tensorflow():
    code = (
        "import sys, psychrnn_widgets.tasks as t\n"
        "for cls in t.BUILTIN_TASKS.values():\n"
        "    cls.with_defaults(N_batch=4, seed=0).get_trial_batch()\n"
        "for name in ('tensorflow', 'ipywidgets', 'bqplot', 'neurogym', 'gymnasium'):\n"
        "    assert name not in sys.modules, name + ' was imported'\n"
        "print('ok')\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("name", sorted(BUILTIN_TASKS))
def test_training_batches_are_the_batch_generators_arrays_draw_for_draw(name):
    """What training reads skips the trial dicts but not a draw: the same arrays, the generator left in the same state."""
    from itertools import islice

    plain, fast = (BUILTIN_TASKS[name](dt=10, tau=100, T=1000, N_batch=6, seed=3) for _ in range(2))
    for expected, got in zip(islice(plain.batch_generator(), 4), islice(fast.training_batches(), 4)):
        assert len(got) >= 3
        for a, b in zip(expected[:3], got[:3]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.generate_batch()[0], fast.generate_batch()[0])


def test_training_batches_of_a_task_with_its_own_generate_batch_come_from_it():
    from psychrnn_widgets import PerceptualDiscrimination

    class Tagged(PerceptualDiscrimination):
        def generate_batch(self, N_batch=None, batch=1, noise=True):
            x, y, mask, params = super().generate_batch(N_batch, batch, noise)
            return x + 1000.0, y, mask, params

    batch = next(Tagged(dt=10, tau=100, T=500, N_batch=3, seed=0).training_batches())
    assert len(batch) == 4 and batch[0].min() >= 999.0
