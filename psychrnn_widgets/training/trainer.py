"""``Trainer``: everything training adds to a model, and the training loop -- for one network or K.

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

One stack for 1...K networks (DESIGN §8): the same trainer, loop and compiled step
(:class:`~psychrnn_widgets.training.step.TrainingStep`) train one model or K same-shaped
networks along a leading network axis (an :class:`~psychrnn_widgets.models.ensemble.Ensemble`,
``model.n_networks`` = K; ``EnsembleTrainer`` is this class under the name the ensembles
had).  The step is a pure function of the batch and the (K,) mask of networks that may
change; this loop draws the batches, calls it, and does the bookkeeping per network.

The loop (PsychRNN's keys and return value ``(losses, training_time, initialization_time)``):
``ceil(training_iters / batch size)`` optimiser steps; every ``loss_epoch`` steps the loss
is recorded (and printed as ``Iter {trials}, Minibatch Loss= {:.6f}``); curriculum checks
every ``metric_epoch``; snapshots every ``save_training_weights_epoch``; a performance
cut-off.  Beyond PsychRNN: checkpoints every ``checkpoint_every`` steps, bounded in number,
in memory or in a folder (:attr:`Trainer.checkpoints`; see
:mod:`~psychrnn_widgets.training.checkpoints`: analyses across training read them); events
to ``callbacks`` after every step and at start, stage changes and the end (``done``,
``stopped`` or ``failed`` -- every callback gets exactly one of them), stop/pause through a
:class:`~psychrnn_widgets.training.events.TrainingControl` honoured between steps (and
while waiting for the XLA compiler), and nothing is lost:

* a non-finite loss stops training with :class:`~psychrnn_widgets.errors.TrainingDivergedError`;
  the weights and optimiser state are those of the last step whose loss was finite (the
  error names that epoch), so ``test()`` and further training work;
* the weights a run ends with are checked once more (one forward pass on the last batch);
  if an update of the last step made them diverge, they are rolled back the same way;
* a callback that raises stops training after that step with
  :class:`~psychrnn_widgets.errors.CallbackError`, which carries the run's result; the
  weights trained so far are kept.

With K networks each network is trained exactly as it would be alone (its own loss,
gradient clipping, learning rate, Adam state and frozen entries), and a network whose loss
or gradient is not finite does not stop the others: its weights are chosen as above
(kept, or rolled back to before its last update), it trains no further and is reported
(:attr:`Trainer.diverged`, the events' ``extra['diverged']``); training stops early only
when every network has diverged, on a stop request, or when a callback raises.  The
batches: one Task or generator for all networks, or a list of K (``Ensemble.train``); the
losses come back as (records, K), NaN once a network stopped; events carry the mean loss
and accuracy of the networks still training and, in ``extra``, each network's.  Keys that
need one model (a curriculum, an external optimiser, a performance cut-off, weight files)
are refused for K networks with what to do instead (:data:`SINGLE_NETWORK_KEYS`).

This module sits in the training layer; the models import it lazily in one place
(``models.rnn.train_with_trainer``, the one upward call).
"""
import math
import os
import threading
import weakref
from time import perf_counter

import numpy as np

from ..errors import CallbackError, ParameterError, TrainingDivergedError
from ..params import TRAIN_PARAMS, validate_train_params
from .batches import batch_source
from .checkpoints import CheckpointStore
from .events import EventDispatcher, TrainingControl
from .optim import OptimizerState
from .step import TrainingStep

__all__ = ["Trainer", "EnsembleTrainer", "OptimizerState", "PER_NETWORK_KEYS", "SINGLE_NETWORK_KEYS",
           "validate_train_params_for"]

#: ``train_params`` keys that may be given per network (a list of K values) when training K networks
PER_NETWORK_KEYS = ("learning_rate", "fixed_weights")
#: ``train_params`` keys that need one model, refused for K networks (with what to do instead)
SINGLE_NETWORK_KEYS = {
    "curriculum": "train each network alone, or give every network the same stage's task",
    "optimizer": "ensembles train with the default Adam ('adam' or None)",
    "performance_cutoff": "ensembles train for training_iters; stop early with a TrainingControl",
    "performance_measure": "ensembles train for training_iters; stop early with a TrainingControl",
    "generator_function": "pass the generators as the sources of Ensemble.train",
    "save_weights_path": "save each network with ensemble.model(k).save(path)",
    "training_weights_path": "save each network with ensemble.model(k).save(path) from a callback",
    "checkpoint_every": "train a network alone to keep checkpoints, or keep ensemble.get_weights(k) from a callback",
    "checkpoint_path": "train a network alone to keep checkpoints, or save ensemble.model(k) from a callback",
}


def per_network_values(value, key, n_networks, validate):
    """``validate(value)`` for one network; for K, a list of K validated values from one value or a list of K."""
    if n_networks is None:
        return validate(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(value)
        if len(values) != n_networks:
            raise ParameterError(f"train_params[{key!r}] has {len(values)} values; give one value or one per network "
                                 f"(K={n_networks})", parameter=key, value=value)
        return [validate(v) for v in values]
    return [validate(value)] * n_networks


def validate_train_params_for(model, train_params):
    """``validate_train_params`` for ``model``: for K networks the per-network keys become lists of K and the
    keys that need one model are refused."""
    networks = getattr(model, "n_networks", None)
    if networks is None:
        return validate_train_params(train_params, stacklevel=5)
    if train_params is not None and not hasattr(train_params, "keys"):
        return validate_train_params(train_params)  # the error that says what train_params must be
    train_params = dict(train_params or {})
    given = {key: train_params.pop(key) for key in PER_NETWORK_KEYS if key in train_params}
    params = validate_train_params(train_params, stacklevel=5)
    for key, advice in SINGLE_NETWORK_KEYS.items():
        if params[key] is not None:
            raise ParameterError(f"train_params[{key!r}] is not supported when training an ensemble: {advice}",
                                 parameter=key, value=params[key])
    for key in PER_NETWORK_KEYS:
        parameter = TRAIN_PARAMS[key]
        params[key] = per_network_values(given.get(key, parameter.default), key, networks,
                                         lambda v, p=parameter: p.validate(v, "train_params"))
    return params


def _fixed_key(fixed_weights):
    """A hashable key for ``fixed_weights`` (a dict, None, or a list of them for K networks)."""
    if not fixed_weights:
        return None
    if hasattr(fixed_weights, "items"):
        return tuple(sorted((k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in fixed_weights.items()))
    return tuple(_fixed_key(f) for f in fixed_weights)


class Trainer:
    """Trains one model (one network, or K along a network axis); see the module docstring.

    Create with :meth:`of` (one per model, weakly keyed: the same object afterwards).

    Attributes:
        model: what is trained.  ``n_networks``: None, or K.
        epoch, trials: optimiser steps and trials (per network) over every ``train`` call.
        last_good_at: ``(epoch, trials)`` of the weights a rollback returns to.
        weights_checked: whether the current weights are known to give a finite loss.
        active: (K,) bool, networks still training ((1,) for one network, which stops instead).
        diverged: ``{k: message}`` for the networks that diverged (K networks).
        history: K dicts ``{'epoch': [...], 'trials': [...], 'loss': [...], 'accuracy': [...]}``,
            one entry every ``loss_epoch`` steps while the network trains (accuracy None
            when the task has no accuracy function); None for one network.
        checkpoints: the :class:`~psychrnn_widgets.training.checkpoints.CheckpointStore` of
            the weights kept every ``checkpoint_every`` steps (``train_params``; one network),
            oldest first, each a :class:`~psychrnn_widgets.training.checkpoints.Checkpoint`
            (step, trials, weights dict); a step event that took one names its step in
            ``extra['checkpoint']``.
    """

    _trainers = weakref.WeakKeyDictionary()
    _registry_lock = threading.Lock()
    running = False

    def __init__(self, model):
        self.model = model
        self.n_networks = getattr(model, "n_networks", None)
        self.epoch = 0  # optimiser steps over every train() call
        self.trials = 0  # trials trained on over every call
        #: (epoch, trials) of the weights copied before the last update: what a rollback returns to
        self.last_good_at = (0, 0)
        #: whether the current weights are known to give a finite loss (checked at the end of a run)
        self.weights_checked = True
        self.running = False
        self._lock = threading.Lock()
        default = TRAIN_PARAMS["learning_rate"].default
        self._learning_rate = default if self.n_networks is None else np.full(self.n_networks, default, np.float32)
        self._pending_learning_rate = None
        self._state = None
        self._steps = {}
        self.checkpoints = CheckpointStore()
        self._forget_networks()
        with Trainer._registry_lock:
            Trainer._trainers[model] = self

    @classmethod
    def of(cls, model):
        """The trainer of ``model`` (created on first use; the same object afterwards)."""
        with Trainer._registry_lock:
            trainer = Trainer._trainers.get(model)
        return trainer if trainer is not None else cls(model)

    def _forget_networks(self):
        K = self.n_networks
        self.active = np.ones(1 if K is None else K, bool)
        self.diverged = {}
        self.history = None if K is None else [{"epoch": [], "trials": [], "loss": [], "accuracy": []}
                                               for _ in range(K)]

    # ------------------------------------------------------------- learning rate
    @property
    def learning_rate(self):
        """The learning rate of the default optimiser (the last value set or trained with); (K,) for K networks."""
        with self._lock:
            value = self._pending_learning_rate if self._pending_learning_rate is not None else self._learning_rate
        return value if self.n_networks is None else np.array(value, np.float32)

    @learning_rate.setter
    def learning_rate(self, value):
        parameter = TRAIN_PARAMS["learning_rate"]
        value = per_network_values(value, "learning_rate", self.n_networks, lambda v: parameter.validate(v, "Trainer"))
        if self.n_networks is not None:
            value = np.array(value, np.float32)
        with self._lock:
            self._pending_learning_rate = value
        if not self.running:
            self._apply_pending_learning_rate()

    @property
    def learning_rates(self):
        """The learning rates as a (K,) array (K = 1 for one network); settable with one value or K."""
        return np.atleast_1d(np.array(self.learning_rate, np.float32))

    @learning_rates.setter
    def learning_rates(self, values):
        self.learning_rate = values

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
        """The :class:`~psychrnn_widgets.training.optim.OptimizerState` of the default optimiser (None before the first step)."""
        return self._state

    def reset(self):
        """Forget the optimiser state, the counts, the checkpoints (their files too) and which networks diverged
        (the weights stay); not while training."""
        if self.running:
            raise RuntimeError("cannot reset a trainer while it trains")
        self._state = None
        self._steps.clear()
        self.epoch = self.trials = 0
        self.last_good_at = (0, 0)
        self.weights_checked = True
        self.checkpoints.clear()
        self._forget_networks()

    def training_step(self, optimizer=None, clip_grads=True, fixed_weights=None, jit_compile=None):
        """The compiled :class:`~psychrnn_widgets.training.step.TrainingStep` for these settings (cached).

        ``fixed_weights``: a dict, or for K networks one dict for all or a list of K (dict or None).
        """
        variables = self.model.trainable_variables
        if not variables:
            raise ParameterError("the model has no trainable variables (every *_train flag is False)",
                                 parameter="W_rec_train")
        if self.n_networks is not None and fixed_weights is not None and hasattr(fixed_weights, "items"):
            fixed_weights = [fixed_weights] * self.n_networks
        if self._state is None or [id(v) for v in self._state.variables] != [id(v) for v in variables]:
            self._state = OptimizerState(variables, self._learning_rate, self.n_networks)
            self._steps.clear()
        key = (id(optimizer) if optimizer is not None else "adam", bool(clip_grads), _fixed_key(fixed_weights),
               jit_compile)
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

    def mark_checked(self, networks=None):
        """The current weights gave a finite loss: make them the rollback point (K networks: only ``networks``,
        a (K,) bool, when given)."""
        if self._state is not None:
            self._state.save(networks)
        if networks is None:
            self.last_good_at = (self.epoch, self.trials)
            self.weights_checked = True

    def roll_back(self, networks=None):
        """Put back the weights, optimiser state and counts copied before the last update (K networks: only the
        weights and optimiser state of ``networks``, a (K,) bool, when given)."""
        if self._state is not None:
            self._state.restore(networks)
        if networks is None:
            self.epoch, self.trials = self.last_good_at
            self.weights_checked = True
            self.checkpoints.discard_after(self.epoch)

    def take_checkpoint(self):
        """Keep the current weights as the checkpoint of this step (one network); returns the Checkpoint."""
        return self.checkpoints.take(self.epoch, self.trials, self.model.get_weights())

    def stop_networks(self, networks, messages):
        """K networks: ``networks`` ((K,) bool) train no further; ``messages`` ``{k: why}`` are recorded."""
        self.active &= ~np.asarray(networks, bool)
        self.diverged.update(messages)

    # ------------------------------------------------------------- training
    def train(self, source, train_params=None):
        """Train on ``source``; see the module docstring.

        Args:
            source: a Task or a batch generator (or None with a curriculum); for K networks
                one of them for all networks or a list of K.
            train_params: PsychRNN's keys (:data:`~psychrnn_widgets.params.TRAIN_PARAMS`) plus
                ``callbacks`` and ``control``; for K networks ``learning_rate`` and
                ``fixed_weights`` may be lists of K.

        Returns:
            ``(losses, training_time, initialization_time)``: the total loss every
            ``loss_epoch`` steps (a list; (records, K) array for K networks), and seconds.
        """
        t0 = perf_counter()
        params = validate_train_params_for(self.model, train_params)
        control = params["control"] or TrainingControl()
        if control.stop_requested:
            raise ParameterError("train_params['control'] was stopped by an earlier request_stop(); call "
                                 "control.reset() (or pass a new TrainingControl) to train again",
                                 parameter="control", value=control)
        if self.running:
            raise RuntimeError(f"this {'model' if self.n_networks is None else 'ensemble'} is already training (in "
                               "another thread); stop that run first")
        self.running = True
        try:
            return _Run(self, source, params, control, t0).run()
        finally:
            self.running = False

    def __repr__(self):
        networks = "" if self.n_networks is None else f", active={int(self.active.sum())}/{self.n_networks}"
        return f"Trainer({self.model!r}, epoch={self.epoch}, trials={self.trials}{networks})"


#: the ensembles' trainer is the one trainer (its name from when ensembles had their own)
EnsembleTrainer = Trainer


class _Run:
    """One ``train`` call: the loop and its bookkeeping."""

    def __init__(self, trainer, source, params, control, t0):
        self.trainer, self.model, self.params, self.control, self.t0 = trainer, trainer.model, params, control, t0
        self.networks = trainer.n_networks
        self.verbose = bool(params["verbosity"])
        self.curriculum = params["curriculum"]
        if params["generator_function"] is not None:  # PsychRNN's documented replacement of the source
            source = params["generator_function"]
        self.events = EventDispatcher(params["callbacks"])
        self.batches = batch_source(source, self.curriculum, self.networks)
        self.losses = []
        self.epoch = 0  # steps in this call
        self.trials = 0  # trials in this call
        self.total_epochs = 0

    # ---------------------------------------------------------------- helpers
    def stage(self):
        return None if self.curriculum is None else self.curriculum.stage

    def emit(self, kind, loss=None, accuracy=None, extra=None):
        """Send ``kind`` to the callbacks; for K networks ``loss`` and ``accuracy`` are (K,) (or None).

        ``extra``: more entries for the event's ``extra`` dict (e.g. ``{'checkpoint': step}``).
        """
        trainer = self.trainer
        fields = {}
        if self.networks is not None and self.events.callbacks:
            loss, accuracy, fields["extra"] = self.network_summary(loss, accuracy)
        if extra:
            fields["extra"] = {**fields.get("extra", {}), **extra}
        self.events.emit(kind, epoch=self.epoch, trials=self.trials, stage=self.stage(), loss=loss, accuracy=accuracy,
                         total_epochs=self.total_epochs, global_epoch=trainer.epoch, global_trials=trainer.trials,
                         **fields)
        if self.events.error is not None and kind not in ("failed",):
            callback, error = self.events.error
            raise CallbackError(f"training callback {getattr(callback, '__name__', callback)!r} raised "
                                f"{type(error).__name__}: {error}; training stopped after epoch {trainer.epoch} "
                                "(the weights trained so far are kept)", callback=callback,
                                result=self.result()) from error

    def network_summary(self, losses, accuracies):
        """``(mean loss, mean accuracy, extra)`` over the networks still training, and each network's in ``extra``."""
        active = self.trainer.active
        extra = {"losses": None if losses is None else [float(v) if a else None for v, a in zip(losses, active)],
                 "accuracies": None if accuracies is None else
                 [None if (not a or np.isnan(v)) else float(v) for v, a in zip(accuracies, active)],
                 "active": active.tolist(), "diverged": dict(self.trainer.diverged)}
        mean_loss = float(np.mean(np.asarray(losses)[active])) if losses is not None and active.any() else None
        finite = accuracies[active & ~np.isnan(accuracies)] if accuracies is not None else np.array([])
        return mean_loss, float(np.mean(finite)) if finite.size else None, extra

    def recorded_losses(self):
        if self.networks is None:
            return self.losses
        return np.array(self.losses, dtype=np.float64).reshape(-1, self.networks)

    def result(self):
        return self.recorded_losses(), perf_counter() - self.t1, self.t1 - self.t0

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
        checkpoints = trainer.checkpoints
        checkpoints.configure(params["checkpoint_every"], params["keep_checkpoints"], params["checkpoint_path"])
        if checkpoints.every is not None and not checkpoints.has(trainer.epoch):
            trainer.take_checkpoint()  # the network this call starts from
        if params["optimizer"] is None:
            trainer.learning_rate = params["learning_rate"]
            trainer._apply_pending_learning_rate()
        self.t1 = perf_counter()
        outcome = "done"
        try:
            first = self.batches.next(self.model)
            step.trace()
            batch_size = first[0].shape[-3]
            self.total_epochs = math.ceil(params["training_iters"] / batch_size)
            step.planned_steps = self.total_epochs
            step.switch = params["xla_switch"]
            self.t1 = perf_counter()
            self.emit("start")
            outcome = self.loop(step, first)
            self.check_final_weights(step)
            if checkpoints.every is not None and not checkpoints.has(trainer.epoch):
                trainer.take_checkpoint()  # the network this call ends with
        except BaseException as error:
            self.events.emit("failed", epoch=self.epoch, trials=self.trials, stage=self.stage(),
                             message=f"{type(error).__name__}: {error}", total_epochs=self.total_epochs,
                             global_epoch=trainer.epoch, global_trials=trainer.trials)
            raise
        finally:
            batch = getattr(self, "last_batch", None)
            if batch is not None and self.networks is None:  # model.x, y, output_mask (PsychRNN's): the last batch
                self.model.remember_batch(*batch[:3])
        t2 = perf_counter()
        if self.verbose:
            print("Optimization finished!" if outcome == "done" else f"Training stopped at epoch {self.epoch}.")
        if params["save_weights_path"] is not None:
            saved = self.save(params["save_weights_path"])
            if self.verbose:
                print(f"Model saved in file: {saved}")
        self.emit(outcome, loss=self.losses[-1] if self.losses else None)
        return self.recorded_losses(), t2 - self.t1, self.t1 - self.t0

    def wait_for_compiler(self, step, batch):
        """Wait for a late XLA compile in small slices; True if a stop was requested meanwhile."""
        warm = step.warm_up_for(*batch)
        while warm is not None and not warm.finished:
            if self.control.stop_requested or (self.control.paused and self.control.wait_if_paused()):
                return True
            warm.wait(0.05)
        return False

    def loop(self, step, pending):
        params, trainer, curriculum, networks = self.params, self.trainer, self.curriculum, self.networks
        while self.epoch < self.total_epochs:
            if self.control.wait_if_paused():
                return "stopped"
            if curriculum is not None and curriculum.stop_training:
                return "done"  # finished, possibly advanced past the last stage by hand
            if networks is not None and not trainer.active.any():
                return "done"  # every network diverged
            batch = pending if pending is not None else self.batches.next(self.model)
            pending = None
            if self.wait_for_compiler(step, batch) or self.control.wait_if_paused():
                return "stopped"
            trainer._apply_pending_learning_rate()
            if networks is None:
                loss, outputs, finite = step(*batch)
                if not finite:
                    self.diverged(step, loss)
            else:
                loss, outputs, finite = step(*batch, trainer.active.copy())
                newly = trainer.active & ~finite
                if newly.any():
                    self.diverged(step, loss, newly)
            self.last_batch = batch
            batch_size = batch[0].shape[-3]
            self.epoch += 1
            self.trials += batch_size
            trainer.count_step(batch_size)
            accuracy = None
            if self.epoch % params["loss_epoch"] == 0:
                accuracy = self.record(loss, batch, outputs)
            taken = None
            if trainer.checkpoints.due(trainer.epoch):
                taken = {"checkpoint": trainer.take_checkpoint().epoch}
            self.emit("step", loss=loss, accuracy=accuracy, extra=taken)

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

    def record(self, loss, batch, outputs):
        """Every ``loss_epoch`` steps: record (and print) the loss; the accuracy on the batch, for the events.

        One network: the accuracy is computed only when someone listens (None otherwise).
        K networks: the recorded row is NaN for networks no longer training, and each
        training network's loss and accuracy go to its :attr:`Trainer.history`.
        """
        if self.networks is None:
            self.losses.append(loss)
            if self.verbose:
                print(f"Iter {self.trials}, Minibatch Loss= {loss:.6f}")
            if self.events.callbacks:
                return self.batches.accuracy(batch[1], outputs.numpy(), batch[2])
            return None
        trainer = self.trainer
        recorded = np.where(trainer.active, loss, np.nan)
        self.losses.append(recorded)
        accuracies = self.batches.accuracy(batch[1], outputs.numpy(), batch[2])
        for k in np.flatnonzero(trainer.active):
            history = trainer.history[k]
            history["epoch"].append(trainer.epoch)
            history["trials"].append(trainer.trials)
            history["loss"].append(float(loss[k]))
            history["accuracy"].append(None if np.isnan(accuracies[k]) else float(accuracies[k]))
        if self.verbose:
            print(f"Iter {self.trials}, Minibatch Loss= " + " ".join(f"{v:.6f}" for v in recorded))
        return accuracies

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

    def diverged(self, step, loss, networks=None):
        """The loss of the current weights on this batch is not finite: decide which weights to keep.

        If the current weights give a finite loss on the previous batch (or were checked
        at the end of the previous run), the batch is to blame and they are kept; otherwise
        the last update made them diverge and the copy taken before it is restored.  One
        network: then raise.  K networks: ``networks`` ((K,) bool) are the ones that just
        diverged; each is decided alone, then trains no further (the others go on).
        """
        trainer = self.trainer
        previous = getattr(self, "last_batch", None)
        current_ok = step.check(*previous)[1] if previous is not None else trainer.weights_checked
        if networks is None:
            if current_ok:
                trainer.mark_checked()
            else:
                trainer.roll_back()
            raise TrainingDivergedError(
                f"training stopped at step {self.epoch + 1} of this run: the loss (or a gradient) became {loss}; the "
                f"weights and optimiser state after epoch {trainer.epoch} (the last with a finite loss) are kept. "
                "Lower learning_rate, keep clip_grads=True or check the inputs.",
                epoch=trainer.epoch, result=self.result())
        current_ok = np.broadcast_to(current_ok, networks.shape)
        kept, restored = networks & current_ok, networks & ~current_ok
        if kept.any():
            trainer.mark_checked(kept)
        if restored.any():
            trainer.roll_back(restored)
        what = {True: "its current weights and optimiser state (finite on the previous batch) are kept",
                False: "its weights and optimiser state from before its last update are restored"}
        trainer.stop_networks(networks, {int(k): f"network {k}: the loss (or a gradient) became {loss[k]} at step "
                                                 f"{trainer.epoch + 1}; {what[bool(current_ok[k])]} and it trains no "
                                                 "further" for k in np.flatnonzero(networks)})

    def check_final_weights(self, step):
        """After the last update: is the loss of the weights we end with finite? If not, roll back.

        One network: then raise.  K networks: each network whose loss is no longer finite is
        rolled back and reported, the others are kept.
        """
        batch = getattr(self, "last_batch", None)
        trainer = self.trainer
        if batch is None or not trainer.active.any():
            return
        loss, finite = step.check(*batch)
        if self.networks is not None:
            bad = trainer.active & ~finite
            if bad.any():
                trainer.roll_back(bad)
                trainer.stop_networks(bad, {int(k): f"network {k}: the last update made the loss {loss[k]}; its "
                                                    "weights and optimiser state from before that update are restored"
                                            for k in np.flatnonzero(bad)})
            trainer.mark_checked()
            return
        if finite:
            trainer.mark_checked()
            return
        trainer.roll_back()
        raise TrainingDivergedError(
            f"the last update made the loss {loss}: the weights and optimiser state after epoch "
            f"{trainer.epoch} (the last with a finite loss) are restored. Lower learning_rate or keep "
            "clip_grads=True.", epoch=trainer.epoch, result=self.result())
