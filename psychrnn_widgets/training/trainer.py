"""``Trainer``: everything training adds to a model, and the epoch loop.

The model holds weights and maths; its :class:`Trainer` holds what training needs
besides: the optimiser's state, the last weights whose loss was finite, the compiled
training steps, the live learning rate and the epoch and trial counts over every
``train`` call.  ``model.train(...)`` (PsychRNN's API) is ``Trainer.of(model).train(...)``,
so a second call continues the optimiser state and the epoch count (snapshots named by
epoch are never overwritten).  Widgets and sweeps drive a ``Trainer`` directly::

    trainer = Trainer.of(model)
    trainer.learning_rate = 0.005          # from any thread; applied before the next step
    trainer.train(task, {"training_iters": 5000, "control": control, "callbacks": [on_event]})
    trainer.epoch, trainer.trials          # totals over every call

The loop (PsychRNN's keys and return value ``(losses, training_time, initialization_time)``):
``ceil(training_iters / batch size)`` optimiser steps; every ``loss_epoch`` steps the loss
is recorded (and printed as ``Iter {trials}, Minibatch Loss= {:.6f}``); curriculum checks
every ``metric_epoch``; snapshots every ``save_training_weights_epoch``; a performance
cut-off.  Beyond PsychRNN: events to ``callbacks`` after every step and at start, stage
changes and the end (``done``, ``stopped`` or ``failed`` -- every callback gets exactly
one of them), stop/pause through a :class:`~psychrnn_widgets.training.events.TrainingControl`
honoured between steps (and while waiting for the XLA compiler), and nothing is lost:

* a non-finite loss stops training with :class:`~psychrnn_widgets.errors.TrainingDivergedError`;
  the weights and optimiser state are those of the last step whose loss was finite (the
  error names that epoch), so ``test()`` and further training work;
* the weights a run ends with are checked once more (one forward pass on the last batch);
  if an update of the last step made them diverge, they are rolled back the same way;
* a callback that raises stops training after that step with
  :class:`~psychrnn_widgets.errors.CallbackError`, which carries the run's result; the
  weights trained so far are kept.

This module sits in the training layer; ``RNN.train`` imports it lazily (the one upward call).
"""
import math
import os
import threading
import weakref
from time import perf_counter

import numpy as np

from ..errors import CallbackError, ParameterError, TrainingDivergedError
from ..params import TRAIN_PARAMS, validate_train_params
from .batches import BatchSource
from .events import EventDispatcher, TrainingControl
from .optim import Adam, LastGood
from .step import TrainingStep

__all__ = ["Trainer", "OptimizerState", "TrainerBase"]


class OptimizerState:
    """Adam's slots and the last-good snapshot for a list of variables (shared by a trainer's steps)."""

    def __init__(self, variables, learning_rate):
        self.variables = list(variables)
        self.adam = Adam(self.variables, learning_rate)
        self.last_good = LastGood(self.variables + self.adam.slots)
        self._external_copy = None

    # an external (Keras) optimiser runs eagerly outside the graph: snapshot it in NumPy
    def save_external(self, optimizer):
        slots = getattr(optimizer, "variables", None) or []
        if callable(slots):  # tf.compat.v1 optimisers: a method
            slots = slots()
        tracked = self.variables + [v for v in slots if hasattr(v, "assign")]
        self._external_copy = [(v, v.numpy().copy()) for v in tracked]

    def restore(self):
        """Put back the weights and optimiser state copied before the last update."""
        if self._external_copy is not None:
            for variable, value in self._external_copy:
                variable.assign(value)
        else:
            self.last_good.restore()

    def save(self):
        """Copy the current weights and optimiser state (they were just found to give a finite loss)."""
        if self._external_copy is not None:
            self._external_copy = [(v, v.numpy().copy()) for v, _ in self._external_copy]
        else:
            self.last_good.save()


class TrainerBase:
    """Base of trainers: at most one per trained object (weakly keyed), found or created by :meth:`of`,
    and one training run at a time.

    Each subclass keeps its own table; ``__init__`` registers the new trainer with
    :meth:`_register`.  Used by :class:`Trainer` and the ensembles' trainer.
    """

    running = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._trainers = weakref.WeakKeyDictionary()
        cls._registry_lock = threading.Lock()

    def _register(self, target):
        with type(self)._registry_lock:
            type(self)._trainers[target] = self

    @classmethod
    def of(cls, target):
        """The trainer of ``target`` (created on first use; the same object afterwards)."""
        with cls._registry_lock:
            trainer = cls._trainers.get(target)
        return trainer if trainer is not None else cls(target)

    def run_exclusively(self, params, what, run):
        """``run(control)`` with ``params['control']`` (or a new one); refuses a stopped control or a second run."""
        control = params["control"] or TrainingControl()
        if control.stop_requested:
            raise ParameterError("train_params['control'] was stopped by an earlier request_stop(); call "
                                 "control.reset() (or pass a new TrainingControl) to train again",
                                 parameter="control", value=control)
        if self.running:
            raise RuntimeError(f"this {what} is already training (in another thread); stop that run first")
        self.running = True
        try:
            return run(control)
        finally:
            self.running = False


class Trainer(TrainerBase):
    """Trains one model; see the module docstring.  Create with :meth:`of` (one per model)."""

    def __init__(self, model):
        self.model = model
        self.epoch = 0  # optimiser steps over every train() call
        self.trials = 0  # trials trained on over every call
        #: (epoch, trials) of the weights copied before the last update: what a rollback returns to
        self.last_good_at = (0, 0)
        #: whether the current weights are known to give a finite loss (checked at the end of a run)
        self.weights_checked = True
        self.running = False
        self._lock = threading.Lock()
        self._learning_rate = TRAIN_PARAMS["learning_rate"].default
        self._pending_learning_rate = None
        self._state = None
        self._steps = {}
        self._register(model)

    # ------------------------------------------------------------- learning rate
    @property
    def learning_rate(self):
        """The learning rate of the default optimiser (the last value set or trained with)."""
        with self._lock:
            return self._pending_learning_rate if self._pending_learning_rate is not None else self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        value = TRAIN_PARAMS["learning_rate"].validate(value, "Trainer")
        with self._lock:
            self._pending_learning_rate = value
        if not self.running:
            self._apply_pending_learning_rate()

    def _apply_pending_learning_rate(self):
        with self._lock:
            value, self._pending_learning_rate = self._pending_learning_rate, None
        if value is None:
            return
        self._learning_rate = value
        if self._state is not None:
            self._state.adam.learning_rate.assign(value)

    # ------------------------------------------------------------- state
    @property
    def optimizer_state(self):
        """The :class:`OptimizerState` of the default optimiser (None before the first step)."""
        return self._state

    def reset(self):
        """Forget the optimiser state and the counts (the weights stay); not while training."""
        if self.running:
            raise RuntimeError("cannot reset a trainer while it trains")
        self._state = None
        self._steps.clear()
        self.epoch = self.trials = 0
        self.last_good_at = (0, 0)
        self.weights_checked = True

    def training_step(self, optimizer=None, clip_grads=True, fixed_weights=None, jit_compile=None):
        """The compiled :class:`~psychrnn_widgets.training.step.TrainingStep` for these settings (cached)."""
        variables = self.model.trainable_variables
        if not variables:
            raise ParameterError("the model has no trainable variables (every *_train flag is False)",
                                 parameter="W_rec_train")
        if self._state is None or [id(v) for v in self._state.variables] != [id(v) for v in variables]:
            self._state = OptimizerState(variables, self._learning_rate)
            self._steps.clear()
        fixed_key = None
        if fixed_weights:
            fixed_key = tuple(sorted((k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in fixed_weights.items()))
        key = (id(optimizer) if optimizer is not None else "adam", bool(clip_grads), fixed_key, jit_compile)
        step = self._steps.get(key)
        if step is None:
            step = TrainingStep(self.model, self._state, optimizer, clip_grads, fixed_weights, jit_compile)
            self._steps[key] = step
        return step

    def count_step(self, batch_size):
        """Record one optimiser step of ``batch_size`` trials (the copy before it is the new rollback point)."""
        self.last_good_at = (self.epoch, self.trials)
        self.epoch += 1
        self.trials += int(batch_size)
        self.weights_checked = False

    def mark_checked(self):
        """The current weights gave a finite loss: make them the rollback point."""
        if self._state is not None:
            self._state.save()
        self.last_good_at = (self.epoch, self.trials)
        self.weights_checked = True

    def roll_back(self):
        """Put back the weights, optimiser state and counts copied before the last update."""
        if self._state is not None:
            self._state.restore()
        self.epoch, self.trials = self.last_good_at
        self.weights_checked = True

    # ------------------------------------------------------------- training
    def train(self, source, train_params=None):
        """Train on ``source`` (a Task, a batch generator, or None with a curriculum); see the module docstring.

        Returns:
            ``(losses, training_time, initialization_time)``: the total loss every
            ``loss_epoch`` steps, and seconds.
        """
        t0 = perf_counter()
        params = validate_train_params(train_params)
        return self.run_exclusively(params, "model", lambda control: _Run(self, source, params, control, t0).run())

    def __repr__(self):
        return f"Trainer({self.model!r}, epoch={self.epoch}, trials={self.trials})"


class _Run:
    """One ``train`` call: the epoch loop and its bookkeeping."""

    def __init__(self, trainer, source, params, control, t0):
        self.trainer, self.model, self.params, self.control, self.t0 = trainer, trainer.model, params, control, t0
        self.verbose = bool(params["verbosity"])
        self.curriculum = params["curriculum"]
        if params["generator_function"] is not None:  # PsychRNN's documented replacement of the source
            source = params["generator_function"]
        self.events = EventDispatcher(params["callbacks"])
        self.batches = BatchSource(source, self.curriculum)
        self.losses = []
        self.epoch = 0  # steps in this call
        self.trials = 0  # trials in this call
        self.total_epochs = 0

    # ---------------------------------------------------------------- helpers
    def stage(self):
        return None if self.curriculum is None else self.curriculum.stage

    def emit(self, kind, **fields):
        trainer = self.trainer
        self.events.emit(kind, epoch=self.epoch, trials=self.trials, stage=self.stage(),
                         total_epochs=self.total_epochs, global_epoch=trainer.epoch, global_trials=trainer.trials,
                         **fields)
        if self.events.error is not None and kind not in ("failed",):
            callback, error = self.events.error
            raise CallbackError(f"training callback {getattr(callback, '__name__', callback)!r} raised "
                                f"{type(error).__name__}: {error}; training stopped after epoch {trainer.epoch} "
                                "(the weights trained so far are kept)", callback=callback,
                                result=self.result()) from error

    def result(self):
        return self.losses, perf_counter() - self.t1, self.t1 - self.t0

    def save(self, path):
        return self.model.save(path)

    # ---------------------------------------------------------------- the loop
    def run(self):
        params, trainer = self.params, self.trainer
        for key in ("save_weights_path", "training_weights_path"):
            if params[key] is not None:
                parent = os.path.dirname(os.fspath(params[key]))
                if parent:
                    os.makedirs(parent, exist_ok=True)
        step = trainer.training_step(params["optimizer"], params["clip_grads"], params["fixed_weights"],
                                     params["jit_compile"])
        if params["optimizer"] is None:
            trainer.learning_rate = params["learning_rate"]
            trainer._apply_pending_learning_rate()
        self.t1 = perf_counter()
        outcome = "done"
        try:
            first = self.batches.next(self.model)
            step.trace()
            batch_size = first[0].shape[0]
            self.total_epochs = math.ceil(params["training_iters"] / batch_size)
            step.planned_steps = self.total_epochs
            step.switch = params["xla_switch"]
            self.t1 = perf_counter()
            self.emit("start")
            outcome = self.loop(step, first)
            self.check_final_weights(step)
        except BaseException as error:
            self.events.emit("failed", epoch=self.epoch, trials=self.trials, stage=self.stage(),
                             message=f"{type(error).__name__}: {error}", total_epochs=self.total_epochs,
                             global_epoch=trainer.epoch, global_trials=trainer.trials)
            raise
        finally:
            batch = getattr(self, "last_batch", None)
            if batch is not None:  # model.x, y, output_mask (PsychRNN's attributes): the last training batch
                self.model.remember_batch(*batch[:3])
        t2 = perf_counter()
        if self.verbose:
            print("Optimization finished!" if outcome == "done" else f"Training stopped at epoch {self.epoch}.")
        if params["save_weights_path"] is not None:
            saved = self.save(params["save_weights_path"])
            if self.verbose:
                print(f"Model saved in file: {saved}")
        self.emit(outcome, loss=self.losses[-1] if self.losses else None)
        return self.losses, t2 - self.t1, self.t1 - self.t0

    def wait_for_compiler(self, step, batch):
        """Wait for a late XLA compile in small slices; True if a stop was requested meanwhile."""
        warm = step.warm_up_for(*batch)
        while warm is not None and not warm.finished:
            if self.control.stop_requested or (self.control.paused and self.control.wait_if_paused()):
                return True
            warm.wait(0.05)
        return False

    def loop(self, step, pending):
        params, trainer, curriculum = self.params, self.trainer, self.curriculum
        while self.epoch < self.total_epochs:
            if self.control.wait_if_paused():
                return "stopped"
            if curriculum is not None and curriculum.stop_training:
                return "done"  # finished, possibly advanced past the last stage by hand
            batch = pending if pending is not None else self.batches.next(self.model)
            pending = None
            if self.wait_for_compiler(step, batch) or self.control.wait_if_paused():
                return "stopped"
            trainer._apply_pending_learning_rate()
            loss, outputs, finite = step(*batch)
            if not finite:
                self.diverged(step, loss)
            self.last_batch = batch
            self.epoch += 1
            self.trials += batch[0].shape[0]
            trainer.count_step(batch[0].shape[0])
            accuracy = None
            if self.epoch % params["loss_epoch"] == 0:
                self.losses.append(loss)
                if self.verbose:
                    print(f"Iter {self.trials}, Minibatch Loss= {loss:.6f}")
                if self.events.callbacks:
                    accuracy = self.batches.accuracy(batch[1], outputs.numpy(), batch[2])
            self.emit("step", loss=loss, accuracy=accuracy)

            if curriculum is not None and self.epoch % curriculum.metric_epoch == 0:
                if self.check_curriculum(loss):
                    return "done"
            if params["training_weights_path"] is not None and trainer.epoch % params["save_training_weights_epoch"] == 0:
                saved = self.save(f"{os.fspath(params['training_weights_path'])}{trainer.epoch}")
                if self.verbose:
                    print(f"Training weights saved in file: {saved}")
            if params["performance_measure"] is not None and self.performance_reached():
                return "done"
        return "done"

    def check_curriculum(self, loss):
        """Curriculum metric on a fresh batch; True when the curriculum is finished."""
        curriculum = self.curriculum
        cx, cy, cmask = self.batches.next(self.model)
        c_out, _ = self.model.test(cx)
        before = curriculum.stage
        advanced = curriculum.metric_test(cx, cy, cmask, c_out, self.epoch, self.losses, self.verbose)
        if curriculum.stage != before:
            self.emit("stage", loss=loss)
        return bool(advanced and curriculum.stop_training)

    def performance_reached(self):
        px, py, pmask = self.batches.next(self.model)
        p_out, _ = self.model.test(px)
        performance = self.params["performance_measure"](px, py, pmask, p_out, self.epoch, self.losses, self.verbose)
        if self.verbose:
            print(f"performance: {performance}")
        return performance >= self.params["performance_cutoff"]

    def diverged(self, step, loss):
        """The loss of the current weights on this batch is not finite: decide which weights to keep, then raise.

        If the current weights give a finite loss on the previous batch (or were checked
        at the end of the previous run), the batch is to blame and they are kept; otherwise
        the last update made them diverge and the copy taken before it is restored.
        """
        trainer = self.trainer
        previous = getattr(self, "last_batch", None)
        current_ok = step.check(*previous)[1] if previous is not None else trainer.weights_checked
        if current_ok:
            trainer.mark_checked()
        else:
            trainer.roll_back()
        raise TrainingDivergedError(
            f"training stopped at step {self.epoch + 1} of this run: the loss (or a gradient) became {loss}; the "
            f"weights and optimiser state after epoch {trainer.epoch} (the last with a finite loss) are kept. "
            "Lower learning_rate, keep clip_grads=True or check the inputs.",
            epoch=trainer.epoch, result=self.result())

    def check_final_weights(self, step):
        """After the last update: is the loss of the weights we end with finite? If not, roll back."""
        batch = getattr(self, "last_batch", None)
        if batch is None:
            return
        loss, finite = step.check(*batch)
        if finite:
            self.trainer.mark_checked()
            return
        self.trainer.roll_back()
        raise TrainingDivergedError(
            f"the last update made the loss {loss}: the weights and optimiser state after epoch "
            f"{self.trainer.epoch} (the last with a finite loss) are restored. Lower learning_rate or keep "
            "clip_grads=True.", epoch=self.trainer.epoch, result=self.result())
