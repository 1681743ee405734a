"""Curriculum learning: train on a sequence of tasks, advancing when a metric is reached.

PsychRNN's class, arguments and semantics: every ``metric_epoch`` epochs the training
loop runs the network on a fresh batch of the current stage and calls
:meth:`Curriculum.metric_test`; the metric (by default the stage's accuracy against its
threshold) decides whether to advance; ``metric_values`` gets a ``[value, stage]`` row
per check; after the last stage ``stop_training`` is set and the loop ends.

Beyond PsychRNN, for the interactive panel:

* stages may differ in ``T`` (or anything else that keeps ``N_in``/``N_out``);
* thresholds can be edited while training runs (:meth:`set_threshold`);
* stages can be stepped by hand from another thread (:meth:`advance`, :meth:`back`,
  :meth:`set_stage`); the training loop picks the new stage's task for its next batch;
* ``auto_advance = False`` records the metric but leaves stage changes to the user;
* listeners registered with :meth:`observe` are told of every change.

No TensorFlow here.
"""
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..params import CURRICULUM_PARAMS


def default_metric(curriculum_params, input_data, correct_output, output_mask, output, epoch, losses, verbosity):
    """Accuracy of the current stage against its threshold: ``(accuracy >= threshold, accuracy)``.

    ``curriculum_params`` holds ``stage``, ``accuracies``, ``thresholds`` (PsychRNN's keys).
    """
    stage = curriculum_params["stage"]
    accuracy = curriculum_params["accuracies"][stage](correct_output, output, output_mask)
    if verbosity:
        print("Accuracy: " + str(accuracy))
    return accuracy >= curriculum_params["thresholds"][stage], accuracy


@dataclass(frozen=True)
class CurriculumChange:
    """Sent to listeners: ``kind`` is ``'stage'``, ``'metric'`` or ``'threshold'``."""

    kind: str
    stage: int
    value: float = None
    threshold: float = None
    by_hand: bool = False


class Curriculum:
    """A sequence of tasks with advancement thresholds.

    Args:
        tasks: list of Task objects (same ``N_in`` and ``N_out``).
        metric: ``fn(curriculum_params, x, y, mask, output, epoch, losses, verbosity)
            -> (advance, value)``; default :func:`default_metric`.
        accuracies: per-stage accuracy functions; default each task's ``accuracy_function``.
        thresholds: per-stage thresholds; default 0.9 each.
        metric_epoch: check the metric every this many epochs (default 10).
        output_file: if given, ``metric_values`` is saved there (NumPy ``.npy``, as
            PsychRNN does) after every check, atomically.
    """

    def __init__(self, tasks, metric=default_metric, accuracies=None, thresholds=None, metric_epoch=10,
                 output_file=None):
        try:
            self.tasks = list(tasks)
        except TypeError:
            raise ParameterError(f"tasks must be a list of Task objects, got {type(tasks).__name__}",
                                 parameter="tasks") from None
        if not self.tasks:
            raise ParameterError("a Curriculum needs at least one task", parameter="tasks")
        for i, task in enumerate(self.tasks):
            if not hasattr(task, "get_trial_batch") or not hasattr(task, "N_in"):
                raise ParameterError(f"tasks[{i}] must be a Task, got {type(task).__name__}", parameter="tasks")
        shapes = {(t.N_in, t.N_out) for t in self.tasks}
        if len(shapes) > 1:
            raise ParameterError(f"every curriculum stage must have the same N_in and N_out, got {sorted(shapes)}")
        if not callable(metric):
            raise ParameterError(f"metric must be a function, got {metric!r}", parameter="metric")
        self.metric = metric
        self.accuracies = list(accuracies) if accuracies is not None else [t.accuracy_function for t in self.tasks]
        declared = CURRICULUM_PARAMS["thresholds"]
        default = [declared.default] * len(self.tasks)
        self.thresholds = [declared.validate(v, "Curriculum") for v in (thresholds if thresholds is not None
                                                                         else default)]
        for name, values in (("accuracies", self.accuracies), ("thresholds", self.thresholds)):
            if len(values) != len(self.tasks):
                raise ParameterError(f"{name} has {len(values)} entries for {len(self.tasks)} tasks", parameter=name)
        if not all(callable(fn) for fn in self.accuracies):
            raise ParameterError("accuracies must be functions fn(y, output, mask)", parameter="accuracies")
        self.metric_epoch = CURRICULUM_PARAMS["metric_epoch"].validate(metric_epoch, "Curriculum")
        self.output_file = output_file
        if output_file is not None and os.path.dirname(str(output_file)):
            os.makedirs(os.path.dirname(str(output_file)), exist_ok=True)
        self.stage = 0
        self.stop_training = False
        self.metric_values = []
        self.auto_advance = True
        self._lock = threading.RLock()
        self._listeners = []

    # ------------------------------------------------------------- observing
    def observe(self, callback):
        """Call ``callback(CurriculumChange)`` on every stage, metric or threshold change."""
        self._listeners.append(callback)
        return callback

    def unobserve(self, callback):
        self._listeners.remove(callback)

    def _notify(self, change):
        for callback in list(self._listeners):
            callback(change)

    @property
    def n_stages(self):
        return len(self.tasks)

    @property
    def current_task(self):
        """The task of the current stage (the last one once the curriculum is finished)."""
        with self._lock:
            return self.tasks[min(self.stage, len(self.tasks) - 1)]

    # -------------------------------------------------------------- training
    def batch_generator(self):
        """Infinite generator of ``(x, y, mask, trial_params)`` from whichever stage is current."""
        while True:
            yield self.current_task.get_trial_batch()

    def get_generator_function(self):
        """PsychRNN's accessor: the current stage's own batch generator (deprecated)."""
        warnings.warn(
            "Curriculum.get_generator_function() is deprecated: pass the curriculum as "
            "train_params['curriculum'] (or use batch_generator(), which follows stage changes).",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.current_task.batch_generator()

    def _params(self):
        return {
            "stage": self.stage, "stop_training": self.stop_training, "metric_values": list(self.metric_values),
            "tasks": self.tasks, "metric": self.metric, "accuracies": self.accuracies,
            "thresholds": list(self.thresholds), "metric_epoch": self.metric_epoch, "output_file": self.output_file,
        }

    def metric_test(self, input_data, correct_output, output_mask, test_output, epoch, losses, verbosity=False):
        """Evaluate the metric on a fresh batch; advance if it says so.  Returns True if the stage advanced."""
        with self._lock:
            stage = self.stage
            advance, value = self.metric(self._params(), input_data, correct_output, output_mask, test_output,
                                         epoch, losses, verbosity)
            value = float(value)
            self.metric_values.append([value, stage])
            self._save()
        self._notify(CurriculumChange("metric", stage, value=value, threshold=self.thresholds[stage]))
        if advance and self.auto_advance and self.stage == stage:
            self._move_to(stage + 1, by_hand=False, verbosity=verbosity)
            return True
        return False

    def _save(self):
        if self.output_file is None:
            return
        target = str(self.output_file)
        if not target.endswith(".npy"):
            target += ".npy"
        folder = os.path.dirname(target) or "."
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, np.asarray(self.metric_values, dtype=np.float64).reshape(-1, 2))
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    # ---------------------------------------------------------- by hand
    def _move_to(self, stage, by_hand, verbosity=False):
        with self._lock:
            self.stage = stage
            self.stop_training = stage >= len(self.tasks)
        if verbosity:
            print("Stage " + str(stage))
        self._notify(CurriculumChange("stage", stage, by_hand=by_hand))

    def advance(self):
        """Go to the next stage now (past the last one: the curriculum is finished)."""
        with self._lock:
            self._move_to(min(self.stage + 1, len(self.tasks)), by_hand=True)

    def back(self):
        """Go back one stage (training resumes if the curriculum had finished)."""
        with self._lock:
            self._move_to(max(min(self.stage, len(self.tasks)) - 1, 0), by_hand=True)

    def set_stage(self, stage):
        """Jump to ``stage`` (0 .. n_stages-1)."""
        if isinstance(stage, bool) or int(stage) != stage or not 0 <= stage < len(self.tasks):
            raise ParameterError(f"stage must be an integer in [0, {len(self.tasks) - 1}], got {stage!r}")
        self._move_to(int(stage), by_hand=True)

    def set_threshold(self, stage, value):
        """Change the threshold of ``stage`` (takes effect at the next metric check)."""
        if isinstance(stage, bool) or not isinstance(stage, (int, np.integer)) or not 0 <= stage < len(self.tasks):
            raise ParameterError(f"stage must be an integer in [0, {len(self.tasks) - 1}], got {stage!r}",
                                 parameter="stage", value=stage)
        value = CURRICULUM_PARAMS["thresholds"].validate(value, "Curriculum")
        with self._lock:
            self.thresholds[stage] = value
        self._notify(CurriculumChange("threshold", stage, threshold=value, by_hand=True))

    def __repr__(self):
        return (f"Curriculum(stage={self.stage}/{len(self.tasks)}, thresholds={self.thresholds}, "
                f"metric_epoch={self.metric_epoch})")
