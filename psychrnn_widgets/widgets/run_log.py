"""What each Start trained, kept in the run's record so the run can be rebuilt as code.

:class:`TrainingRecorder` listens to a :class:`~psychrnn_widgets.widgets.training_panel.TrainingPanel`
(its ``before_start``, ``extra_callbacks`` and ``after_run`` hooks) and appends one
*segment* per Start to the trained record's ``training`` list (JSON data)::

    {"task": {"class": "PerceptualDiscrimination", "params": {...}},   # the task as trained on
     "task_state": {...},        # the task's random generator state when Start was pressed
     "N_batch": 64,              # trials per step
     "pieces": [[0.001, 100, False], [0.001, 20, True], [0.005, 40, True]],
                                 # (learning rate, optimiser steps, whether they ran the XLA-compiled step)
     "start_epoch": 0, "start_trials": 0,     # the trainer's counts before the Start
     "noise_counter": 0,         # the model's recurrent-noise counter before the Start
     "wall_s": 12.3, "outcome": "stopped",    # seconds trained, how the run ended
     "curriculum": false}        # trained through a curriculum (not rebuilt as code)

A learning rate changed while training starts a new piece at the step that first used it
(the trainer applies a new rate between steps), and so does the switch to the XLA-compiled
training step: the Lab switches when the compiler is ready (step 101 or later), and the two
programs do not give bit-equal results (their recurrent noise differs), so "Copy as code"
replays each piece on the program it ran on.  Which program a step ran is read from the
trainer's compiled step (``Trainer.training_step()``, its public ``xla_shapes``): XLA when
the step count for the batch shape was past the switch and the compiler had finished before
the step began.  The training thread counts the steps of
the running segment and puts it into the record at the run's end event, before the panel
says the run ended (so the Runs table, redrawn then, shows it).  Nothing here draws from
the task's random stream.
"""
import time

import numpy as np

from ..training.step import XLA_AFTER_STEPS
from ..training.trainer import Trainer
from .history import _task_name, jsonable_dict

__all__ = ["TrainingRecorder", "generator_state"]


def generator_state(rng):
    """A NumPy ``Generator``'s bit-generator state as JSON data (None when it is not a plain one)."""
    try:
        state = rng.bit_generator.state
    except AttributeError:
        return None
    return _json_state(state)


def _json_state(value):
    if isinstance(value, dict):
        return {str(k): _json_state(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def _noise_counter(model):
    """The model's recurrent-noise counter (noisy passes so far; views may run some between Starts), or None."""
    try:
        return int(model.noise_counter)
    except (AttributeError, TypeError, ValueError):
        return None


class TrainingRecorder:
    """Records each Start of ``panel`` into the ``lab_state``'s current record (see the module docstring)."""

    def __init__(self, lab_state, panel):
        self.lab_state = lab_state
        self.panel = panel
        self._segment = None
        self._record = None
        self._model = None
        self._shape = None
        self._compiled_before = False
        panel.before_start.append(self._before_start)
        panel.extra_callbacks.append(self._on_event)
        panel.after_run.append(self._after_run)

    def _before_start(self, panel):
        """Main thread, just before the training thread starts: what is about to be trained."""
        state = self.lab_state
        record, task = state.run, state.task
        self._record = record
        self._model = None if record is None else record.model
        if record is None or task is None:
            self._segment = None
            return
        trainer = Trainer.of(record.model)
        curriculum = state.curriculum is not None
        self._shape = (int(task.N_batch), int(task.N_steps))
        self._compiled_before = self._compiled(self._warm())
        self._segment = {
            "task": {"class": _task_name(type(task)), "params": jsonable_dict(task.get_task_params())},
            "task_state": None if curriculum else generator_state(task.rng),
            "N_batch": int(task.N_batch),
            "pieces": [],
            "start_epoch": int(trainer.epoch),
            "start_trials": int(trainer.trials),
            "noise_counter": _noise_counter(record.model),
            "wall_s": 0.0,
            "outcome": None,
            "curriculum": curriculum,
            "_t0": time.monotonic(),
        }

    def _on_event(self, event):
        """Training thread: count the steps of each learning rate."""
        segment = self._segment
        if segment is None or self._model is None:
            return
        if event.kind == "step":
            rate = float(np.asarray(Trainer.of(self._model).learning_rate))
            warm = self._warm()
            xla = bool(warm is not None and warm.steps > XLA_AFTER_STEPS and self._compiled_before)
            self._compiled_before = self._compiled(warm)
            pieces = segment["pieces"]
            if pieces and pieces[-1][0] == rate and pieces[-1][2] == xla:
                pieces[-1][1] += 1
            else:
                pieces.append([rate, 1, xla])
        elif event.kind in ("done", "stopped", "failed"):
            self._finish(segment, event.kind)

    def _warm(self):
        """The XLA warm-up of the Lab's training step for this batch shape (None: none, or no XLA twin)."""
        try:
            step = Trainer.of(self._model).training_step()  # the Lab's settings: Adam, clipping, nothing frozen
        except Exception:  # noqa: BLE001 - no trainable variables...: nothing to read
            return None
        return step.xla_shapes.get(self._shape) if getattr(step, "xla", None) is not None else None

    @staticmethod
    def _compiled(warm):
        return bool(warm is not None and warm.finished and warm.ok)

    def _finish(self, segment, outcome):
        """Put the segment into the record (the training thread's end event: before the panel says the run
        ended, so whatever redraws then sees it; or the main thread's after-run hook when no end event came)."""
        record = self._record
        self._segment = None
        if record is None:
            return
        segment["wall_s"] = round(time.monotonic() - segment.pop("_t0"), 3)
        segment["outcome"] = outcome
        trainer = Trainer.of(record.model)
        steps = sum(piece[1] for piece in segment["pieces"])
        if trainer.epoch - segment["start_epoch"] != steps:
            segment["steps_kept"] = int(trainer.epoch - segment["start_epoch"])  # a rollback after divergence
        if steps:
            record.training.append(segment)

    def _after_run(self, outcome):
        """Main thread, after the run: a segment whose end event never came is put in now."""
        segment = self._segment
        if segment is not None:
            self._finish(segment, outcome)
