"""Networks against recordings (analysis.recordings): the data format, its checks, recovery of the source network."""
import json

import numpy as np
import pytest

from psychrnn_widgets import analysis
from psychrnn_widgets.errors import ParameterError

NETWORK, RECORDINGS = analysis.EXAMPLE_NETWORK, analysis.EXAMPLE_RECORDINGS


@pytest.fixture(scope="module")
def recordings():
    return analysis.load_recordings(RECORDINGS)


def test_shipped_recordings(recordings):
    assert recordings.shape == (512, 32, 30)
    assert recordings.dt == 50.0 and recordings.task == "ContextDependentIntegration"
    assert sorted(recordings.conditions) == ["color_coherence", "context", "decision", "delay", "fixation",
                                             "motion_coherence", "stimulus"]
    group, n_groups = recordings.condition_groups()
    assert n_groups == 32 and np.all(np.bincount(group) == 16)
    assert recordings.psth().shape == (32, 32, 30)
    assert RECORDINGS.stat().st_size < 300 * 1024
    with np.load(RECORDINGS, allow_pickle=False) as data:  # no pickles
        assert data["activity"].dtype == np.uint8


def test_the_source_network_is_recovered(recordings):
    """Must-show 2: the network the data were made from explains them; an untrained one of its size does not."""
    from psychrnn_widgets import Basic, ContextDependentIntegration

    fit = analysis.fit_recordings(NETWORK, recordings)
    assert fit.mean_r2 >= 0.8, fit.mean_r2            # measured 0.830 (median 0.939); states: 0.819
    assert fit.cka >= 0.8, fit.cka                    # measured 0.964
    assert fit.r2.shape == fit.reliability.shape == (30,)
    silent = recordings.activity.sum(axis=(0, 1)) == 0  # two of the 30 neurons never spiked: R² undefined
    assert np.all(np.isnan(fit.r2[silent])) and np.all(np.isfinite(fit.r2[~silent]))
    assert np.all(fit.r2_trials[~silent] < fit.r2[~silent] + 1e-9)  # single trials carry the spiking noise
    task = ContextDependentIntegration()
    untrained = Basic({**task.get_task_params(), "name": "untrained", "N_rec": 50, "seed": 1})
    try:
        other = analysis.fit_recordings(untrained, recordings)
    finally:
        untrained.destruct()
    # measured: R² 0.744 (a random recurrent network is a rich basis for input-driven responses), CKA 0.357
    assert other.cka <= 0.5, other.cka
    assert other.mean_r2 < fit.mean_r2 - 0.05, (other.mean_r2, fit.mean_r2)
    states = analysis.fit_recordings(NETWORK, recordings, signal="states", n_folds=3)
    assert states.mean_r2 >= 0.78 and states.signal == "states" and states.penalties.shape == (3, 30)


def test_roundtrip_and_activity_arrays(tmp_path, recordings):
    path = recordings.save(tmp_path / "copy.npz")
    again = analysis.load_recordings(path)
    np.testing.assert_array_equal(again.activity, recordings.activity)
    assert again.conditions.keys() == recordings.conditions.keys() and again.task == recordings.task
    np.testing.assert_array_equal(again.neuron_ids, recordings.neuron_ids)
    # a network's own binned rates as "recordings", and as the source array: R² 1
    x = analysis.recording_inputs(__import__("psychrnn_widgets").ContextDependentIntegration(), recordings)
    _, _, rates = analysis.simulate(NETWORK, x)
    binned = rates[:, :160].reshape(512, 32, 5, 50).mean(axis=2)
    clean = analysis.Recordings(activity=binned, conditions=recordings.conditions, dt=50.0, task=recordings.task)
    fit = analysis.fit_recordings(binned, clean, n_folds=2)
    assert fit.mean_r2 == pytest.approx(1.0, abs=1e-6) and fit.cka == pytest.approx(1.0, abs=1e-9)
    assert fit.save(tmp_path / "fit.svg").stat().st_size > 1000


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _good():
    rng = np.random.default_rng(0)
    return dict(activity=rng.poisson(1.0, (12, 10, 3)), dt=np.float64(50.0),
                condition__context=np.repeat([0, 1], 6), task=np.str_("ContextDependentIntegration"))


@pytest.mark.parametrize("change, name", [
    (dict(activity=None), "activity"),                                       # missing
    (dict(dt=None), "dt"),
    (dict(condition__context=None), "conditions"),
    (dict(activity=np.full((12, 10, 3), np.nan)), "activity"),
    (dict(activity=np.ones((12, 10))), "activity"),                          # not 3-D
    (dict(dt=np.float64(-1.0)), "dt"),
    (dict(condition__context=np.zeros(11)), "conditions['context']"),        # not one per trial
    (dict(condition__context=np.array(["a"] * 12)), "condition__context"),   # not numbers
    (dict(task_params=np.str_("{not json")), "task_params"),
    (dict(task=np.arange(3)), "task"),
    (dict(spikes=np.zeros(3)), "spikes"),                                    # unknown field
    (dict(neuron_ids=np.arange(4)), "neuron_ids"),
    (dict(format=np.str_("something/else")), "format"),
])
def test_bad_files_name_the_field(tmp_path, change, name):
    arrays = {**_good(), **change}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ParameterError) as caught:
        analysis.load_recordings(path)
    assert caught.value.parameter == name, str(caught.value)
    assert "bad.npz" in str(caught.value)


def test_files_are_bounded_and_never_unpickled(tmp_path, monkeypatch):
    from psychrnn_widgets.analysis import recordings as module

    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **_good(), description=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ParameterError, match="pickled"):
        analysis.load_recordings(pickled)
    big = _write(tmp_path / "big.npz", **_good())
    monkeypatch.setattr(module, "MAX_BYTES", 100)
    with pytest.raises(ParameterError, match="unpacks to"):
        analysis.load_recordings(big)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ParameterError) as caught:
        analysis.load_recordings(tmp_path / "junk.npz")
    assert caught.value.parameter == "path"
    with pytest.raises(ParameterError):
        analysis.load_recordings(tmp_path / "missing.npz")


def test_fit_edges(recordings):
    from psychrnn_widgets import PerceptualDiscrimination

    def fails(name, **kwargs):
        with pytest.raises(ParameterError) as caught:
            analysis.fit_recordings(kwargs.pop("source", NETWORK), kwargs.pop("data", recordings), **kwargs)
        assert caught.value.parameter == name, str(caught.value)

    fails("n_folds", n_folds=1)
    fails("penalties", penalties=[-1.0])
    fails("penalties", penalties="big")
    fails("signal", signal="spikes")
    fails("recordings", data=3)
    coarse = analysis.Recordings(activity=recordings.activity[:, :5], conditions=recordings.conditions, dt=33.0,
                                 task=recordings.task)
    fails("recordings", data=coarse)                       # 33 ms bins: not whole 10 ms steps
    long = analysis.Recordings(activity=np.ones((512, 40, 2)) + np.arange(40)[:, None], dt=50.0,
                               conditions=recordings.conditions, task=recordings.task)
    fails("recordings", data=long)                         # 2000 ms, longer than the trials
    unknown = analysis.Recordings(activity=recordings.activity, dt=50.0,
                                  conditions={**recordings.conditions, "coherence": np.zeros(512)},
                                  task=recordings.task)
    fails("recordings", data=unknown)                      # not a trial parameter of the task
    anonymous = analysis.Recordings(activity=recordings.activity, dt=50.0, conditions=recordings.conditions)
    fails("task", data=anonymous)
    fails("source", task=PerceptualDiscrimination(dt=10, tau=100, T=1600, N_batch=1),
          data=analysis.Recordings(activity=recordings.activity, dt=50.0,
                                   conditions={"coherence": np.full(512, 0.5)}))
    fails("source", source=np.zeros((3, 32, 4)))           # trial count differs
    assert json.loads(json.dumps(recordings.conditions["context"].tolist()))  # plain values
