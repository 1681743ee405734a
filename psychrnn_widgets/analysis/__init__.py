"""Analysis of trained networks: plain functions that return arrays and small result objects.

NumPy and SciPy only at import (TensorFlow is imported by the fixed-point functions when
they run).  Every function takes a network ``source`` — a model, a weights dict from
``get_weights()``, a weight file or a ``BasicSimulator`` — and a task (or explicit
per-trial arrays), and runs trials through the NumPy simulator with recurrent noise off.
Result objects have ``to_arrays()``, ``to_figure()`` and ``save(path)`` (SVG/PNG).

===========================  ==================================================
behaviour                    :func:`psychometric_curve`, :func:`fit_psychometric`,
                             :func:`chronometric_curve`, :func:`reaction_times`,
                             :func:`output_traces`, :func:`behaviour`
unit activity                :func:`unit_activity`, :func:`psth`,
                             :func:`choice_selectivity`, :func:`unit_order`
connectivity                 :func:`connectivity`, :func:`eigenspectrum`, :func:`connectivity_report`,
                             :func:`state_jacobian`, :func:`jacobian_spectrum`
lesions and perturbations    :func:`lesion`, :func:`select_units`, :func:`perturbations_for`
fixed and slow points (TF)   :func:`find_fixed_points`, :func:`sample_states`,
                             :func:`jacobians`, :func:`speed`
trials and conditions        :func:`condition_batch`, :func:`trial_conditions`,
                             :func:`register_task_conditions`, :class:`TaskConditions`
principal components         :func:`pca`, :func:`pca_project`
comparing two networks       :func:`cka`, :func:`procrustes_distance`, :func:`cca_similarity`,
                             :func:`compare`; dynamics: :func:`dsa_distance`, :func:`havok_dmd`
against recordings           :func:`load_recordings`, :class:`Recordings`, :func:`fit_recordings`
fixed points across inputs   :func:`fixed_points_across_inputs`, :func:`line_attractor_summary`,
                             :func:`context_integration_inputs`, :func:`context_line_attractors`
across training              :func:`dynamics_over_training` (a trainer's checkpoints)
===========================  ==================================================
"""
from ._results import AnalysisResult, save_figure
from ._source import as_simulator, checkpoints, excitatory_mask, network_weights, simulate
from .behaviour import (Behaviour, ChronometricCurve, ConditionTraces, PsychometricCurve, PsychometricFit, behaviour,
                        chronometric_curve, fit_psychometric, logistic_with_lapses, output_traces, psychometric_curve,
                        psychometric_data, reaction_times)
from .conditions import (ConditionBatch, PerceptualDiscriminationConditions, TaskConditions, TrialParamConditions,
                         chosen_channel, condition_batch, register_task_conditions, task_conditions,
                         trial_conditions)
from .connectivity import (Connectivity, ConnectivityReport, Eigenspectrum, connectivity, connectivity_report,
                           eigenspectrum, jacobian_spectrum, state_jacobian)
from .fixed_points import FixedPoints, as_tf_model, find_fixed_points, jacobians, sample_states, speed
from .lesions import Lesion, lesion, perturbations_for, select_units
from .pca import PCA, pca, pca_project
from .units import UnitActivity, choice_selectivity, condition_average, psth, unit_activity, unit_order
from .similarity import (CCASimilarity, CKA, Comparison, ShapeDistance, Similarity, cca_similarity, cka, compare,
                         procrustes_distance)
from .dynamics import DMD, DSADistance, delay_embedding, dsa_distance, havok_dmd, similarity_transform_distance
from .recordings import (EXAMPLE_NETWORK, EXAMPLE_RECORDINGS, FLIPFLOP_NETWORK, FLIPFLOP_RECORDINGS, RecordingFit,
                         Recordings, fit_recordings, load_recordings, recording_inputs)
from .fixed_point_family import (FixedPointFamily, LineAttractorSummary, context_integration_inputs,
                                 context_line_attractors, fixed_points_across_inputs, line_attractor_summary)
from .over_training import TrainingDynamics, dynamics_over_training

__all__ = [
    "AnalysisResult", "save_figure",
    "as_simulator", "checkpoints", "excitatory_mask", "network_weights", "simulate",
    "Behaviour", "ChronometricCurve", "ConditionTraces", "PsychometricCurve", "PsychometricFit", "behaviour",
    "chronometric_curve", "fit_psychometric", "logistic_with_lapses", "output_traces", "psychometric_curve",
    "psychometric_data", "reaction_times",
    "ConditionBatch", "PerceptualDiscriminationConditions", "TaskConditions", "TrialParamConditions",
    "chosen_channel", "condition_batch", "register_task_conditions", "task_conditions", "trial_conditions",
    "Connectivity", "ConnectivityReport", "Eigenspectrum", "connectivity", "connectivity_report", "eigenspectrum",
    "jacobian_spectrum", "state_jacobian",
    "FixedPoints", "as_tf_model", "find_fixed_points", "jacobians", "sample_states", "speed",
    "Lesion", "lesion", "perturbations_for", "select_units",
    "PCA", "pca", "pca_project",
    "UnitActivity", "choice_selectivity", "condition_average", "psth", "unit_activity", "unit_order",
    "CCASimilarity", "CKA", "Comparison", "ShapeDistance", "Similarity", "cca_similarity", "cka", "compare",
    "procrustes_distance",
    "DMD", "DSADistance", "delay_embedding", "dsa_distance", "havok_dmd", "similarity_transform_distance",
    "EXAMPLE_NETWORK", "EXAMPLE_RECORDINGS", "FLIPFLOP_NETWORK", "FLIPFLOP_RECORDINGS", "RecordingFit", "Recordings",
    "fit_recordings", "load_recordings", "recording_inputs",
    "FixedPointFamily", "LineAttractorSummary", "context_integration_inputs", "context_line_attractors",
    "fixed_points_across_inputs", "line_attractor_summary",
    "TrainingDynamics", "dynamics_over_training",
]
