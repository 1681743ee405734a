"""Every declared parameter is validated once, the same way, by the model, the simulator, training and the panels."""
import ast
import html
import inspect
import math
from pathlib import Path

import numpy as np
import pytest

from helpers import network_params
from psychrnn_widgets import Basic, BasicSimulator, ParameterError, PerceptualDiscrimination
from psychrnn_widgets.params import NETWORK_PARAMS, TRAIN_PARAMS, Parameter, validate_network_params

PACKAGE = Path(__file__).resolve().parents[1] / "psychrnn_widgets"
N_IN, N_REC, N_OUT = 2, 6, 2
SHAPES = {
    "input_connectivity": (N_REC, N_IN), "rec_connectivity": (N_REC, N_REC), "output_connectivity": (N_OUT, N_REC),
    "W_in": (N_REC, N_IN), "W_rec": (N_REC, N_REC), "W_out": (N_OUT, N_REC), "b_rec": (N_REC,), "b_out": (N_OUT,),
    "init_state": (1, N_REC), "Dale_rec": (N_REC, N_REC), "Dale_out": (N_REC, N_REC),
}
#: object-kind keys: their own invalid values (the declaration's check decides)
OBJECT_INVALID = {
    "initializer": ["NoSuchInitializer", 3],
    "loss_function": ["no_such_loss", 3, None],
}


def small_params(**overrides):
    return network_params(**{"N_rec": N_REC, "N_steps": 20, "N_batch": 4, **overrides})


def network_cases():
    for key, parameter in NETWORK_PARAMS.items():
        values = OBJECT_INVALID.get(key, parameter.invalid_examples(SHAPES.get(key)))
        if key == "Dale_rec":
            values = values + [np.ones((N_REC, N_REC))]  # not diagonal
        for value in values:
            yield pytest.param(key, value, id=f"{key}={_label(value)}")


def _label(value):
    if isinstance(value, np.ndarray):
        return f"array{value.shape}{'nan' if np.isnan(value).any() else ''}"
    return repr(value)[:20]


def assert_names(error, key):
    assert error.parameter == key or repr(key) in str(error) or key in str(error), str(error)


@pytest.mark.parametrize("key, value", list(network_cases()))
def test_every_network_parameter_rejects_its_invalid_values(key, value):
    params = small_params(**{key: value})
    with pytest.raises(ParameterError) as caught:
        validate_network_params(params)
    assert_names(caught.value, key)
    if key in ("name", "N_in", "N_rec", "N_out", "N_steps", "dt", "tau", "N_batch", "rec_noise", "spec_rad",
               "dale_ratio", "rec_connectivity", "W_rec", "transfer_function", "L2_rec", "seed", "initializer"):
        with pytest.raises(ParameterError) as caught:  # and the model itself, through the same path
            Basic(params)
        assert_names(caught.value, key)


def test_alpha_above_one_is_refused_with_both_time_constants_named():
    with pytest.raises(ParameterError, match=r"alpha = dt / tau = 200 / 100 = 2 must be <= 1"):
        Basic(small_params(dt=200.0))


SIMULATOR_KEYS = ("rec_noise", "dt", "tau", "transfer_function", "seed")


@pytest.fixture(scope="module")
def weights():
    return Basic(small_params(name="sim_source")).get_weights()


@pytest.mark.parametrize("key", SIMULATOR_KEYS + ("alpha",))
def test_the_simulator_rejects_the_same_invalid_values(weights, key):
    from psychrnn_widgets.params import ALPHA

    declared = ALPHA if key == "alpha" else NETWORK_PARAMS[key]
    for value in declared.invalid_examples():
        if value is None:
            continue
        params = {"dt": 10.0, "tau": 100.0} if key not in ("dt", "tau", "alpha") else {}
        if key in ("dt", "tau"):
            params = {"dt": 10.0, "tau": 100.0, key: value}
        elif key == "alpha":
            params = {"alpha": value}
        elif key != "seed":
            params[key] = value
        kwargs = {"seed": value} if key == "seed" else {}
        with pytest.raises(ParameterError) as caught:
            BasicSimulator(weights=weights, params=params, **kwargs)
        assert_names(caught.value, key)


def train_cases():
    invalid = {
        "curriculum": [3, "stage 1"], "optimizer": ["sgd", 3], "callbacks": [3, [print, 3]], "control": [3],
        "fixed_weights": [3, {"W_rec": np.full((N_REC, N_REC), 0.5)}], "generator_function": [3],
    }
    for key, parameter in TRAIN_PARAMS.items():
        for value in invalid.get(key, parameter.invalid_examples()):
            yield pytest.param(key, value, id=f"{key}={_label(value)}")


@pytest.fixture(scope="module")
def trained_small():
    return Basic(small_params(name="train_bad")), PerceptualDiscrimination(10, 100, 200, 4, seed=0)


@pytest.mark.parametrize("key, value", list(train_cases()))
def test_every_train_parameter_rejects_its_invalid_values(trained_small, key, value):
    model, task = trained_small
    params = {"training_iters": 8, "verbosity": False, key: value}
    if key == "performance_cutoff":
        params["performance_measure"] = lambda *args: 0.0
    with pytest.raises(ParameterError) as caught:
        model.train(task, params)
    assert_names(caught.value, key)


# ----------------------------------------------------------------------------- the panels
def panel_cases():
    from psychrnn_widgets.widgets.network_panel import DECLARED_CONTROLS

    for key in DECLARED_CONTROLS:
        parameter = NETWORK_PARAMS[key]
        if parameter.kind in ("bool", "choice"):
            continue  # a checkbox or a dropdown cannot hold a wrong value
        for value in parameter.invalid_examples():
            if isinstance(value, (bool, str, list)) or value is None:
                continue  # not representable in a numeric input
            if parameter.kind in ("int", "seed") and not (isinstance(value, int) or not math.isfinite(value)):
                continue  # IntText holds integers
            if parameter.kind in ("int", "seed") and not math.isfinite(value):
                continue
            yield pytest.param(key, value, id=f"{key}={value!r}")


@pytest.mark.parametrize("key, value", list(panel_cases()))
def test_the_network_panel_refuses_the_same_invalid_values_beside_the_control(key, value):
    from psychrnn_widgets.widgets.network_panel import NetworkPanel

    panel = NetworkPanel(dict(N_rec=N_REC))
    before = dict(panel.network_params)
    if key == "dale_ratio":
        panel.controls["dale_enabled"].value = True
        before = dict(panel.network_params)
    if key == "identity_alpha":
        panel.controls["initializer"].value = "alpha_identity"
        before = dict(panel.network_params)
    panel.controls[key].value = value
    control = panel.parameter_controls[key]
    assert not control.valid and not panel.valid
    assert html.escape(NETWORK_PARAMS[key].allowed) in control.message.value  # the reason, beside the control
    assert html.escape(f"network_params[{key!r}]") in panel.message.value
    assert _same(panel.network_params, before)  # never reaches a model


def _same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def test_panels_take_ranges_and_help_from_the_declarations():
    from psychrnn_widgets.widgets import network_panel
    from psychrnn_widgets.widgets.network_panel import DECLARED_CONTROLS, NetworkPanel

    panel = NetworkPanel()
    for key in DECLARED_CONTROLS:
        control = panel.parameter_controls[key]
        assert control.parameter is NETWORK_PARAMS[key]  # the same declaration object
        assert NETWORK_PARAMS[key].describe() in html.unescape(control.label.value)
        assert control.input.tooltip == NETWORK_PARAMS[key].describe()
        assert NETWORK_PARAMS[key].display_label in control.label.value and key in control.label.value
    # no copied range: the panel module compares no parameter value with a number of its own
    tree = ast.parse(inspect.getsource(network_panel))
    check = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "check")
    numbers = [node for node in ast.walk(check) if isinstance(node, ast.Compare)
               and any(isinstance(c, ast.Constant) and isinstance(c.value, (int, float)) and not isinstance(c.value, bool)
                       and c.value not in (0, 1, 2000) for c in [node.left, *node.comparators])]
    assert not numbers, ast.dump(numbers[0])


def test_a_declaration_is_one_object_shared_by_tasks_and_network_params():
    from psychrnn_widgets.params import TASK_CORE_PARAMS

    for key in ("N_in", "N_out", "dt", "tau", "N_batch"):
        assert NETWORK_PARAMS[key] is TASK_CORE_PARAMS[key]


def test_declarations_say_what_they_are():
    for parameter in list(NETWORK_PARAMS.values()) + list(TRAIN_PARAMS.values()):
        assert isinstance(parameter, Parameter)
        assert parameter.help and parameter.display_label, parameter.name
        assert parameter.name in parameter.describe()


def test_zero_d_arrays_are_accepted_wherever_a_scalar_or_a_name_is():
    """What numpy.load gives for scalars saved in weight files (PsychRNN's and ours)."""
    params = small_params(dale_ratio=np.array(None, dtype=object), transfer_function=np.array("tanh"),
                          rec_noise=np.array(0.1), N_rec=np.array(N_REC), autapses=np.array(True))
    model = Basic(params)
    assert model.dale_ratio is None and model.transfer_function_name == "tanh" and model.rec_noise == 0.1
    assert Basic(small_params(name="d", dale_ratio=np.array(0.5, dtype=object))).dale_ratio == 0.5


def test_unknown_network_keys_warn_like_unknown_train_keys_but_task_and_file_keys_do_not():
    task = PerceptualDiscrimination(10, 100, 200, 4)
    with pytest.warns(UserWarning, match="unknown key 'spectral_radius'"):
        validate_network_params({**task.get_task_params(), "name": "n", "N_rec": 4, "spectral_radius": 1.0})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = Basic(small_params(name="file")).get_weights()
        validate_network_params({**task.get_task_params(), "name": "n", "N_rec": N_REC, **weights,
                                 "W_rec/Adam": np.zeros((N_REC, N_REC))})


@pytest.mark.parametrize("zero", [0, 0.0, np.array(0.0), np.float32(0.0), False])
def test_dale_ratio_zero_means_no_dales_law_wherever_it_is_read(zero):
    """PsychRNN applies Dale's law `if self.dale_ratio:`; every reader of the declaration agrees."""
    from psychrnn_widgets.widgets.connectivity import ConnectivityEditor
    from psychrnn_widgets.widgets.network_panel import NetworkPanel

    assert NETWORK_PARAMS["dale_ratio"].validate(zero) is None
    assert "0 means None" in NETWORK_PARAMS["dale_ratio"].allowed and "PsychRNN" in NETWORK_PARAMS["dale_ratio"].help
    with pytest.raises(ParameterError, match="dale_ratio"):
        NETWORK_PARAMS["dale_ratio"].validate(True)  # not a fraction
    model = Basic(small_params(name="z", dale_ratio=zero))
    assert model.dale_ratio is None
    weights = dict(model.get_weights(), dale_ratio=zero)
    assert BasicSimulator(weights=weights).dale_ratio is None
    editor = ConnectivityEditor(weights["W_rec"], dale_ratio=zero)
    assert editor.dale_ratio is None and editor.n_exc is None
    panel = NetworkPanel(dict(N_rec=N_REC, dale_ratio=zero))
    assert not panel.controls["dale_enabled"].value and panel.network_params["dale_ratio"] is None
    panel.controls["dale_enabled"].value = True
    panel.controls["dale_ratio"].value = 0.0
    assert panel.valid and panel.network_params["dale_ratio"] is None and "no Dale" in panel.message.value
