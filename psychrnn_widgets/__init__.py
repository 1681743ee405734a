"""psychrnn_widgets: train and dissect rate RNNs on cognitive tasks, live in JupyterLab.

Public names are resolved lazily (PEP 562) so that ``import psychrnn_widgets`` stays
cheap: TensorFlow is imported only when a model, the trainer or the curriculum is
first touched.  ``psychrnn_widgets.tasks`` and the NumPy simulator never import it.
"""
from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC = {
    # tasks (NumPy only)
    "Task": "psychrnn_widgets.tasks.task",
    "PerceptualDiscrimination": "psychrnn_widgets.tasks.perceptual_discrimination",
    "DelayedDiscrimination": "psychrnn_widgets.tasks.delayed_discrimination",
    "MatchToCategory": "psychrnn_widgets.tasks.match_to_category",
    "ContextDependentIntegration": "psychrnn_widgets.tasks.context_integration",
    "GoNoGo": "psychrnn_widgets.tasks.go_nogo",
    "FlipFlop": "psychrnn_widgets.tasks.flip_flop",
    "ReadySetGo": "psychrnn_widgets.tasks.ready_set_go",
    "DelayedMatchToSample": "psychrnn_widgets.tasks.delayed_match_to_sample",
    "ProAntiSaccade": "psychrnn_widgets.tasks.pro_anti_saccade",
    "MultiTask": "psychrnn_widgets.tasks.multitask",
    "NeuroGymTask": "psychrnn_widgets.tasks.neurogym_adapter",
    "BUILTIN_TASKS": "psychrnn_widgets.tasks",
    # the catalogs of task and model classes (how files and records name a class)
    "register_task": "psychrnn_widgets.catalog",
    "register_model": "psychrnn_widgets.catalog",
    "load_model": "psychrnn_widgets.models.loading",
    # initialisers and constraints (NumPy only)
    "WeightInitializer": "psychrnn_widgets.models.initializers",
    "GaussianSpectralRadius": "psychrnn_widgets.models.initializers",
    "AlphaIdentity": "psychrnn_widgets.models.initializers",
    # models (TensorFlow)
    "RNN": "psychrnn_widgets.models.rnn",
    "Basic": "psychrnn_widgets.models.basic",
    "LSTM": "psychrnn_widgets.models.lstm",
    "GRU": "psychrnn_widgets.models.gru",
    "Ensemble": "psychrnn_widgets.models.ensemble",
    # training
    "Trainer": "psychrnn_widgets.training.trainer",
    "EnsembleTrainer": "psychrnn_widgets.training.trainer",
    "TrainingControl": "psychrnn_widgets.training.events",
    "TrainingEvent": "psychrnn_widgets.training.events",
    "Curriculum": "psychrnn_widgets.training.curriculum",
    "default_metric": "psychrnn_widgets.training.curriculum",
    # many networks: sweeps (dask, imported when a sweep runs)
    "Sweep": "psychrnn_widgets.sweeps.sweep",
    # TensorFlow's thread pools (set before TensorFlow starts)
    "set_tensorflow_threads": "psychrnn_widgets.threads",
    # simulation and weight files (NumPy only)
    "BasicSimulator": "psychrnn_widgets.simulation.basic",
    "LSTMSimulator": "psychrnn_widgets.simulation.lstm",
    "GRUSimulator": "psychrnn_widgets.simulation.gru",
    "SteppedSimulator": "psychrnn_widgets.simulation.stepping",
    "Simulator": "psychrnn_widgets.simulation.base",
    "save_weights": "psychrnn_widgets.io.weight_files",
    "load_weights": "psychrnn_widgets.io.weight_files",
    "export_psychrnn": "psychrnn_widgets.io.weight_files",
    "WeightFileError": "psychrnn_widgets.errors",
    "ParameterError": "psychrnn_widgets.errors",
    "TrainingDivergedError": "psychrnn_widgets.errors",
    "UnknownClassError": "psychrnn_widgets.errors",
    "RegistryError": "psychrnn_widgets.errors",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'psychrnn_widgets' has no attribute {name!r}")
    value = getattr(import_module(module_name), name)
    globals()[name] = value  # cache: the next lookup is a plain attribute access
    return value


def __dir__():
    return __all__
