"""The compiled training step: forward pass, loss, gradients, clipping, masked update.

One step per (model, optimiser, clipping, frozen-weights) combination, cached on the
model so that a second ``train`` call neither retraces nor loses the optimiser state.
Batch size and trial length are dynamic (``None`` in the input signature), so curriculum
stages may differ in ``T``.  The update is skipped entirely when the loss or a gradient
is not finite, which keeps the last finite weights.

Tracing: without AutoGraph (the library's loops are explicit ``tf.while_loop``s), which
is about 5x faster; see :class:`~psychrnn_widgets.models._tf.GraphFunction`.

XLA: when the model prefers it (``Basic``), the step also has an XLA-compiled twin: the
already-traced plain graph, compiled (no second Python trace).  Compiling takes seconds,
so for each batch shape the first ``XLA_AFTER_STEPS`` steps run the plain graph while a
background thread at the lowest CPU priority (Linux: nice 19, that thread only) compiles
the twin with a *dry run* (the same program with the update switched off: no variable
changes, no noise-counter advance).
The switch always happens at that step count (waiting for the compiler if it is late),
never "whenever it is ready", so a seeded run is reproducible.
"""
import atexit
import os
import sys
import threading
import warnings

import numpy as np

from ..errors import ParameterError
from ..models._tf import GraphFunction, tf
from .optim import Adam

#: plain-graph steps per batch shape before switching to the XLA-compiled program
XLA_AFTER_STEPS = 100


def _keep_masks(model, variables, fixed_weights):
    """Per variable: None, or float32 (1 = may change, 0 = frozen) from ``fixed_weights``."""
    if not fixed_weights:
        return [None] * len(variables)
    model_variables = model._variable_attributes()
    by_name = {id(v): k for k, v in model_variables.items()}
    names = {by_name.get(id(v)) for v in variables}
    known = set(model_variables)
    for key in fixed_weights:
        if key not in known:
            raise ParameterError(
                f"fixed_weights has key {key!r}, which is not a variable of this model ({', '.join(sorted(known))})"
            )
        if key not in names:
            raise ParameterError(f"fixed_weights[{key!r}]: {key} is not trainable, so it is already fixed")
    masks = []
    for variable in variables:
        fixed = fixed_weights.get(by_name.get(id(variable)))
        if fixed is None:
            masks.append(None)
            continue
        fixed = np.asarray(fixed, dtype=np.float32)
        if fixed.shape != tuple(variable.shape):
            raise ParameterError(
                f"fixed_weights[{by_name[id(variable)]!r}] has shape {fixed.shape}, expected {tuple(variable.shape)}"
            )
        masks.append(tf.constant(1.0 - fixed))
    return masks


class TrainingStep:
    """Callable ``step(x, y, mask) -> (total_loss, outputs, finite)`` for one batch."""

    def __init__(self, model, optimizer=None, learning_rate=0.001, clip_grads=True, fixed_weights=None,
                 jit_compile=None):
        self.model = model
        self.variables = model.trainable_variables
        if not self.variables:
            raise ParameterError("the model has no trainable variables (every *_train flag is False)")
        self.keep_masks = _keep_masks(model, self.variables, fixed_weights)
        self.clip_grads = bool(clip_grads)
        self.external_optimizer = optimizer
        if optimizer is None:
            state = model.training_state
            if not isinstance(state, Adam) or [id(v) for v in state.variables] != [id(v) for v in self.variables]:
                state = Adam(self.variables, learning_rate)
                model.training_state = state
            state.learning_rate.assign(float(learning_rate))
            self.optimizer = state
        n_in, n_out = model.N_in, model.N_out
        self.signature = [
            tf.TensorSpec([None, None, n_in], tf.float32),
            tf.TensorSpec([None, None, n_out], tf.float32),
            tf.TensorSpec([None, None, n_out], tf.float32),
        ]
        if jit_compile is None:
            jit_compile = bool(getattr(model, "prefers_xla", False)) and optimizer is None
        self.jit_compile = bool(jit_compile) and optimizer is None
        signature = self.signature + [tf.TensorSpec([], tf.bool)]
        self._step = GraphFunction(self._step_graph, input_signature=signature)
        self._xla_step = (tf.function(self._call_plain_graph, input_signature=signature, jit_compile=True,
                                      autograph=False) if self.jit_compile else None)
        self._xla_shapes = {}  # (batch, time) -> _XlaWarmUp
        #: steps the caller plans to run; XLA is not worth compiling for XLA_AFTER_STEPS or fewer
        self.planned_steps = None
        self._apply_external = GraphFunction(self._apply_external_graph) if optimizer is not None else None

    def trace(self):
        """Build the plain graph now (otherwise the first call does it)."""
        self._step.get_concrete_function()

    def _call_plain_graph(self, x, y, mask, dry_run):
        # the XLA twin compiles the already-traced plain graph: no second Python trace
        return self._step.get_concrete_function()(x, y, mask, dry_run)

    def _select(self, x, y, mask):
        """The program for this step: plain graph, or the XLA twin once warmed up for the shape."""
        if self._xla_step is None:
            return self._step
        key = tuple(x.shape[:2])
        warm = self._xla_shapes.get(key)
        if warm is None:
            if self.planned_steps is not None and self.planned_steps <= XLA_AFTER_STEPS:
                return self._step
            warm = self._xla_shapes[key] = _XlaWarmUp(self._xla_step, x, y, mask)
        warm.steps += 1
        return self._xla_step if warm.steps > XLA_AFTER_STEPS and warm.wait() else self._step

    def compile_xla_now(self, x, y, mask):
        """Compile the XLA twin for this batch shape and use it from the next step on (benchmarks)."""
        if self._xla_step is None:
            return False
        x, y, mask = (tf.convert_to_tensor(a, tf.float32) for a in (x, y, mask))
        warm = self._xla_shapes.setdefault(tuple(x.shape[:2]), _XlaWarmUp(self._xla_step, x, y, mask))
        warm.steps = max(warm.steps, XLA_AFTER_STEPS)
        return warm.wait()

    def _gradients(self, x, y, mask):
        with tf.GradientTape() as tape:
            total, outputs, _ = self.model.compute_loss(x, y, mask, noise=True)
        grads = tape.gradient(total, self.variables)
        grads = [g if (g is None or k is None) else g * k for g, k in zip(grads, self.keep_masks)]
        if self.clip_grads:
            grads = [None if g is None else tf.clip_by_norm(g, 1.0) for g in grads]
        finite = tf.math.is_finite(total)
        for g in grads:
            if g is not None:
                finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g)))
        return total, outputs, grads, finite

    def _step_graph(self, x, y, mask, dry_run):
        total, outputs, grads, finite = self._gradients(x, y, mask)
        if self.external_optimizer is not None:
            return total, outputs, finite, [tf.zeros_like(v) if g is None else g for g, v in zip(grads, self.variables)]

        def apply():
            self.optimizer.apply(grads, self.keep_masks)
            self.model.advance_noise()
            return tf.constant(True)

        tf.cond(tf.logical_and(finite, tf.logical_not(dry_run)), apply, lambda: tf.constant(False))
        return total, outputs, finite, []

    def _apply_external_graph(self, grads):
        pairs = [(g if k is None else g * k, v) for g, k, v in zip(grads, self.keep_masks, self.variables)]
        self.external_optimizer.apply_gradients(pairs)
        # an external optimiser may still move frozen entries (momentum): nothing to undo
        # here because their gradient has always been zero in this step function.

    def __call__(self, x, y, mask):
        x, y, mask = (tf.convert_to_tensor(a, tf.float32) for a in (x, y, mask))
        step = self._select(x, y, mask)
        total, outputs, finite, grads = step(x, y, mask, tf.constant(False))
        if self.external_optimizer is not None:
            self.model.advance_noise()
        finite = bool(finite)
        if self.external_optimizer is not None and finite:
            self._apply_external(grads)
        return float(total), outputs, finite


_LIVE_COMPILATIONS = set()


@atexit.register
def _finish_compilations():
    """TensorFlow aborts if the interpreter exits while XLA is compiling: wait for it."""
    for thread in list(_LIVE_COMPILATIONS):
        thread.join()


def _lower_this_thread_priority():
    """Linux: nice 19 for the calling thread only, so a compiler thread yields the CPU to training."""
    if sys.platform.startswith("linux"):  # elsewhere setpriority(PRIO_PROCESS, ...) would be process-wide
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass


class _XlaWarmUp:
    """Background compilation of the XLA twin for one batch shape (a dry run: nothing applied)."""

    def __init__(self, xla_step, x, y, mask):
        self.steps = 0
        self.ok = False
        self.thread = threading.Thread(target=self._run, args=(xla_step, x, y, mask), daemon=True,
                                       name="psychrnn-xla-compile")
        _LIVE_COMPILATIONS.add(self.thread)
        self.thread.start()

    def _run(self, xla_step, x, y, mask):
        _lower_this_thread_priority()
        try:
            xla_step(x, y, mask, tf.constant(True))
            self.ok = True
        except Exception as error:  # an op without an XLA kernel: keep the plain graph
            warnings.warn(f"XLA compilation failed; training continues without it: {error}", RuntimeWarning)
        finally:
            _LIVE_COMPILATIONS.discard(threading.current_thread())

    def wait(self):
        self.thread.join()
        return self.ok


def get_training_step(model, optimizer, learning_rate, clip_grads, fixed_weights, jit_compile=None):
    """A cached :class:`TrainingStep` for these settings (same settings -> same compiled step)."""
    fixed_key = None
    if fixed_weights:
        fixed_key = tuple(sorted((k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in fixed_weights.items()))
    key = (id(optimizer) if optimizer is not None else "adam", bool(clip_grads), fixed_key, jit_compile,
           tuple(id(v) for v in model.trainable_variables))
    cache = model.__dict__.setdefault("_training_steps", {})
    step = cache.get(key)
    if step is None:
        step = TrainingStep(model, optimizer, learning_rate, clip_grads, fixed_weights, jit_compile)
        cache[key] = step
    elif optimizer is None:
        step.optimizer.learning_rate.assign(float(learning_rate))
    return step
