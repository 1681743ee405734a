"""Cognitive tasks (NumPy only; importing this package never imports TensorFlow).

Describing a task
-----------------
A task is a :class:`Task` subclass with two methods (see :mod:`psychrnn_widgets.tasks.task`):
``sample_trials(n, batch)`` draws the parameters of ``n`` trials as arrays, and
``describe_trials(trials)`` names the periods (ms, per trial) and sets the inputs,
targets, masks and input noise per period and channel on a
:class:`~psychrnn_widgets.tasks.trials.Trials`.  Batches, PsychRNN's
``generate_trial_params`` and ``trial_function`` and the trial metadata all follow from
them.  PsychRNN-style subclasses that only write ``generate_trial_params`` and
``trial_function`` still work (rendered step by step).  Task parameters are declared
with :class:`TaskParameter` wrapping a :class:`~psychrnn_widgets.params.Parameter`.

Built-in tasks (:data:`BUILTIN_TASKS`)
-------------------------------------
PsychRNN's three, with PsychRNN's trial structure: :class:`PerceptualDiscrimination`,
:class:`DelayedDiscrimination` (Romo et al. 1999), :class:`MatchToCategory` (Freedman &
Assad 2006).  Beyond PsychRNN: :class:`ContextDependentIntegration` (Mante et al. 2013),
:class:`GoNoGo`, :class:`FlipFlop` (N-bit, Sussillo & Barak 2013), :class:`ReadySetGo`
(Jazayeri & Shadlen 2010), :class:`DelayedMatchToSample` (Miller et al. 1996),
:class:`ProAntiSaccade` (ring coding of Yang et al. 2019), and :class:`MultiTask` (several
tasks in one network with rule inputs, Yang et al. 2019).  :class:`NeuroGymTask` turns a
NeuroGym environment into batches.

Trial metadata (for analysis)
-----------------------------
The fourth value of every batch, ``trial_params``, is an object array of one dict per
trial.  Each dict holds the task's sampled parameters (conditions, e.g. ``coherence``,
``context``, ``interval``; durations in ms) and, for tasks described with
``describe_trials``, these documented keys:

``'choice'`` (int)
    The correct answer as a class: for the two-alternative tasks and match-to-category
    the correct output channel; for :class:`GoNoGo` 1 = go, 0 = no-go; for
    :class:`ProAntiSaccade` the ring output channel nearest the response direction.
    Absent where there is no categorical answer (:class:`FlipFlop`, :class:`ReadySetGo`).
    ``task.decode_choice(output, output_mask)`` gives the *network's* choice per trial
    in the same code (``MultiTask`` also needs ``trial_params=``), so a psychometric
    curve is ``P(decode_choice == 1)`` against ``'evidence'``.
``'evidence'`` (float)
    Signed stimulus strength where meaningful, positive favouring ``choice == 1``:
    :class:`PerceptualDiscrimination` the coherence signed towards channel 1,
    :class:`DelayedDiscrimination` ``f2 - f1`` (Hz), :class:`ContextDependentIntegration`
    the relevant coherence.
``'epochs'`` (dict)
    ``{period name: (start, end)}`` in ms, clipped to the trial (e.g. ``'stimulus'``,
    ``'delay'``, ``'decision'``), for aligning PSTHs.

Other task-specific metadata: ``FlipFlop``: ``final_state``; ``ProAntiSaccade``:
``response_angle``; ``MultiTask``: ``task``, ``rule`` and the task's own ``params``.
``Task.conditions(trial_params)`` turns a batch's dicts into columns: one array per
number-valued key, and ``<period>_start`` / ``<period>_end`` arrays (NaN where a trial
lacks that period).  ``task.trial_correct(y, output, mask)`` scores each trial (bool);
``task.accuracy_function`` is its mean.
"""
from psychrnn_widgets.catalog import TASKS as _TASKS
from psychrnn_widgets.tasks.context_integration import ContextDependentIntegration
from psychrnn_widgets.tasks.delayed_discrimination import DelayedDiscrimination
from psychrnn_widgets.tasks.delayed_match_to_sample import DelayedMatchToSample
from psychrnn_widgets.tasks.flip_flop import FlipFlop
from psychrnn_widgets.tasks.go_nogo import GoNoGo
from psychrnn_widgets.tasks.match_to_category import MatchToCategory
from psychrnn_widgets.tasks.multitask import MultiTask
from psychrnn_widgets.tasks.neurogym_adapter import NeuroGymTask
from psychrnn_widgets.tasks.perceptual_discrimination import PerceptualDiscrimination
from psychrnn_widgets.tasks.pro_anti_saccade import ProAntiSaccade
from psychrnn_widgets.tasks.ready_set_go import ReadySetGo
from psychrnn_widgets.tasks.task import Task, TaskParameter, argmax_accuracy
from psychrnn_widgets.tasks.trials import Period, Trials, one_hot

# The task catalog (psychrnn_widgets.catalog) knows the built-ins by their class names, listed
# first and in this order: records and saved runs name a task class this way and are resolved
# there, never by importing a module; the dashboard's task picker lists the catalog.
for _task_class in (PerceptualDiscrimination, DelayedDiscrimination, MatchToCategory, ContextDependentIntegration,
                    GoNoGo, FlipFlop, ReadySetGo, DelayedMatchToSample, ProAntiSaccade, MultiTask):
    _TASKS.register(_task_class, builtin=True)
del _task_class

#: built-in task classes by name, read from the task catalog (the task picker lists the catalog:
#: these first, then the tasks registered with ``register_task``)
BUILTIN_TASKS = _TASKS.builtins()

__all__ = [
    "BUILTIN_TASKS",
    "ContextDependentIntegration",
    "DelayedDiscrimination",
    "DelayedMatchToSample",
    "FlipFlop",
    "GoNoGo",
    "MatchToCategory",
    "MultiTask",
    "NeuroGymTask",
    "PerceptualDiscrimination",
    "Period",
    "ProAntiSaccade",
    "ReadySetGo",
    "Task",
    "TaskParameter",
    "Trials",
    "argmax_accuracy",
    "one_hot",
]
