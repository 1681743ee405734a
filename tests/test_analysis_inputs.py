"""Every public function of psychrnn_widgets.analysis refuses bad inputs with a ParameterError naming the argument.

Wrong shapes, dtypes, NaN/inf, empty and one-class inputs and numeric arguments outside
their declarations (``params.ANALYSIS_PARAMS``) each raise a ``ParameterError`` whose
``parameter`` is the argument and whose message names it; one-class data either work
meaningfully (a curve without a fit, NaN selectivity) or are refused, never fitted into
nonsense.
"""
import math

import numpy as np
import pytest

from psychrnn_widgets import analysis as A
from psychrnn_widgets import PerceptualDiscrimination
from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.params import ANALYSIS_PARAMS, THREAD_PARAMS

N_IN, N_REC, N_OUT = 2, 6, 2


def weights(seed=0):
    rng = np.random.default_rng(seed)
    return {"W_in": rng.normal(0, 0.5, (N_REC, N_IN)), "W_rec": rng.normal(0, 0.3, (N_REC, N_REC)),
            "W_out": rng.normal(0, 0.5, (N_OUT, N_REC)), "b_rec": np.zeros(N_REC), "b_out": np.zeros(N_OUT),
            "init_state": np.zeros((1, N_REC)), "dt": 10.0, "tau": 100.0, "transfer_function": "relu"}


W = weights()
TASK = PerceptualDiscrimination(dt=10, tau=100, T=200, N_batch=4, seed=0)
B, T = 12, 20
RATES = np.abs(np.random.default_rng(1).normal(size=(B, T, N_REC)))
OUTPUTS = np.random.default_rng(2).normal(size=(B, T, N_OUT))
CHOICES = np.array([0, 1] * (B // 2))
GROUP = np.arange(B) % 3
NAN = math.nan


def batch():
    return A.condition_batch(TASK, n_per_level=2, seed=0)


def fit_args(**changes):
    args = dict(levels=[-0.2, 0.0, 0.2], n_trials=[10, 10, 10], n_choice1=[2, 5, 8])
    args.update(changes)
    return args


# (label, call, the argument it must name)
CASES = [
    # psychometric_data
    ("psychometric_data evidence NaN", lambda: A.psychometric_data([0.1, NAN], [0, 1]), "evidence"),
    ("psychometric_data evidence 2-D", lambda: A.psychometric_data(np.zeros((2, 2)), [0, 1]), "evidence"),
    ("psychometric_data evidence empty", lambda: A.psychometric_data([], []), "evidence"),
    ("psychometric_data choices shorter", lambda: A.psychometric_data([0.1, 0.2], [1]), "choices"),
    ("psychometric_data choices 0.5", lambda: A.psychometric_data([0.1, 0.2], [0.5, 1]), "choices"),
    ("psychometric_data choices text", lambda: A.psychometric_data([0.1, 0.2], "ab"), "choices"),
    ("psychometric_data levels NaN", lambda: A.psychometric_data([0.1, 0.2], [0, 1], levels=[NAN]), "levels"),
    ("psychometric_data levels empty", lambda: A.psychometric_data([0.1, 0.2], [0, 1], levels=[]), "levels"),
    # fit_psychometric
    ("fit_psychometric levels NaN", lambda: A.fit_psychometric(**fit_args(levels=[NAN, 0, 1])), "levels"),
    ("fit_psychometric levels 2-D", lambda: A.fit_psychometric(**fit_args(levels=np.zeros((3, 1)))), "levels"),
    ("fit_psychometric levels empty", lambda: A.fit_psychometric([], [], []), "levels"),
    ("fit_psychometric n_trials negative", lambda: A.fit_psychometric(**fit_args(n_trials=[10, -1, 10])), "n_trials"),
    ("fit_psychometric n_trials 1.5", lambda: A.fit_psychometric(**fit_args(n_trials=[10, 1.5, 10])), "n_trials"),
    ("fit_psychometric n_trials shorter", lambda: A.fit_psychometric(**fit_args(n_trials=[10, 10])), "n_trials"),
    ("fit_psychometric n_choice1 > n_trials", lambda: A.fit_psychometric(**fit_args(n_choice1=[2, 11, 8])), "n_choice1"),
    ("fit_psychometric n_choice1 inf", lambda: A.fit_psychometric(**fit_args(n_choice1=[2, math.inf, 8])), "n_choice1"),
    ("fit_psychometric one class: all chose 1", lambda: A.fit_psychometric(**fit_args(n_choice1=[10, 10, 10])), "n_choice1"),
    ("fit_psychometric one class: none chose 1", lambda: A.fit_psychometric(**fit_args(n_choice1=[0, 0, 0])), "n_choice1"),
    ("fit_psychometric one level with trials", lambda: A.fit_psychometric(**fit_args(n_trials=[0, 10, 0], n_choice1=[0, 5, 0])),
     "n_trials"),
    ("fit_psychometric ci 'wald'", lambda: A.fit_psychometric(**fit_args(), ci="wald"), "ci"),
    ("fit_psychometric ci_level 1.5", lambda: A.fit_psychometric(**fit_args(), ci_level=1.5), "ci_level"),
    ("fit_psychometric ci_level 0", lambda: A.fit_psychometric(**fit_args(), ci_level=0), "ci_level"),
    ("fit_psychometric ci_level NaN", lambda: A.fit_psychometric(**fit_args(), ci_level=NAN), "ci_level"),
    ("fit_psychometric n_bootstrap 0", lambda: A.fit_psychometric(**fit_args(), ci="bootstrap", n_bootstrap=0), "n_bootstrap"),
    ("fit_psychometric n_bootstrap 10**9", lambda: A.fit_psychometric(**fit_args(), n_bootstrap=10 ** 9), "n_bootstrap"),
    ("fit_psychometric seed -1", lambda: A.fit_psychometric(**fit_args(), seed=-1), "seed"),
    ("fit_psychometric lapses 'yes'", lambda: A.fit_psychometric(**fit_args(), lapses="yes"), "lapses"),
    # psychometric_curve
    ("psychometric_curve n_per_level 0", lambda: A.psychometric_curve(W, TASK, n_per_level=0), "n_per_level"),
    ("psychometric_curve n_per_level -5", lambda: A.psychometric_curve(W, TASK, n_per_level=-5), "n_per_level"),
    ("psychometric_curve n_per_level 1.5", lambda: A.psychometric_curve(W, TASK, n_per_level=1.5), "n_per_level"),
    ("psychometric_curve n_per_level 10**9", lambda: A.psychometric_curve(W, TASK, n_per_level=10 ** 9), "n_per_level"),
    ("psychometric_curve evidence without choices", lambda: A.psychometric_curve(evidence=[0.1, 0.2]), "choices"),
    ("psychometric_curve choices without evidence", lambda: A.psychometric_curve(choices=[0, 1]), "evidence"),
    ("psychometric_curve evidence NaN", lambda: A.psychometric_curve(evidence=[NAN, 0.2], choices=[0, 1]), "evidence"),
    ("psychometric_curve correct shorter", lambda: A.psychometric_curve(evidence=[0.1, 0.2], choices=[0, 1], correct=[1]),
     "correct"),
    ("psychometric_curve fit 'maybe'", lambda: A.psychometric_curve(evidence=[0.1, 0.2], choices=[0, 1], fit="maybe"), "fit"),
    ("psychometric_curve ci 'exact'", lambda: A.psychometric_curve(W, TASK, ci="exact"), "ci"),
    ("psychometric_curve no network", lambda: A.psychometric_curve(task=TASK), "source"),
    ("psychometric_curve no task", lambda: A.psychometric_curve(W), "task"),
    ("psychometric_curve seed 'abc'", lambda: A.psychometric_curve(W, TASK, seed="abc"), "seed"),
    ("psychometric_curve levels NaN", lambda: A.psychometric_curve(W, TASK, levels=[NAN, 0.1]), "levels"),
    # reaction_times
    ("reaction_times outputs 2-D", lambda: A.reaction_times(OUTPUTS[0], 0.0, 10), "outputs"),
    ("reaction_times outputs NaN", lambda: A.reaction_times(np.full((2, 5, 2), NAN), 0.0, 10), "outputs"),
    ("reaction_times outputs empty", lambda: A.reaction_times(np.zeros((0, 5, 2)), 0.0, 10), "outputs"),
    ("reaction_times outputs text", lambda: A.reaction_times("outputs", 0.0, 10), "outputs"),
    ("reaction_times dt 0", lambda: A.reaction_times(OUTPUTS, 0.0, 0), "dt"),
    ("reaction_times dt NaN", lambda: A.reaction_times(OUTPUTS, 0.0, NAN), "dt"),
    ("reaction_times threshold 0", lambda: A.reaction_times(OUTPUTS, 0.0, 10, threshold=0), "threshold"),
    ("reaction_times threshold -1", lambda: A.reaction_times(OUTPUTS, 0.0, 10, threshold=-1), "threshold"),
    ("reaction_times channels (0, 0)", lambda: A.reaction_times(OUTPUTS, 0.0, 10, channels=(0, 0)), "channels"),
    ("reaction_times channels (0, 5)", lambda: A.reaction_times(OUTPUTS, 0.0, 10, channels=(0, 5)), "channels"),
    ("reaction_times channels 'ab'", lambda: A.reaction_times(OUTPUTS, 0.0, 10, channels="ab"), "channels"),
    ("reaction_times channels three", lambda: A.reaction_times(OUTPUTS, 0.0, 10, channels=(0, 1, 2)), "channels"),
    ("reaction_times rule 'last'", lambda: A.reaction_times(OUTPUTS, 0.0, 10, rule="last"), "rule"),
    ("reaction_times onset negative", lambda: A.reaction_times(OUTPUTS, -5.0, 10), "onset"),
    ("reaction_times onset wrong length", lambda: A.reaction_times(OUTPUTS, np.zeros(B + 1), 10), "onset"),
    ("reaction_times onset NaN", lambda: A.reaction_times(OUTPUTS, NAN, 10), "onset"),
    # chronometric_curve, output_traces, behaviour
    ("chronometric_curve threshold -1", lambda: A.chronometric_curve(W, TASK, threshold=-1), "threshold"),
    ("chronometric_curve n_per_level 0", lambda: A.chronometric_curve(W, TASK, n_per_level=0), "n_per_level"),
    ("chronometric_curve batch 3", lambda: A.chronometric_curve(W, batch=3), "batch"),
    ("chronometric_curve outputs shape", lambda: A.chronometric_curve(W, batch=batch(), outputs=np.zeros((1, 2, 2))),
     "outputs"),
    ("chronometric_curve rule", lambda: A.chronometric_curve(W, TASK, rule="median"), "rule"),
    ("chronometric_curve correct_only 2", lambda: A.chronometric_curve(W, TASK, correct_only=2), "correct_only"),
    ("chronometric_curve no task", lambda: A.chronometric_curve(W), "task"),
    ("output_traces n_per_level 0", lambda: A.output_traces(W, TASK, n_per_level=0), "n_per_level"),
    ("output_traces outputs NaN", lambda: A.output_traces(W, batch=batch(), outputs=np.full((28, 20, 2), NAN)),
     "outputs"),
    ("output_traces batch 'b'", lambda: A.output_traces(W, batch="b"), "batch"),
    ("output_traces no task", lambda: A.output_traces(W), "task"),
    ("behaviour n_per_level 0", lambda: A.behaviour(W, TASK, n_per_level=0), "n_per_level"),
    ("behaviour threshold NaN", lambda: A.behaviour(W, TASK, threshold=NAN), "threshold"),
    ("behaviour ci", lambda: A.behaviour(W, TASK, ci="none"), "ci"),
    # conditions
    ("condition_batch task 3", lambda: A.condition_batch(3), "task"),
    ("condition_batch levels NaN", lambda: A.condition_batch(TASK, levels=[NAN]), "levels"),
    ("condition_batch levels empty", lambda: A.condition_batch(TASK, levels=[]), "levels"),
    ("condition_batch n_per_level 0", lambda: A.condition_batch(TASK, n_per_level=0), "n_per_level"),
    ("condition_batch seed -1", lambda: A.condition_batch(TASK, seed=-1), "seed"),
    ("condition_batch fixed_timing 'x'", lambda: A.condition_batch(TASK, fixed_timing="x"), "fixed_timing"),
    ("condition_batch noise 2", lambda: A.condition_batch(TASK, noise=2), "noise"),
    ("condition_batch n_trials 0", lambda: A.condition_batch(TASK, n_trials=0), "n_trials"),
    ("chosen_channel outputs 2-D", lambda: A.chosen_channel(np.zeros((3, 2)), np.ones((3, 2))), "outputs"),
    ("chosen_channel mask shape", lambda: A.chosen_channel(OUTPUTS, np.ones((B, T, 3))), "mask"),
    ("chosen_channel outputs NaN", lambda: A.chosen_channel(np.full((2, 3, 2), NAN), np.ones((2, 3, 2))),
     "outputs"),
    ("register_task_conditions class 3", lambda: A.register_task_conditions(3, A.TaskConditions()), "task_class"),
    # units
    ("psth rates 2-D", lambda: A.psth(RATES[0], GROUP), "rates"),
    ("psth rates NaN", lambda: A.psth(np.full((2, 3, 4), NAN), [0, 1]), "rates"),
    ("psth rates empty", lambda: A.psth(np.zeros((0, 3, 4)), []), "rates"),
    ("psth group shorter", lambda: A.psth(RATES, GROUP[:-1]), "group"),
    ("psth group 1.5", lambda: A.psth(RATES, GROUP + 0.5), "group"),
    ("psth group -1", lambda: A.psth(RATES, GROUP - 1), "group"),
    ("psth group >= n_groups", lambda: A.psth(RATES, GROUP, n_groups=2), "group"),
    ("psth units out of range", lambda: A.psth(RATES, GROUP, units=[0, N_REC]), "units"),
    ("psth units 1.5", lambda: A.psth(RATES, GROUP, units=[1.5]), "units"),
    ("psth n_groups 0", lambda: A.psth(RATES, GROUP, n_groups=0), "n_groups"),
    ("condition_average values empty", lambda: A.condition_average(np.zeros((0, 3)), []), "values"),
    ("condition_average group shorter", lambda: A.condition_average(RATES, GROUP[:3]), "group"),
    ("condition_average n_groups -1", lambda: A.condition_average(RATES, GROUP, n_groups=-1), "n_groups"),
    ("choice_selectivity rates 2-D", lambda: A.choice_selectivity(RATES[0], CHOICES), "rates"),
    ("choice_selectivity rates inf", lambda: A.choice_selectivity(np.full((2, 3, 4), math.inf), [0, 1]), "rates"),
    ("choice_selectivity choices shorter", lambda: A.choice_selectivity(RATES, CHOICES[:-1]), "choices"),
    ("choice_selectivity one class", lambda: A.choice_selectivity(RATES, np.ones(B)), "choices"),
    ("choice_selectivity choices 0.5", lambda: A.choice_selectivity(RATES, CHOICES * 0.5), "choices"),
    ("choice_selectivity window (5, 2)", lambda: A.choice_selectivity(RATES, CHOICES, window=(5, 2)), "window"),
    ("choice_selectivity window beyond T", lambda: A.choice_selectivity(RATES, CHOICES, window=(0, T + 1)), "window"),
    ("choice_selectivity window 'abc'", lambda: A.choice_selectivity(RATES, CHOICES, window="abc"), "window"),
    ("choice_selectivity window negative", lambda: A.choice_selectivity(RATES, CHOICES, window=(-2, 3)), "window"),
    ("unit_order n_rec 0", lambda: A.unit_order(0), "n_rec"),
    ("unit_order by 'size'", lambda: A.unit_order(N_REC, by="size"), "by"),
    ("unit_order by 3", lambda: A.unit_order(N_REC, by=3), "by"),
    ("unit_order selectivity shorter", lambda: A.unit_order(N_REC, "selectivity", np.zeros(3)), "selectivity"),
    ("unit_order selectivity NaN", lambda: A.unit_order(N_REC, "selectivity", np.full(N_REC, NAN)), "selectivity"),
    ("unit_order selectivity missing", lambda: A.unit_order(N_REC, "selectivity"), "selectivity"),
    ("unit_order excitatory shorter", lambda: A.unit_order(N_REC, "ei", excitatory=[True]), "excitatory"),
    ("unit_activity n_per_level 0", lambda: A.unit_activity(W, TASK, n_per_level=0), "n_per_level"),
    ("unit_activity window (3, 1)", lambda: A.unit_activity(W, TASK, window=(3, 1)), "window"),
    ("unit_activity window beyond", lambda: A.unit_activity(W, TASK, window=(0, 10 ** 6)), "window"),
    # principal components
    ("pca states empty", lambda: A.pca(np.zeros((0, 4))), "states"),
    ("pca states NaN", lambda: A.pca(np.full((5, 4), NAN)), "states"),
    ("pca states text", lambda: A.pca("states"), "states"),
    ("pca n_components 0", lambda: A.pca(RATES, 0), "n_components"),
    ("pca n_components 1.5", lambda: A.pca(RATES, 1.5), "n_components"),
    ("pca n_components 10**6", lambda: A.pca(RATES, 10 ** 6), "n_components"),
    ("pca previous NaN", lambda: A.pca(RATES, 2, previous=np.full((2, N_REC), NAN)), "previous"),
    ("pca_project states 2-D", lambda: A.pca_project(RATES[0]), "states"),
    # connectivity
    ("connectivity order repeats", lambda: A.connectivity(W, order=[0] * N_REC), "order"),
    ("connectivity order 1.5", lambda: A.connectivity(W, order=np.arange(N_REC) + 0.5), "order"),
    ("connectivity order shorter", lambda: A.connectivity(W, order=[0, 1]), "order"),
    ("connectivity by unknown", lambda: A.connectivity(W, by=("colour",)), "by"),
    ("connectivity selectivity NaN", lambda: A.connectivity(W, by=("selectivity",),
                                                            selectivity=np.full(N_REC, NAN)), "selectivity"),
    ("eigenspectrum not square", lambda: A.eigenspectrum(np.zeros((3, 4))), "matrix_or_source"),
    ("eigenspectrum NaN", lambda: A.eigenspectrum(np.full((3, 3), NAN)), "matrix_or_source"),
    ("eigenspectrum empty", lambda: A.eigenspectrum(np.zeros((0, 0))), "matrix_or_source"),
    ("eigenspectrum 3-D", lambda: A.eigenspectrum(np.zeros((2, 2, 2))), "matrix_or_source"),
    ("eigenspectrum ragged list", lambda: A.eigenspectrum([[1, 2], [3]]), "matrix_or_source"),
    ("eigenspectrum label 3", lambda: A.eigenspectrum(np.eye(3), label=3), "label"),
    ("state_jacobian state shorter", lambda: A.state_jacobian(W, np.zeros(3)), "state"),
    ("state_jacobian state NaN", lambda: A.state_jacobian(W, np.full(N_REC, NAN)), "state"),
    ("state_jacobian rnn_in longer", lambda: A.state_jacobian(W, np.zeros(N_REC), np.zeros(5)), "rnn_in"),
    ("state_jacobian eps 0", lambda: A.state_jacobian(W, np.zeros(N_REC), eps=0), "eps"),
    ("state_jacobian eps -1", lambda: A.state_jacobian(W, np.zeros(N_REC), eps=-1), "eps"),
    ("state_jacobian eps NaN", lambda: A.state_jacobian(W, np.zeros(N_REC), eps=NAN), "eps"),
    ("jacobian_spectrum state inf", lambda: A.jacobian_spectrum(W, np.full(N_REC, math.inf)), "state"),
    ("connectivity_report selectivity shorter", lambda: A.connectivity_report(W, selectivity=[1.0]), "selectivity"),
    ("connectivity_report state NaN", lambda: A.connectivity_report(W, state=np.full(N_REC, NAN)), "state"),
    # lesions
    ("select_units by 'random'", lambda: A.select_units(W, by="random"), "by"),
    ("select_units units out of range", lambda: A.select_units(W, units=[N_REC]), "units"),
    ("select_units units negative", lambda: A.select_units(W, units=[-1]), "units"),
    ("select_units units 1.5", lambda: A.select_units(W, units=[1.5]), "units"),
    ("select_units n 0", lambda: A.select_units(W, "selectivity", selectivity=np.zeros(N_REC), n=0), "n"),
    ("select_units n > N_rec", lambda: A.select_units(W, "selectivity", selectivity=np.zeros(N_REC), n=99), "n"),
    ("select_units sign 2", lambda: A.select_units(W, "selectivity", selectivity=np.zeros(N_REC), sign=2), "sign"),
    ("select_units selectivity NaN", lambda: A.select_units(W, "selectivity", selectivity=np.full(N_REC, NAN)),
     "selectivity"),
    ("select_units selectivity missing", lambda: A.select_units(W, "selectivity"), "selectivity"),
    ("perturbations_for units -1", lambda: A.perturbations_for([-1]), "units"),
    ("perturbations_for units 0.5", lambda: A.perturbations_for([0.5]), "units"),
    ("perturbations_for kind 'burn'", lambda: A.perturbations_for([0], kind="burn"), "kind"),
    ("perturbations_for value NaN", lambda: A.perturbations_for([0], "clamp", value=NAN), "value"),
    ("perturbations_for delta inf", lambda: A.perturbations_for([0], "kick", delta=math.inf), "delta"),
    ("perturbations_for step -1", lambda: A.perturbations_for([0], "kick", step=-1), "step"),
    ("perturbations_for step 1.5", lambda: A.perturbations_for([0], "kick", step=1.5), "step"),
    ("perturbations_for start -1", lambda: A.perturbations_for([0], start=-1), "start"),
    ("perturbations_for stop <= start", lambda: A.perturbations_for([0], start=5, stop=5), "stop"),
    ("lesion units out of range", lambda: A.lesion(W, TASK, units=[N_REC + 3]), "units"),
    ("lesion n_per_level 0", lambda: A.lesion(W, TASK, units=[0], n_per_level=0), "n_per_level"),
    ("lesion n_components 0", lambda: A.lesion(W, TASK, units=[0], n_components=0), "n_components"),
    ("lesion baseline 3", lambda: A.lesion(W, TASK, units=[0], baseline=3), "baseline"),
    ("lesion kind", lambda: A.lesion(W, TASK, units=[0], kind="cut"), "kind"),
    # states for the fixed-point finder (NumPy part)
    ("sample_states states empty", lambda: A.sample_states(np.zeros((0, 4)), 3), "states"),
    ("sample_states states NaN", lambda: A.sample_states(np.full((5, 4), NAN), 3), "states"),
    ("sample_states n 0", lambda: A.sample_states(RATES, 0), "n"),
    ("sample_states n 10**9", lambda: A.sample_states(RATES, 10 ** 9), "n"),
    ("sample_states n None", lambda: A.sample_states(RATES, None), "n"),
    ("sample_states noise_scale -1", lambda: A.sample_states(RATES, 3, noise_scale=-1), "noise_scale"),
    ("sample_states seed -1", lambda: A.sample_states(RATES, 3, seed=-1), "seed"),
    # sources, simulation, helpers
    ("simulate x wrong N_in", lambda: A.simulate(W, np.zeros((2, 5, N_IN + 1))), "x"),
    ("simulate x NaN", lambda: A.simulate(W, np.full((2, 5, N_IN), NAN)), "x"),
    ("simulate x empty", lambda: A.simulate(W, np.zeros((0, 5, N_IN))), "x"),
    ("excitatory_mask n_rec 0", lambda: A.excitatory_mask(0), "n_rec"),
    ("excitatory_mask dale_ratio 2", lambda: A.excitatory_mask(5, dale_ratio=2.0), "dale_ratio"),
    ("checkpoints check 3", lambda: A.checkpoints(3).__enter__(), "check"),
    ("logistic_with_lapses x NaN", lambda: A.logistic_with_lapses([NAN], 0, 1), "x"),
    ("logistic_with_lapses bias NaN", lambda: A.logistic_with_lapses([0.0], NAN, 1), "bias"),
    ("logistic_with_lapses slope inf", lambda: A.logistic_with_lapses([0.0], 0, math.inf), "slope"),
    ("logistic_with_lapses guess 2", lambda: A.logistic_with_lapses([0.0], 0, 1, guess=2), "guess"),
    ("logistic_with_lapses guess + lapse > 1", lambda: A.logistic_with_lapses([0.0], 0, 1, guess=0.6, lapse=0.6), "lapse"),
    ("save_figure suffix .txt", lambda: A.save_figure(None, "figure.txt"), "path"),
]


@pytest.mark.parametrize("label,call,name", CASES, ids=[case[0] for case in CASES])
def test_bad_input_raises_a_parameter_error_naming_the_argument(label, call, name):
    with pytest.raises(ParameterError) as info:
        call()
    message = str(info.value)
    assert name in message, message
    assert info.value.parameter in (name, None) or name in str(info.value.parameter), (info.value.parameter, message)


def test_every_public_function_of_the_analysis_package_has_bad_input_cases():
    """No public function of these modules is left out of CASES (each label starts with the function's name)."""
    import inspect

    modules = {f"psychrnn_widgets.analysis.{name}" for name in (
        "_results", "_source", "behaviour", "conditions", "connectivity", "fixed_points", "lesions", "pca", "units")}
    functions = {name for name in A.__all__
                 if inspect.isfunction(getattr(A, name)) and getattr(A, name).__module__ in modules}
    covered = {label.split()[0] for label, _, _ in CASES}
    in_their_own_test = {"find_fixed_points", "jacobians", "speed", "as_tf_model"}  # TensorFlow: below
    taking_anything = {"as_simulator", "network_weights", "task_conditions", "trial_conditions"}  # a network/task
    assert not functions - covered - in_their_own_test - taking_anything, functions - covered


def test_n_per_level_zero_is_reported_as_n_per_level_not_as_a_batch_size():
    with pytest.raises(ParameterError) as info:
        A.psychometric_curve(W, TASK, n_per_level=0)
    assert info.value.parameter == "n_per_level" and "N_batch" not in str(info.value)
    assert "[1, 10000]" in str(info.value)  # what is allowed, from the declaration


def test_numeric_arguments_are_declared_and_validated_through_the_declarations():
    for name in ("n_per_level", "n_bootstrap", "ci_level", "threshold", "q_tolerance", "max_iterations", "chunk",
                 "newton_steps", "n_components", "eps", "window", "channels", "sign"):
        parameter = ANALYSIS_PARAMS[name]
        assert parameter.help and parameter.name == name
    for value in ANALYSIS_PARAMS["n_per_level"].invalid_examples():
        with pytest.raises(ParameterError, match="n_per_level"):
            A.condition_batch(TASK, n_per_level=value)


def test_thread_pools_have_a_sensible_upper_bound():
    from psychrnn_widgets import set_tensorflow_threads

    for pool in ("intra_op", "inter_op"):
        assert THREAD_PARAMS[pool].high is not None and THREAD_PARAMS[pool].high <= 4096
        with pytest.raises(ParameterError, match=pool) as info:
            set_tensorflow_threads(**{pool: 10 ** 9})
        assert info.value.parameter == pool and "1024" in str(info.value)


# ----------------------------------------------------------------- one-class data
def test_a_curve_where_every_trial_chose_1_has_no_fit_instead_of_a_nonsense_one():
    evidence = np.repeat([-0.2, -0.1, 0.1, 0.2], 10)
    curve = A.psychometric_curve(evidence=evidence, choices=np.ones(40, int))
    assert curve.fit is None
    np.testing.assert_array_equal(curve.p_choice1, [1.0, 1.0, 1.0, 1.0])
    both = A.psychometric_curve(evidence=evidence, choices=(evidence > 0).astype(int))
    assert both.fit is not None and both.fit.slope > 0


def test_unit_activity_of_a_network_that_always_chooses_one_side_reports_nan_selectivity():
    silent = dict(W, W_out=np.zeros((N_OUT, N_REC)), b_out=np.array([0.0, 1.0]))  # always answers 1
    activity = A.unit_activity(silent, TASK, n_per_level=2)
    assert np.isnan(activity.selectivity).all()
    assert sorted(activity.order().tolist()) == list(range(N_REC))  # still sortable (by E/I, then index)
    with pytest.raises(ParameterError, match="choices"):
        A.choice_selectivity(np.ones((4, 3, N_REC)), np.ones(4))


def test_good_inputs_still_work():
    """The checks accept what the functions always took: lists, ints, (1, N) states, bool choices."""
    levels, n, k = A.psychometric_data([0.1, -0.1, 0.1], [True, False, True])
    assert levels.tolist() == [-0.1, 0.1] and n.tolist() == [1, 2] and k.tolist() == [0, 2]
    fit = A.fit_psychometric(**fit_args())
    assert np.isfinite(fit.bias) and fit.slope > 0
    assert A.state_jacobian(W, np.zeros((1, N_REC))).shape == (N_REC, N_REC)
    assert A.eigenspectrum([[2.0, 0.0], [0.0, 1.0]]).spectral_radius == pytest.approx(2.0)
    rt, choice = A.reaction_times(OUTPUTS, np.zeros(B), 10)
    assert rt.shape == choice.shape == (B,)
    assert A.select_units(W, units=3).tolist() == [3]
    assert A.pca(RATES, 2).components.shape == (2, N_REC)


# ----------------------------------------------------------------- TensorFlow ones
@pytest.fixture(scope="module")
def tf_model():
    pytest.importorskip("tensorflow")
    return A.as_tf_model(W)


STATES = np.zeros((3, N_REC), np.float32)
TF_CASES = [
    ("find_fixed_points initial_states wrong N_rec", lambda m: A.find_fixed_points(m, np.zeros((3, 4))),
     "initial_states"),
    ("find_fixed_points initial_states NaN", lambda m: A.find_fixed_points(m, np.full((3, N_REC), NAN)),
     "initial_states"),
    ("find_fixed_points initial_states empty", lambda m: A.find_fixed_points(m, np.zeros((0, N_REC))),
     "initial_states"),
    ("find_fixed_points inputs wrong length", lambda m: A.find_fixed_points(m, STATES, inputs=np.zeros(5)), "inputs"),
    ("find_fixed_points inputs NaN", lambda m: A.find_fixed_points(m, STATES, inputs=[NAN, 0.0]), "inputs"),
    ("find_fixed_points q_tolerance 0", lambda m: A.find_fixed_points(m, STATES, q_tolerance=0), "q_tolerance"),
    ("find_fixed_points unique_tolerance -1", lambda m: A.find_fixed_points(m, STATES, unique_tolerance=-1),
     "unique_tolerance"),
    ("find_fixed_points max_iterations 0", lambda m: A.find_fixed_points(m, STATES, max_iterations=0),
     "max_iterations"),
    ("find_fixed_points learning_rate -1", lambda m: A.find_fixed_points(m, STATES, learning_rate=-1),
     "learning_rate"),
    ("find_fixed_points final_lr_ratio 2", lambda m: A.find_fixed_points(m, STATES, final_lr_ratio=2),
     "final_lr_ratio"),
    ("find_fixed_points chunk 0", lambda m: A.find_fixed_points(m, STATES, chunk=0), "chunk"),
    ("find_fixed_points newton_steps -1", lambda m: A.find_fixed_points(m, STATES, newton_steps=-1), "newton_steps"),
    ("find_fixed_points newton_steps 1.5", lambda m: A.find_fixed_points(m, STATES, newton_steps=1.5),
     "newton_steps"),
    ("find_fixed_points should_stop 3", lambda m: A.find_fixed_points(m, STATES, should_stop=3), "should_stop"),
    ("find_fixed_points progress 'x'", lambda m: A.find_fixed_points(m, STATES, progress="x"), "progress"),
    ("speed states NaN", lambda m: A.speed(m, np.full((2, N_REC), NAN)), "states"),
    ("speed states wrong N_rec", lambda m: A.speed(m, np.zeros((2, 3))), "states"),
    ("speed inputs wrong length", lambda m: A.speed(m, STATES, inputs=np.zeros(7)), "inputs"),
    ("jacobians states empty", lambda m: A.jacobians(m, np.zeros((0, N_REC))), "states"),
    ("jacobians inputs NaN", lambda m: A.jacobians(m, STATES, inputs=[NAN, NAN]), "inputs"),
]


@pytest.mark.parametrize("label,call,name", TF_CASES, ids=[case[0] for case in TF_CASES])
def test_tensorflow_functions_refuse_bad_inputs_naming_the_argument(tf_model, label, call, name):
    with pytest.raises(ParameterError) as info:
        call(tf_model)
    assert name in str(info.value), str(info.value)
