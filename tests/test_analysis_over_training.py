"""Dynamics across training (analysis.dynamics_over_training) from a trainer's checkpoints."""
import numpy as np
import pytest

from psychrnn_widgets import Basic, FlipFlop, PerceptualDiscrimination, analysis
from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.training.trainer import Trainer


def _unit(w, n=1, gain=1.0):
    """``n`` independent tanh units, ``x' = (1-a) x + a (w tanh(x) + gain u)``: fixed points where x = w tanh(x)."""
    return dict(W_in=gain * np.ones((n, 1)), W_rec=w * np.eye(n), W_out=np.ones((1, n)), b_rec=np.zeros(n),
                b_out=np.zeros(1), init_state=np.zeros((1, n)), dt=10.0, tau=100.0, transfer_function="tanh")


@pytest.fixture(scope="module")
def flip_task():
    return FlipFlop(dt=10, tau=100, T=1000, N_batch=8, n_bits=1, seed=0)


@pytest.fixture(scope="module")
def trained():
    task = PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=16, seed=0)
    model = Basic({**task.get_task_params(), "name": "over_training", "N_rec": 16, "seed": 0})
    model.train(task, {"training_iters": 100 * 16, "learning_rate": 0.01, "verbosity": False,
                       "checkpoint_every": 10, "keep_checkpoints": 6})
    return model, task


def test_a_short_training_seen_from_its_checkpoints(trained, tmp_path):
    model, task = trained
    store = Trainer.of(model).checkpoints
    assert store.epochs.tolist() == [0, 20, 40, 60, 80, 100]
    result = analysis.dynamics_over_training(store, task, metrics=("procrustes", "dsa", "cka"), n_trials=40,
                                             n_starts=32, max_iterations=1000)
    assert len(result) == 6 and not result.stopped
    np.testing.assert_array_equal(result.trials, store.trials)
    np.testing.assert_array_equal(result.epochs, store.epochs)
    # the final checkpoint is the final network: distance 0, similarity 1
    assert result.procrustes[-1] == pytest.approx(0.0, abs=1e-6)
    assert result.dsa[-1] == pytest.approx(0.0, abs=1e-6)
    assert result.cka[-1] == pytest.approx(1.0, abs=1e-9)
    # the untrained network is far from it, and farther than the last checkpoint before the end
    assert result.procrustes[0] > 0.3 and result.procrustes[0] > result.procrustes[-2] > 0
    assert result.dsa[0] > result.dsa[-2] > 0 and result.cka[0] < 0.9
    assert result.cca is None and set(result.distances()) == {"procrustes", "dsa", "cka"}
    assert np.all(result.n_stable <= result.n_fixed) and result.n_fixed.dtype == np.int64
    # the same from the trainer itself, from (trials, weights) pairs, and from weight files
    pairs = [(c.trials, c.weights) for c in store]
    again = analysis.dynamics_over_training(pairs, task, metrics="procrustes", n_trials=40, fixed_points=False)
    np.testing.assert_allclose(again.procrustes, result.procrustes, atol=1e-9)
    assert again.n_stable is None and again.dsa is None
    from psychrnn_widgets.io.weight_files import save_weights

    files = [(c.trials, str(save_weights(tmp_path / f"c{c.epoch}.npz", c.weights))) for c in store]
    from_files = analysis.dynamics_over_training(files, task, metrics="procrustes", n_trials=40, fixed_points=False)
    np.testing.assert_allclose(from_files.procrustes, result.procrustes, atol=1e-6)
    # it draws itself: two panels against trials, saved as SVG and PNG
    figure = result.to_figure()
    assert len(figure.axes) == 2 and figure.axes[0].get_xlabel() == "trials trained"
    assert result.save(tmp_path / "over_training.svg").stat().st_size > 1000
    assert result.save(tmp_path / "over_training.png").stat().st_size > 1000
    assert {"trials", "procrustes", "dsa", "cka", "n_fixed", "n_stable"} <= set(result.to_arrays())


def test_fixed_points_counted_against_a_known_answer(flip_task):
    """A tanh unit with self-weight 0.5 has one fixed point (0, stable); with 2 it has three (0 unstable, +-1.915)."""
    checkpoints = [(0, _unit(0.5)), (500, _unit(2.0)), (1000, _unit(2.0))]
    result = analysis.dynamics_over_training(checkpoints, flip_task, metrics=("procrustes", "cka"), n_trials=30,
                                             n_starts=64)
    assert result.n_fixed.tolist() == [1, 3, 3]
    assert result.n_stable.tolist() == [1, 2, 2]
    assert result.procrustes[0] > 0.5 and result.procrustes[1] == pytest.approx(0.0, abs=1e-6)
    assert result.epochs.tolist() == [-1, -1, -1]  # pairs carry no step counts
    # under a constant input of 1.5 the bistable unit keeps only the positive attractor
    pushed = analysis.dynamics_over_training(checkpoints, flip_task, metrics="cka", inputs=[1.5], n_trials=30,
                                             n_starts=64)
    assert pushed.n_stable.tolist() == [1, 1, 1]


def test_stopping_between_checkpoints(flip_task):
    asked = []

    def should_stop():
        asked.append(1)
        return len(asked) > 2

    checkpoints = [(t, _unit(0.5 + t / 1000)) for t in range(0, 1000, 200)]
    result = analysis.dynamics_over_training(checkpoints, flip_task, metrics="procrustes", n_trials=20,
                                             fixed_points=False, should_stop=should_stop)
    assert result.stopped and len(result) == 2 and result.procrustes.shape == (2,)
    result.to_figure()  # a partial result still draws


def test_inputs_are_validated(flip_task, trained):
    one = _unit(0.5)

    def fails(name, checkpoints=((0, one), (10, one)), task=flip_task, **kwargs):
        with pytest.raises(ParameterError) as caught:
            analysis.dynamics_over_training(list(checkpoints) if checkpoints is not None else None, task,
                                            **{"fixed_points": False, "n_trials": 10, **kwargs})
        assert caught.value.parameter == name, str(caught.value)

    fails("checkpoints", checkpoints=None)
    with pytest.raises(ParameterError) as caught:
        analysis.dynamics_over_training(3, flip_task)
    assert caught.value.parameter == "checkpoints"
    fails("checkpoints", checkpoints=[(0, one)])                           # one is not a history
    fails("checkpoints[1]", checkpoints=[(0, one), "later"])
    fails("checkpoints[1]", checkpoints=[(0, one), (10, {"W_rec": 3})])    # not a network
    fails("checkpoints", checkpoints=[(10, one), (5, one)])                # out of order
    fails("checkpoints", checkpoints=[(-1, one), (5, one)])
    fails("checkpoints", checkpoints=[(0.5, one), (5, one)])
    fails("checkpoints", checkpoints=[(0, one), (5, _unit(0.5, n=2))])     # not the same network
    fails("task", task=trained[1])                                         # 2 inputs, the units have 1
    fails("task", task="FlipFlop")
    silent = _unit(0.5, gain=0.0)
    fails("checkpoints", checkpoints=[(0, one), (5, silent)])              # a final network that never moves
    fails("metrics", metrics="euclid")
    fails("metrics", metrics=())
    fails("metrics", metrics=["cka", 3])
    fails("n_starts", n_starts=0)
    fails("n_trials", n_trials=0)
    fails("q_tolerance", q_tolerance=-1.0)
    fails("inputs", inputs=np.zeros(3))
    fails("inputs", inputs=[np.nan])
    fails("dsa_options", dsa_options=3)
    from psychrnn_widgets.params import ANALYSIS_PARAMS

    for value in ANALYSIS_PARAMS["fixed_points"].invalid_examples():
        with pytest.raises(ParameterError) as caught:
            analysis.dynamics_over_training([(0, one), (10, one)], flip_task, fixed_points=value)
        assert caught.value.parameter == "fixed_points", value
