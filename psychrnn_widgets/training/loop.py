"""The epoch loop behind ``model.train`` (PsychRNN's keys and return value).

``train(model, source, train_params) -> (losses, training_time, initialization_time)``

``source`` is a Task (anything with ``batch_generator()``), a generator yielding
``(x, y, mask[, trial_params])``, or ignored when ``train_params['curriculum']`` is set.
The number of epochs (optimiser steps) is ``ceil(training_iters / batch size)``.

Beyond PsychRNN: ``train_params['callbacks']`` (callables receiving
:class:`~psychrnn_widgets.training.events.TrainingEvent`) and
``train_params['control']`` (a :class:`~psychrnn_widgets.training.events.TrainingControl`
for stop/pause from another thread); ``train_params['jit_compile']`` (None: XLA when the
model prefers it, i.e. ``Basic`` with the default optimiser); a second call continues training; a non-finite
loss stops training with :class:`~psychrnn_widgets.errors.TrainingDivergedError` and
keeps the last finite weights.

This module sits in the training layer; ``RNN.train`` imports it lazily when called.
"""
import difflib
import math
import os
import warnings
from inspect import isgenerator
from time import perf_counter

import numpy as np

from ..errors import ParameterError, TrainingDivergedError
from .events import EventDispatcher, TrainingControl
from .step import get_training_step

TRAIN_DEFAULTS = {
    "learning_rate": 0.001,
    "training_iters": 50000,
    "loss_epoch": 10,
    "verbosity": True,
    "save_weights_path": None,
    "save_training_weights_epoch": 100,
    "training_weights_path": None,
    "curriculum": None,
    "optimizer": None,
    "clip_grads": True,
    "fixed_weights": None,
    "performance_cutoff": None,
    "performance_measure": None,
    "callbacks": None,
    "control": None,
    "jit_compile": None,
}


def _read_train_params(train_params):
    params = dict(TRAIN_DEFAULTS)
    for key, value in train_params.items():
        if key not in TRAIN_DEFAULTS:
            close = difflib.get_close_matches(key, TRAIN_DEFAULTS, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            warnings.warn(f"train_params: unknown key {key!r} is ignored{hint}", stacklevel=4)
            continue
        params[key] = value
    if (params["performance_cutoff"] is None) != (params["performance_measure"] is None):
        raise ParameterError(
            "performance_cutoff and performance_measure must be given together: training is "
            "cut off when performance_measure(...) reaches performance_cutoff"
        )
    for key in ("training_iters", "loss_epoch", "save_training_weights_epoch"):
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ParameterError(f"train_params[{key!r}] must be a positive integer, got {value!r}")
    if not float(params["learning_rate"]) > 0:
        raise ParameterError(f"train_params['learning_rate'] must be positive, got {params['learning_rate']!r}")
    return params


class _BatchSource:
    """Next batch from a task, a generator or a curriculum; knows the current accuracy function."""

    def __init__(self, source, curriculum):
        self.curriculum = curriculum
        if curriculum is not None:
            self.task = None
            self.generator = curriculum.batch_generator()
        elif isgenerator(source) or (hasattr(source, "__next__") and not hasattr(source, "batch_generator")):
            self.task, self.generator = None, source
        elif hasattr(source, "batch_generator"):
            self.task, self.generator = source, source.batch_generator()
        else:
            raise ParameterError(
                f"train() needs a Task, a batch generator or train_params['curriculum'], got {type(source).__name__}"
            )

    def current_task(self):
        if self.curriculum is not None:
            return self.curriculum.current_task
        return self.task

    def accuracy(self, y, outputs, mask):
        task = self.current_task()
        fn = getattr(task, "accuracy_function", None)
        if fn is None:
            return None
        try:
            value = fn(y, outputs, mask)
        except NotImplementedError:  # a user task without an accuracy function
            return None
        return None if value is None else float(value)

    def next(self, model):
        batch = next(self.generator)
        if len(batch) < 3:
            raise ParameterError("a batch generator must yield (x, y, mask) or (x, y, mask, trial_params)")
        x = model.as_input_batch(batch[0], "x from the batch generator")
        y = np.asarray(batch[1], dtype=np.float32)
        mask = np.asarray(batch[2], dtype=np.float32)
        if y.shape != x.shape[:2] + (model.N_out,) or mask.shape != y.shape:
            raise ParameterError(
                f"batch shapes disagree: x {x.shape}, y {y.shape}, mask {mask.shape}; y and mask must be "
                f"(batch, time, N_out={model.N_out})"
            )
        return x, y, mask


def _ensure_parent(path):
    parent = os.path.dirname(str(path))
    if parent:
        os.makedirs(parent, exist_ok=True)


def train(model, source, train_params):
    """Train ``model``; see the module docstring.  Returns ``(losses, training_time, initialization_time)``.

    ``losses`` holds the total loss every ``loss_epoch`` epochs; the times are in seconds.
    """
    t0 = perf_counter()
    params = _read_train_params(train_params)
    verbose = bool(params["verbosity"])
    curriculum = params["curriculum"]
    control = params["control"] or TrainingControl()
    events = EventDispatcher(params["callbacks"])
    batches = _BatchSource(source, curriculum)
    for key in ("save_weights_path", "training_weights_path"):
        if params[key] is not None:
            _ensure_parent(params[key])

    step = get_training_step(model, params["optimizer"], params["learning_rate"], params["clip_grads"],
                             params["fixed_weights"], params["jit_compile"])
    first = batches.next(model)
    step.trace()
    batch_size = first[0].shape[0]
    total_epochs = math.ceil(params["training_iters"] / batch_size)
    step.planned_steps = total_epochs
    t1 = perf_counter()

    def stage():
        return None if curriculum is None else curriculum.stage

    losses = []
    epoch = 0
    outcome = "done"
    events.emit("start", total_epochs=total_epochs, stage=stage())
    try:
        pending = first
        while epoch < total_epochs:
            if control.wait_if_paused():
                outcome = "stopped"
                break
            if curriculum is not None and curriculum.stop_training:
                break  # finished, possibly advanced past the last stage by hand
            x, y, mask = pending if pending is not None else batches.next(model)
            pending = None
            loss, outputs, finite = step(x, y, mask)
            if not finite:
                raise TrainingDivergedError(
                    f"training stopped at epoch {epoch + 1}: the loss (or a gradient) became {loss}; the "
                    f"weights after epoch {epoch} are kept. Lower learning_rate, keep clip_grads=True or "
                    "check the inputs for NaN."
                )
            epoch += 1
            accuracy = None
            if epoch % params["loss_epoch"] == 0:
                losses.append(loss)
                if verbose:
                    print(f"Iter {epoch * batch_size}, Minibatch Loss= {loss:.6f}")
                if events.callbacks:
                    accuracy = batches.accuracy(y, outputs.numpy(), mask)
            events.emit("step", epoch=epoch, trials=epoch * batch_size, loss=loss, accuracy=accuracy,
                        stage=stage(), total_epochs=total_epochs)

            if curriculum is not None and epoch % curriculum.metric_epoch == 0:
                cx, cy, cmask = batches.next(model)
                c_out, _ = model.test(cx)
                before = curriculum.stage
                if curriculum.metric_test(cx, cy, cmask, c_out, epoch, losses, verbose):
                    if curriculum.stop_training:
                        break
                if curriculum.stage != before:
                    events.emit("stage", epoch=epoch, trials=epoch * batch_size, loss=loss,
                                stage=curriculum.stage, total_epochs=total_epochs)

            if params["training_weights_path"] is not None and epoch % params["save_training_weights_epoch"] == 0:
                saved = model.save(f"{params['training_weights_path']}{epoch}")
                if verbose:
                    print(f"Training weights saved in file: {saved}")

            if params["performance_measure"] is not None:
                px, py, pmask = batches.next(model)
                p_out, _ = model.test(px)
                performance = params["performance_measure"](px, py, pmask, p_out, epoch, losses, verbose)
                if verbose:
                    print(f"performance: {performance}")
                if performance >= params["performance_cutoff"]:
                    break
    except BaseException as error:
        events.emit("failed", epoch=epoch, trials=epoch * batch_size, stage=stage(),
                    message=f"{type(error).__name__}: {error}", total_epochs=total_epochs)
        raise
    t2 = perf_counter()
    if verbose:
        print("Optimization finished!" if outcome == "done" else f"Training stopped at epoch {epoch}.")
    if params["save_weights_path"] is not None:
        saved = model.save(params["save_weights_path"])
        if verbose:
            print(f"Model saved in file: {saved}")
    events.emit(outcome, epoch=epoch, trials=epoch * batch_size, stage=stage(),
                loss=losses[-1] if losses else None, total_epochs=total_epochs)
    return losses, t2 - t1, t1 - t0
