"""Cognitive tasks (NumPy only; importing this package never imports TensorFlow).

``Task`` is the PsychRNN-compatible base class; the built-in tasks keep PsychRNN's trial
structure and add seeds and a vectorised batch path.
"""
from psychrnn_widgets.tasks.delayed_discrimination import DelayedDiscrimination
from psychrnn_widgets.tasks.match_to_category import MatchToCategory
from psychrnn_widgets.tasks.perceptual_discrimination import PerceptualDiscrimination
from psychrnn_widgets.tasks.task import Task, TaskParameter, argmax_accuracy

#: built-in task classes by name (e.g. for a task chooser)
BUILTIN_TASKS = {
    "PerceptualDiscrimination": PerceptualDiscrimination,
    "DelayedDiscrimination": DelayedDiscrimination,
    "MatchToCategory": MatchToCategory,
}

__all__ = [
    "BUILTIN_TASKS",
    "DelayedDiscrimination",
    "MatchToCategory",
    "PerceptualDiscrimination",
    "Task",
    "TaskParameter",
    "argmax_accuracy",
]
