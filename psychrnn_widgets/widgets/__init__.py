"""Widgets layer: ipywidgets panels (bqplot plots, anywidget front-ends from js/).

The only layer that imports ipywidgets, bqplot or anywidget.  Public names resolve lazily.
"""
from importlib import import_module

_PUBLIC = {
    "ThrottledUpdater": "psychrnn_widgets.widgets.throttle",
    "TaskPanel": "psychrnn_widgets.widgets.task_panel",
    "NetworkPanel": "psychrnn_widgets.widgets.network_panel",
    "TrainingPanel": "psychrnn_widgets.widgets.training_panel",
    "TrajectoryView": "psychrnn_widgets.widgets.trajectory_view",
    "CurriculumPanel": "psychrnn_widgets.widgets.curriculum_panel",
    "ConnectivityEditor": "psychrnn_widgets.widgets.connectivity",
    "Trajectory3D": "psychrnn_widgets.widgets.trajectory3d",
    "Lab": "psychrnn_widgets.widgets.lab",
    "Classroom": "psychrnn_widgets.widgets.classroom",
    "AnalysisTab": "psychrnn_widgets.widgets.analysis_tab",
    "BehaviourPanel": "psychrnn_widgets.widgets.analysis_behaviour",
    "UnitActivityPanel": "psychrnn_widgets.widgets.analysis_units",
    "ConnectivityPanel": "psychrnn_widgets.widgets.analysis_connectivity",
    "LesionPanel": "psychrnn_widgets.widgets.analysis_lesions",
    "FixedPointPanel": "psychrnn_widgets.widgets.analysis_fixed_points",
    "SweepPanel": "psychrnn_widgets.widgets.sweep_panel",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    module_name = _PUBLIC.get(name)
    if module_name is None:
        raise AttributeError(f"module 'psychrnn_widgets.widgets' has no attribute {name!r}")
    value = getattr(import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
