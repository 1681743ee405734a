"""``EnsembleTrainer``: trains the K networks of an :class:`~psychrnn_widgets.sweeps.ensemble.Ensemble` in one step.

What :class:`~psychrnn_widgets.training.trainer.Trainer` is to one model, this is to an
ensemble: it holds the optimiser state (Adam with a step count and a learning rate per
network, :class:`~psychrnn_widgets.training.optim.Adam`), the last-good copy, the compiled
step and the counts; ``ensemble.train(...)`` is ``EnsembleTrainer.of(ensemble).train(...)``
and a second call continues.  Per network, exactly as for one model trained alone:

* the loss and its gradient (the sum of the K losses is differentiated: network k's
  variables get exactly network k's gradient);
* ``fixed_weights`` and the ``*_train`` flags (frozen entries never change), then
  ``clip_by_norm(g, 1.0)`` per tensor (the norm is taken per network);
* Adam's update, with the network's learning rate.

A network whose loss or gradient is not finite does not stop the others: it is rolled
back to the weights and optimiser state from before its last update (the last ones whose
loss was found finite), trains no further in this ensemble, and is reported
(:attr:`EnsembleTrainer.diverged`, the events' ``extra['diverged']``).  Training stops
early only when every network has diverged, on a stop request, or when a callback raises
(:class:`~psychrnn_widgets.errors.CallbackError`, weights kept).

Batches: ``sources`` is one Task or batch generator (the same trials for every network)
or a list of K of them (each network its own trials, e.g. each with its own seed: what a
sweep does, so that a network's result does not depend on its ensemble).  All networks'
batches of one step must have the same batch size and trial length.

The step runs as a plain ``tf.function`` graph (no XLA twin: see benchmarks/README.md,
"Ensembles").
"""
import math
from time import perf_counter

import numpy as np

from ..errors import CallbackError, ParameterError
from ..models._tf import GraphFunction, tf
from ..params import TRAIN_PARAMS, validate_train_params
from ..training.batches import BatchSource
from ..training.events import EventDispatcher
from ..training.optim import Adam, LastGood
from ..training.trainer import TrainerBase

__all__ = ["EnsembleTrainer", "EnsembleStep", "PER_NETWORK_KEYS", "UNSUPPORTED_KEYS"]

#: ``train_params`` keys that may be given per network (a list of K values)
PER_NETWORK_KEYS = ("learning_rate", "fixed_weights")
#: ``train_params`` keys a single model supports and an ensemble does not (with what to do instead)
UNSUPPORTED_KEYS = {
    "curriculum": "train each network alone, or give every network the same stage's task",
    "optimizer": "ensembles train with the default Adam ('adam' or None)",
    "performance_cutoff": "ensembles train for training_iters; stop early with a TrainingControl",
    "performance_measure": "ensembles train for training_iters; stop early with a TrainingControl",
    "generator_function": "pass the generators as the sources of Ensemble.train",
    "save_weights_path": "save each network with ensemble.model(k).save(path)",
    "training_weights_path": "save each network with ensemble.model(k).save(path) from a callback",
    "jit_compile": "the ensemble step runs as a plain graph",
}


def _per_network(value, key, K, validate):
    """K validated values from one value (shared) or a list of K values."""
    if isinstance(value, (list, tuple, np.ndarray)) and not (key == "fixed_weights" and hasattr(value, "keys")):
        values = list(value)
        if len(values) != K:
            raise ParameterError(f"train_params[{key!r}] has {len(values)} values; give one value or one per network "
                                 f"(K={K})", parameter=key, value=value)
        return [validate(v) for v in values]
    return [validate(value)] * K


def validate_ensemble_train_params(train_params, K):
    """``(params, per_network)``: ``validate_train_params`` for the shared keys, K values for the per-network ones."""
    train_params = dict(train_params or {})
    per_network = {}
    for key in PER_NETWORK_KEYS:
        parameter = TRAIN_PARAMS[key]
        value = train_params.pop(key, parameter.default)
        per_network[key] = _per_network(value, key, K, lambda v, p=parameter: p.validate(v, "train_params"))
    params = validate_train_params(train_params, stacklevel=5)
    for key, advice in UNSUPPORTED_KEYS.items():
        if params[key] is not None:
            raise ParameterError(f"train_params[{key!r}] is not supported when training an ensemble: {advice}",
                                 parameter=key, value=params[key])
    return params, per_network


class EnsembleStep:
    """Callable ``step(x, y, mask, active) -> (losses (K,), outputs (K,B,T,N_out), finite (K,))``, compiled once.

    ``active`` (K,) bool: networks that may change in this step.  A network changes only
    when it is active and its loss and gradients are finite.
    """

    def __init__(self, ensemble, variables, adam, last_good, keep_masks, clip_grads):
        self.ensemble, self.variables, self.adam, self.last_good = ensemble, variables, adam, last_good
        self.keep_masks, self.clip_grads = keep_masks, bool(clip_grads)
        K, n_in, n_out = ensemble.K, ensemble.N_in, ensemble.N_out
        signature = [tf.TensorSpec([K, None, None, n_in], tf.float32),
                     tf.TensorSpec([K, None, None, n_out], tf.float32),
                     tf.TensorSpec([K, None, None, n_out], tf.float32), tf.TensorSpec([K], tf.bool)]
        self.step = GraphFunction(self._step_graph, input_signature=signature)
        self.losses = GraphFunction(self._loss_graph, input_signature=signature[:3])

    def trace(self):
        self.step.get_concrete_function()

    def _step_graph(self, x, y, mask, active):
        with tf.GradientTape() as tape:
            losses, outputs = self.ensemble.compute_losses(x, y, mask, noise=True)
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, self.variables)
        grads = [g if (g is None or k is None) else g * k for g, k in zip(grads, self.keep_masks)]
        if self.clip_grads:  # PsychRNN's clip_by_norm(g, 1.0) per tensor, the norm taken per network
            grads = [None if g is None else tf.clip_by_norm(g, 1.0, axes=list(range(1, g.shape.rank)))
                     for g in grads]
        finite = tf.math.is_finite(losses)
        for g in grads:
            if g is not None:
                finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g), axis=list(range(1, g.shape.rank))))
        apply = tf.logical_and(finite, active)
        self.last_good.save_where(apply)
        self.adam.apply(grads, self.keep_masks, apply)
        self.ensemble.advance_noise(apply)
        return losses, outputs, finite

    def _loss_graph(self, x, y, mask):
        losses, _ = self.ensemble.compute_losses(x, y, mask, noise=True)
        return losses

    def __call__(self, x, y, mask, active):
        losses, outputs, finite = self.step(tf.constant(x), tf.constant(y), tf.constant(mask), tf.constant(active))
        return losses.numpy(), outputs, finite.numpy()


class EnsembleTrainer(TrainerBase):
    """Trains one :class:`~psychrnn_widgets.sweeps.ensemble.Ensemble`; create with :meth:`of` (one per ensemble).

    Attributes:
        epoch, trials: optimiser steps and trials per network over every ``train`` call.
        active: (K,) bool, networks still training (False once diverged).
        diverged: ``{k: message}`` for the networks that diverged.
        history: K dicts ``{'epoch': [...], 'trials': [...], 'loss': [...], 'accuracy': [...]}``,
            one entry every ``loss_epoch`` steps while the network trains (accuracy None
            when the task has no accuracy function).
    """

    def __init__(self, ensemble):
        self.ensemble = ensemble
        K = ensemble.K
        self.epoch = 0
        self.trials = 0
        self.active = np.ones(K, bool)
        self.diverged = {}
        self.history = [{"epoch": [], "trials": [], "loss": [], "accuracy": []} for _ in range(K)]
        self.running = False
        self._learning_rates = np.full(K, TRAIN_PARAMS["learning_rate"].default, np.float32)
        self._state = None
        self._steps = {}
        self._register(ensemble)

    @property
    def learning_rates(self):
        """(K,) learning rates (the last ones set or trained with)."""
        return self._learning_rates.copy()

    @learning_rates.setter
    def learning_rates(self, values):
        parameter = TRAIN_PARAMS["learning_rate"]
        values = _per_network(values, "learning_rate", self.ensemble.K, lambda v: parameter.validate(v, "train_params"))
        self._learning_rates = np.array(values, np.float32)
        if self._state is not None:
            self._state[1].learning_rate.assign(self._learning_rates)

    # ----------------------------------------------------------------- the step
    def _variables(self):
        """The variables some network trains, with their per-network trainable flags."""
        ensemble = self.ensemble
        return [(key, v) for key, v in ensemble.variables.items() if ensemble.trainable[key].any()]

    def _keep_masks(self, variables, fixed_weights):
        """Per variable None or (K, ...) float32: 1 where an entry may change (``*_train`` and ``fixed_weights``)."""
        ensemble = self.ensemble
        masks = []
        for key, variable in variables:
            keep = np.ones(tuple(variable.shape), np.float32)
            keep[~ensemble.trainable[key]] = 0.0
            for k, fixed in enumerate(fixed_weights):
                if fixed and key in fixed:
                    frozen = np.asarray(fixed[key], np.float32)
                    if frozen.shape != keep.shape[1:]:
                        raise ParameterError(f"fixed_weights[{key!r}] of network {k} has shape {frozen.shape}, "
                                             f"expected {keep.shape[1:]}", parameter="fixed_weights")
                    keep[k] *= 1.0 - frozen
            masks.append(None if keep.all() else tf.constant(keep))
        known = set(ensemble.variables)
        for k, fixed in enumerate(fixed_weights):
            for key in fixed or {}:
                if key not in known:
                    raise ParameterError(f"fixed_weights of network {k} has key {key!r}, which is not a variable "
                                         f"({', '.join(sorted(known))})", parameter="fixed_weights", value=key)
        return masks

    def training_step(self, fixed_weights=None, clip_grads=True):
        """The compiled :class:`EnsembleStep` for these settings (cached); ``fixed_weights``: K dicts or None."""
        fixed_weights = list(fixed_weights or [None] * self.ensemble.K)
        variables = self._variables()
        if not variables:
            raise ParameterError("no network of the ensemble has a trainable variable (every *_train flag is False)",
                                 parameter="W_rec_train")
        if self._state is None:
            tf_variables = [v for _, v in variables]
            adam = Adam(tf_variables, self._learning_rates, n_networks=self.ensemble.K)
            self._state = (tf_variables, adam, LastGood(tf_variables + adam.slots))
        key = (bool(clip_grads), tuple(None if not f else tuple(sorted((k, np.asarray(v, np.float32).tobytes())
                                                                         for k, v in f.items()))
                                       for f in fixed_weights))
        step = self._steps.get(key)
        if step is None:
            tf_variables, adam, last_good = self._state
            step = EnsembleStep(self.ensemble, tf_variables, adam, last_good,
                                self._keep_masks(variables, fixed_weights), clip_grads)
            self._steps[key] = step
        return step

    def roll_back(self, networks, message_for):
        """Restore the last-good copy of ``networks`` ((K,) bool), freeze them and record ``message_for(k)``."""
        self._state[2].restore_where(tf.constant(networks))
        for k in np.flatnonzero(networks):
            self.diverged[int(k)] = message_for(int(k))
        self.active &= ~networks

    # ----------------------------------------------------------------- training
    def train(self, sources, train_params=None):
        """Train on ``sources`` (one Task/generator for all, or a list of K); see the module docstring.

        ``train_params``: PsychRNN's keys ``training_iters`` (trials per network),
        ``learning_rate`` (one value or K), ``loss_epoch``, ``verbosity``, ``clip_grads``,
        ``fixed_weights`` (one dict or K dicts/None), ``callbacks``, ``control``.

        Returns:
            ``(losses, training_time, initialization_time)``: ``losses`` (records, K), the
            loss of each network every ``loss_epoch`` steps (NaN once it stopped), and seconds.
        """
        t0 = perf_counter()
        ensemble = self.ensemble
        params, per_network = validate_ensemble_train_params(train_params, ensemble.K)
        return self.run_exclusively(
            params, "ensemble", lambda control: _EnsembleRun(self, sources, params, per_network, control, t0).run())

    def __repr__(self):
        return (f"EnsembleTrainer(K={self.ensemble.K}, epoch={self.epoch}, active={int(self.active.sum())}, "
                f"diverged={len(self.diverged)})")


class _EnsembleRun:
    """One ``EnsembleTrainer.train`` call: the step loop and its bookkeeping."""

    def __init__(self, trainer, sources, params, per_network, control, t0):
        self.trainer, self.ensemble, self.params, self.control, self.t0 = trainer, trainer.ensemble, params, control, t0
        self.per_network = per_network
        K = self.ensemble.K
        if isinstance(sources, (list, tuple)):
            if len(sources) != K:
                raise ParameterError(f"Ensemble.train needs one source for all networks or one per network (K={K}), "
                                     f"got {len(sources)}", parameter="trial_batch_generator")
            self.sources = [BatchSource(s, None) for s in sources]
        else:
            self.sources = [BatchSource(sources, None)]
        self.events = EventDispatcher(params["callbacks"])
        self.verbose = bool(params["verbosity"])
        self.losses = []
        self.epoch = self.trials = self.total_epochs = 0

    def next_batch(self):
        """``(x, y, mask)`` stacked (K, B, T, .), float32, one batch per network (or one for all)."""
        batches = [source.next(self.ensemble) for source in self.sources]
        shape = batches[0][0].shape[:2]
        for k, batch in enumerate(batches[1:], start=1):
            if batch[0].shape[:2] != shape:
                raise ParameterError(f"the batch of network {k} has (batch, time) = {batch[0].shape[:2]} but network "
                                     f"0's has {shape}: the networks of an ensemble train on batches of one shape",
                                     parameter="trial_batch_generator")
        K = self.ensemble.K
        if len(batches) == 1:
            return tuple(np.broadcast_to(a, (K,) + a.shape) for a in batches[0])
        return tuple(np.stack([b[i] for b in batches]) for i in range(3))

    def accuracies(self, y, outputs, mask):
        """(K,) accuracies (NaN where a network's task has no accuracy function)."""
        outputs = outputs.numpy()
        values = []
        for k in range(self.ensemble.K):
            source = self.sources[k if len(self.sources) > 1 else 0]
            value = source.accuracy(y[k], outputs[k], mask[k])
            values.append(np.nan if value is None else value)
        return np.array(values)

    def emit(self, kind, losses=None, accuracies=None, message=None):
        trainer = self.trainer
        active = trainer.active
        extra = {"losses": None if losses is None else [float(v) if a else None for v, a in zip(losses, active)],
                 "accuracies": None if accuracies is None else
                 [None if (not a or np.isnan(v)) else float(v) for v, a in zip(accuracies, active)],
                 "active": active.tolist(), "diverged": dict(trainer.diverged)}
        mean_loss = float(np.mean(losses[active])) if losses is not None and active.any() else None
        finite_acc = accuracies[active & ~np.isnan(accuracies)] if accuracies is not None else np.array([])
        self.events.emit(kind, epoch=self.epoch, trials=self.trials, loss=mean_loss,
                         accuracy=float(np.mean(finite_acc)) if finite_acc.size else None, message=message,
                         total_epochs=self.total_epochs, global_epoch=trainer.epoch, global_trials=trainer.trials,
                         extra=extra)
        if self.events.error is not None and kind != "failed":
            callback, error = self.events.error
            raise CallbackError(f"training callback {getattr(callback, '__name__', callback)!r} raised "
                                f"{type(error).__name__}: {error}; ensemble training stopped after epoch "
                                f"{trainer.epoch} (the weights trained so far are kept)", callback=callback,
                                result=self.result()) from error

    def result(self):
        losses = np.array(self.losses, dtype=np.float64).reshape(-1, self.ensemble.K)
        return losses, perf_counter() - self.t1, self.t1 - self.t0

    def run(self):
        trainer, params = self.trainer, self.params
        step = trainer.training_step(self.per_network["fixed_weights"], params["clip_grads"])
        trainer.learning_rates = self.per_network["learning_rate"]
        self.t1 = perf_counter()
        outcome = "done"
        try:
            batch = self.next_batch()
            step.trace()
            self.total_epochs = math.ceil(params["training_iters"] / batch[0].shape[1])
            self.t1 = perf_counter()
            self.emit("start")
            outcome = self.loop(step, batch)
            self.check_final_weights(step)
        except BaseException as error:
            self.events.emit("failed", epoch=self.epoch, trials=self.trials, message=f"{type(error).__name__}: {error}",
                             total_epochs=self.total_epochs, global_epoch=trainer.epoch, global_trials=trainer.trials)
            raise
        t2 = perf_counter()
        if self.verbose:
            print("Optimization finished!" if outcome == "done" else f"Training stopped at epoch {self.epoch}.")
        self.emit(outcome, losses=self.losses[-1] if self.losses else None)
        losses, _, init_time = self.result()
        return losses, t2 - self.t1, init_time

    def loop(self, step, pending):
        params, trainer = self.params, self.trainer
        while self.epoch < self.total_epochs:
            if self.control.wait_if_paused():
                return "stopped"
            if not trainer.active.any():
                return "done"  # every network diverged
            batch = pending if pending is not None else self.next_batch()
            pending = None
            losses, outputs, finite = step(*batch, trainer.active.copy())
            newly = trainer.active & ~finite
            if newly.any():
                epoch = trainer.epoch
                trainer.roll_back(newly, lambda k: (
                    f"network {k}: the loss (or a gradient) became {losses[k]} at step {epoch + 1}; its weights and "
                    f"optimiser state from before its last update are kept and it trains no further"))
            self.epoch += 1
            self.trials += batch[0].shape[1]
            trainer.epoch += 1
            trainer.trials += batch[0].shape[1]
            accuracies = None
            if self.epoch % params["loss_epoch"] == 0:
                recorded = np.where(trainer.active, losses, np.nan)
                self.losses.append(recorded)
                accuracies = self.accuracies(batch[1], outputs, batch[2])
                for k in np.flatnonzero(trainer.active):
                    history = trainer.history[k]
                    history["epoch"].append(trainer.epoch)
                    history["trials"].append(trainer.trials)
                    history["loss"].append(float(losses[k]))
                    history["accuracy"].append(None if np.isnan(accuracies[k]) else float(accuracies[k]))
                if self.verbose:
                    print(f"Iter {self.trials}, Minibatch Loss= " + " ".join(f"{v:.6f}" for v in recorded))
            self.last_batch = batch
            self.emit("step", losses=losses, accuracies=accuracies)
        return "done"

    def check_final_weights(self, step):
        """After the last update: networks whose loss is no longer finite are rolled back and reported."""
        batch = getattr(self, "last_batch", None)
        trainer = self.trainer
        if batch is None or not trainer.active.any():
            return
        losses = step.losses(*(tf.constant(a) for a in batch)).numpy()
        bad = trainer.active & ~np.isfinite(losses)
        if bad.any():
            trainer.roll_back(bad, lambda k: (
                f"network {k}: the last update made the loss {losses[k]}; its weights and optimiser state from "
                "before that update are kept"))
