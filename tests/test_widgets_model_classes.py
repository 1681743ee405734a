"""Issue 20: every model class is first-class in the Lab -- Basic, LSTM, GRU and a user's subclass of RNN.

Each is picked in the Lab (the Network tab's picker, and ``Lab(..., model=...)``), trained
200 steps and stopped; the Analysis tab computes its psychometric curve and fixed points;
saving and loading gives identical outputs; its NumPy twin matches TensorFlow.  A user's
registered task and model appear in the pickers and train.
"""
import html

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")
pytest.importorskip("tensorflow")

import tensorflow as tf  # noqa: E402

from helpers import REPO, wait_until  # noqa: E402
from psychrnn_widgets import (GRU, LSTM, RNN, Basic, PerceptualDiscrimination, SteppedSimulator,  # noqa: E402
                              load_model, register_model, register_task)
from psychrnn_widgets.catalog import simulator_class  # noqa: E402
from psychrnn_widgets.errors import ParameterError  # noqa: E402
from psychrnn_widgets.params import Parameter  # noqa: E402
from psychrnn_widgets.tasks.task import Task  # noqa: E402
from psychrnn_widgets.transfer import NUMPY_TRANSFER_FUNCTIONS  # noqa: E402


# ------------------------------------------------------------------ a user's model and its NumPy twin
def _sigmoid(x):
    return NUMPY_TRANSFER_FUNCTIONS["sigmoid"](x)


class LearnedSpeedSimulator(SteppedSimulator):
    """NumPy twin of :class:`LearnedSpeed`: the leaky step with one learned speed per unit."""

    has_rate_weights = True

    def _load_weights(self, cls, weights):
        self.W_rec = self._array(cls, weights, "W_rec")
        self.N_rec = self.W_rec.shape[0]
        self.W_in = self._array(cls, weights, "W_in")
        self.N_in = self.W_in.shape[1]
        self.W_out = self._array(cls, weights, "W_out")
        self.N_out = self.W_out.shape[0]
        self.b_rec = self._array(cls, weights, "b_rec", (self.N_rec,))
        self.b_out = self._array(cls, weights, "b_out", (self.N_out,))
        self.init_state = self._array(cls, weights, "init_state").reshape(1, self.N_rec)
        gain = self._array(cls, weights, "speed_gain", (self.N_rec,))
        self.unit_alpha = (self.alpha * 2.0 * _sigmoid(gain)).astype(self.dtype)

    def flat_initial_state(self, batch_size):
        return np.repeat(self.init_state, batch_size, axis=0)

    def input_drive(self, rnn_in):
        return rnn_in @ self.W_in.T + self.b_rec

    def step(self, state, drive):
        a = self.unit_alpha
        return (1 - a) * state + a * (self.transfer_function(state) @ self.W_rec.T + drive)

    def readout(self, activity):
        return self.transfer_function(activity) @ self.W_out.T + self.b_out

    def rates(self, states):
        return self.transfer_function(states)


class LearnedSpeed(RNN):
    """A rate network whose units each learn their speed: alpha_i = alpha * 2 sigmoid(g_i) (g_i = 0: alpha)."""

    parameters = {"speed_gain_train": Parameter("speed_gain_train", "bool", True,
                                                help="whether the units' speeds are learned")}
    simulator = LearnedSpeedSimulator
    summary = "rate network whose units learn their own time constant"

    def __init__(self, params):
        super().__init__(params)
        self.speed_gain = tf.Variable(np.zeros(self.N_rec, np.float32), name="speed_gain",
                                      trainable=self.values["speed_gain_train"])

    def recurrent_timestep(self, rnn_in, state):
        a = self.alpha * 2.0 * tf.sigmoid(self.speed_gain)
        drive = (tf.matmul(self.transfer_function(state), self.get_effective_W_rec(), transpose_b=True)
                 + tf.matmul(rnn_in, self.get_effective_W_in(), transpose_b=True) + self.b_rec)
        return (1 - a) * state + a * drive + self.recurrent_noise(tf.shape(state))

    def output_timestep(self, state):
        return tf.matmul(self.transfer_function(state), self.get_effective_W_out(), transpose_b=True) + self.b_out


register_model(LearnedSpeed)


# ------------------------------------------------------------------ a user's task
@register_task
class SignOfPulse(Task):
    """A user's PsychRNN-style task: a pulse of either sign; report it on the output of that sign."""

    def __init__(self, dt=10, tau=100, T=400, N_batch=16, amplitude=1.0, seed=None):
        super().__init__(1, 2, dt, tau, T, N_batch, seed=seed)
        self.amplitude = amplitude

    def generate_trial_params(self, batch, trial):
        return {"sign": int(self.rng.integers(2))}

    def trial_function(self, time, params):
        on = self.T / 4 <= time < self.T / 2
        x = np.array([(self.amplitude if params["sign"] else -self.amplitude) if on else 0.0])
        y = np.array([0.2, 0.2])
        if time >= self.T / 2:
            y[params["sign"]] = 1.0
        return x, y, np.full(2, 1.0 if time >= self.T / 2 else 0.0)


def small_task():
    return PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=16, seed=0)


MODELS = {"Basic": Basic, "LSTM": LSTM, "GRU": GRU, "LearnedSpeed": LearnedSpeed}


# ------------------------------------------------------------------ the tests
@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_class_is_picked_trained_analysed_saved_and_simulated_in_the_lab(name, tmp_path):
    from psychrnn_widgets.widgets import Lab

    cls = MODELS[name]
    settings = {"N_rec": 16, "seed": 3}
    # picked by the constructor ...
    direct = Lab(small_task(), settings, model=cls)
    assert type(direct.model) is cls and direct.network_panel.model_choice.value == name
    # ... and by the picker widget, on a Lab that started with another class
    lab = Lab(small_task(), settings, training_iters=10 ** 7, model="GRU" if name == "Basic" else "Basic")
    assert name in lab.network_panel.model_choice.options
    lab.network_panel.model_choice.value = name
    model = lab.model
    assert type(model) is cls and lab.training.model is model and lab.trajectories.model is model
    reasons = lab.network_panel.not_applicable
    for control, reason in reasons.items():  # what does not apply is disabled, with its reason shown
        assert lab.network_panel.controls[control].disabled
        assert html.escape(reason) in lab.network_panel.model_note.value
    if name in ("LSTM", "GRU"):
        assert "dale_ratio" in reasons and "rec_noise" in reasons and "density" in reasons
        assert "no recurrent weight matrix" in lab.connectivity_note.value
    else:
        assert not reasons and lab.connectivity_note.value == ""
    if name == "LearnedSpeed":  # a user class's own declared keys get controls
        assert "speed_gain_train" in lab.network_panel.controls

    # trained 200 steps, stopped
    lab.training.start()
    assert wait_until(lambda: lab.training.epoch >= 200, 300), lab.training.status.value
    assert lab.training.stop(timeout=60) and lab.training.state == "stopped", lab.training.status.value
    assert lab.model is model and lab.training.epoch >= 200

    # the Analysis tab: the psychometric curve (it analysed the stopped network by itself) and fixed points
    assert wait_until(lambda: lab.analysis.n_refreshes >= 1, 30) and lab.analysis.wait(240)
    curve = lab.analysis.behaviour.result.psychometric
    assert curve.levels.size >= 4 and np.isfinite(curve.p_choice1).all() and curve.accuracy is not None
    assert lab.analysis.source.N_rec == 16
    if name in ("LSTM", "GRU"):
        assert lab.analysis.connectivity.result is None and "W_rec" in lab.analysis.connectivity.status.value
    else:
        assert lab.analysis.connectivity.result is not None
    panel = lab.analysis.fixed_points
    # slow points count too (a network trained 200 steps may have none that is exactly fixed near its trials)
    panel.n_initial.value, panel.max_iterations.value, panel.q_tolerance.value = 24, 600, 1e-3
    assert panel.find() and panel.wait(240), panel.status.value
    found = panel.result
    assert found is not None and len(found) >= 1 and np.all(found.q < 1e-3), panel.status.value
    assert found.points.shape[1] == model.state_size == (32 if name == "LSTM" else 16)  # LSTM: hidden and cell
    step = model.next_state(tf.constant(found.points, tf.float32),
                            tf.constant(np.tile(found.inputs, (len(found), 1)), tf.float32)).numpy()
    np.testing.assert_allclose(0.5 * np.sum((step - found.points) ** 2, axis=1), found.q, rtol=1e-2, atol=1e-9)
    assert found.jacobians.shape == (len(found), model.state_size, model.state_size)

    # save and load give identical outputs: a weight file, and a run saved and loaded from the Runs tab
    x = small_task().generate_batch(6)[0]
    outputs, states = model.test(x, noise=False)
    path = model.save(tmp_path / name)
    loaded = load_model(path)
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.test(x, noise=False)[0], outputs)
    lab.history_panel.path.value = str(tmp_path / "runs" / name)
    lab.history_panel.save_button.click()
    assert "saved" in lab.history_panel.message.value, lab.history_panel.message.value
    fresh = Lab(small_task(), {"N_rec": 8})
    fresh.history_panel.path.value = str(tmp_path / "runs" / name)
    fresh.history_panel.load_button.click()
    assert "loaded" in fresh.history_panel.message.value, fresh.history_panel.message.value
    assert type(fresh.model) is cls and fresh.training.trials == lab.training.trials
    np.testing.assert_array_equal(fresh.model.test(x, noise=False)[0], outputs)

    # the NumPy twin matches TensorFlow (float32 to 1e-5; the analyses' float64 snapshot too)
    twin = simulator_class(name)
    assert twin is cls.simulator
    for sim in (twin(rnn_model=model), twin(weights_path=path), lab.analysis.source):
        sim_outputs, sim_states = sim.run_trials(x, noise=False)
        np.testing.assert_allclose(sim_outputs, outputs, atol=1e-5)
        np.testing.assert_allclose(sim_states, states, atol=1e-5)


def test_a_users_registered_task_and_model_appear_in_the_pickers_and_train():
    from psychrnn_widgets.widgets import Lab

    lab = Lab(small_task(), {"N_rec": 12, "seed": 1}, training_iters=16 * 20)
    assert "SignOfPulse" in lab.task_panel.choice.options
    assert list(lab.network_panel.model_choice.options)[:4] == ["Basic", "BasicScan", "LSTM", "GRU"]
    assert "LearnedSpeed" in lab.network_panel.model_choice.options
    lab.task_panel.choice.value = "SignOfPulse"
    assert isinstance(lab.task, SignOfPulse) and (lab.model.N_in, lab.model.N_out) == (1, 2)
    lab.network_panel.model_choice.value = "LearnedSpeed"
    model = lab.model
    assert isinstance(model, LearnedSpeed) and model.N_in == 1
    gain = model.speed_gain.numpy().copy()
    assert lab.training.start() and lab.training.wait(120) and lab.training.state == "done", lab.training.status.value
    assert lab.training.trials == 16 * 20 and not np.array_equal(model.speed_gain.numpy(), gain)
    assert np.isfinite(lab.training.curves()["loss"][1]).all()
    # its own declared key is a control: switching the learning of the speeds off builds a network that keeps them
    lab.network_panel.controls["speed_gain_train"].value = False
    assert "network" in lab.pending  # the trained one is kept until Start
    assert lab.training.start() and lab.training.wait(120)
    assert lab.model is not model and not lab.model.speed_gain.trainable
    assert lab.history.find(model) is not None


def test_a_key_that_does_not_apply_is_refused_naming_it_and_a_twinless_class_is_said_clearly():
    from psychrnn_widgets.analysis import as_simulator

    params = dict(small_task().get_task_params(), name="gated", N_rec=5)
    with pytest.raises(ParameterError, match="L1_rec does not apply to LSTM") as caught:
        LSTM(dict(params, L1_rec=0.1))
    assert caught.value.parameter == "L1_rec"
    with pytest.raises(ParameterError, match="rec_connectivity does not apply to GRU"):
        GRU(dict(params, rec_connectivity=np.eye(5)))

    class Rewritten(Basic):  # new dynamics without a twin: Basic's simulator no longer fits
        def recurrent_timestep(self, rnn_in, state):
            return super().recurrent_timestep(rnn_in, state) * 0.5

    assert Basic.simulator is not None and Rewritten.simulator is None
    with pytest.raises(ParameterError, match="Rewritten has no NumPy twin"):
        as_simulator(Rewritten(params))
    with pytest.raises(ParameterError, match="simulator"):
        register_model(type("BadTwin", (Basic,), {"simulator": object}))


def test_the_documented_new_model_with_its_twin_joins_the_lab_and_is_analysed(tmp_path):
    """docs/new_model.md's tutorial model and its NumPy twin, exactly as the docs show them."""
    import re

    from psychrnn_widgets.widgets import Lab

    text = (REPO / "docs" / "new_model.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    namespace = {}
    exec(blocks[0], namespace)  # the model
    exec(next(block for block in blocks if "SteppedSimulator" in block), namespace)  # its twin, registered
    cls = namespace["BasicWithFeedforward"]
    lab = Lab(small_task(), {"N_rec": 12, "N_feedforward_out": 8, "seed": 2}, model=cls, training_iters=16 * 30)
    assert "BasicWithFeedforward" in lab.network_panel.model_choice.options
    model = lab.model
    assert isinstance(model, cls) and model.W_in_first.shape == (8, 2)  # its own key, from the Network tab
    assert lab.training.start() and lab.training.wait(120) and lab.training.state == "done"
    assert wait_until(lambda: lab.analysis.n_refreshes >= 1, 30) and lab.analysis.wait(240)
    assert lab.analysis.behaviour.result is not None and lab.analysis.connectivity.result is not None
    x = small_task().generate_batch(5)[0]
    outputs, states = model.test(x, noise=False)
    sim_outputs, sim_states = cls.simulator(rnn_model=model).run_trials(x, noise=False)
    np.testing.assert_allclose(sim_outputs, outputs, atol=1e-5)
    np.testing.assert_allclose(sim_states, states, atol=1e-5)
    loaded = load_model(model.save(tmp_path / "feedforward"))
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.test(x, noise=False)[0], outputs)
