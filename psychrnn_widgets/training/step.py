"""The compiled training step: forward pass, loss, gradients, clipping, masked update, rollback.

One :class:`TrainingStep` per (optimiser, clipping, frozen-weights) combination, cached
by the model's :class:`~psychrnn_widgets.training.trainer.Trainer`, which also owns the
optimiser state and the last-good-weights snapshot they share, so that a second
``train`` call neither retraces nor loses the optimiser state.  Batch size and trial
length are dynamic (``None`` in the input signature), so curriculum stages may differ in
``T``.

Non-finite loss: when the loss or a gradient is not finite, nothing changes.  Before
each update the weights and optimiser state are copied (the values whose loss was just
found finite), so the trainer can roll back when it finds that the update itself made
the loss diverge (see ``Trainer``).

Tracing: without AutoGraph (the library's loops are explicit ``tf.while_loop``s), which
is about 5x faster; see :class:`~psychrnn_widgets.models._tf.GraphFunction`.

XLA: when the model prefers it (``Basic``), the step also has an XLA-compiled twin: the
already-traced plain graph, compiled (no second Python trace).  Compiling takes seconds,
so for each batch shape the first ``XLA_AFTER_STEPS`` steps run the plain graph while a
background thread at the lowest CPU priority (Linux: nice 19, that thread only) compiles
the twin with a *dry run* (the same program with the update switched off: no variable
changes, no noise-counter advance).
The switch always happens at that step count (the loop waits for the compiler if it is
late, honouring stop and pause meanwhile), never "whenever it is ready", so a seeded run
is reproducible.
"""
import atexit
import os
import sys
import threading
import warnings

import numpy as np

from ..errors import ParameterError
from ..models._tf import GraphFunction, quiet_stderr, tf

#: plain-graph steps per batch shape before switching to the XLA-compiled program
XLA_AFTER_STEPS = 100


def keep_masks(model, variables, fixed_weights):
    """Per variable: None, or float32 (1 = may change, 0 = frozen) from ``fixed_weights``.

    A key naming a model variable that is not trainable (already fixed) or a constant
    such as ``Dale_rec`` is ignored with a warning (PsychRNN ignores it silently); a key
    that names nothing of the model, or a mask of the wrong shape, is an error.
    """
    if not fixed_weights:
        return [None] * len(variables)
    model_variables = model.variables
    by_id = {id(v): k for k, v in model_variables.items()}
    trained = {by_id.get(id(v)) for v in variables}
    for key in fixed_weights:
        if key in trained:
            continue
        if key in model_variables or hasattr(model, key):
            warnings.warn(f"fixed_weights[{key!r}] is ignored: {key} is not trained anyway", UserWarning, stacklevel=5)
            continue
        raise ParameterError(
            f"fixed_weights has key {key!r}, which is not a variable of this model "
            f"({', '.join(sorted(model_variables))})", parameter="fixed_weights", value=key)
    masks = []
    for variable in variables:
        fixed = fixed_weights.get(by_id.get(id(variable)))
        if fixed is None:
            masks.append(None)
            continue
        fixed = np.asarray(fixed, dtype=np.float32)
        if fixed.shape != tuple(variable.shape):
            raise ParameterError(
                f"fixed_weights[{by_id[id(variable)]!r}] has shape {fixed.shape}, expected {tuple(variable.shape)}",
                parameter="fixed_weights", value=fixed.shape)
        masks.append(tf.constant(1.0 - fixed))
    return masks


class TrainingStep:
    """Callable ``step(x, y, mask) -> (total_loss, outputs, finite)`` for one batch.

    Args:
        model: the model whose trainable variables are trained.
        state: the trainer's :class:`~psychrnn_widgets.training.trainer.OptimizerState`
            (Adam slots and the last-good snapshot), shared by every step of a trainer.
        optimizer: None (Adam from ``state``) or an object with ``apply_gradients``.
        clip_grads: clip each gradient to norm 1.
        fixed_weights: ``{variable: 0/1 array}``, 1 where an entry must not change.
        jit_compile: None (XLA when the model prefers it and Adam is used), True or False.
    """

    def __init__(self, model, state, optimizer=None, clip_grads=True, fixed_weights=None, jit_compile=None):
        self.model = model
        self.state = state
        self.variables = state.variables
        self.keep_masks = keep_masks(model, self.variables, fixed_weights)
        self.clip_grads = bool(clip_grads)
        self.external_optimizer = optimizer
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
        self.plain = GraphFunction(self._step_graph, input_signature=signature)
        self.xla = (tf.function(self._call_plain_graph, input_signature=signature, jit_compile=True,
                                autograph=False) if self.jit_compile else None)
        self.xla_shapes = {}  # (batch, time) -> XlaWarmUp
        self._ran = set()  # programs run at least once
        #: steps the caller plans to run; XLA is not worth compiling for XLA_AFTER_STEPS or fewer
        self.planned_steps = None
        #: 'at_step': switch exactly after XLA_AFTER_STEPS steps (reproducible, may wait for the compiler);
        #: 'when_ready': from then on, as soon as the compiler is done (never waits)
        self.switch = "at_step"
        self._apply_external = GraphFunction(self._apply_external_graph) if optimizer is not None else None

    def trace(self):
        """Build the plain graph now (otherwise the first call does it)."""
        self.plain.get_concrete_function()

    def _call_plain_graph(self, x, y, mask, dry_run):
        # the XLA twin compiles the already-traced plain graph: no second Python trace
        return self.plain.get_concrete_function()(x, y, mask, dry_run)

    def warm_up_for(self, x, y, mask):
        """The :class:`XlaWarmUp` whose compilation the *next* call for this batch shape waits for, or None.

        The training loop asks before each step so that it can wait in small slices and
        honour a stop or pause meanwhile (the compiler may be late on a busy machine).
        """
        if self.xla is None or self.switch == "when_ready":
            return None
        warm = self.xla_shapes.get(tuple(np.shape(x)[:2]))
        if warm is None or warm.steps + 1 <= XLA_AFTER_STEPS or warm.finished:
            return None
        return warm

    def _select(self, x, y, mask):
        """The program for this step: plain graph, or the XLA twin once warmed up for the shape."""
        if self.xla is None:
            return self.plain
        key = tuple(x.shape[:2])
        warm = self.xla_shapes.get(key)
        if warm is None:
            if self.planned_steps is not None and self.planned_steps <= XLA_AFTER_STEPS:
                return self.plain
            # 'when_ready' trains on the plain graph until the compiler is done: the sooner the better
            warm = self.xla_shapes[key] = XlaWarmUp(self.xla, x, y, mask, lower_priority=self.switch != "when_ready")
        warm.steps += 1
        if warm.steps <= XLA_AFTER_STEPS:
            return self.plain
        if self.switch == "when_ready" and not warm.finished:
            return self.plain
        return self.xla if warm.wait() else self.plain

    def compile_xla_now(self, x, y, mask):
        """Compile the XLA twin for this batch shape and use it from the next step on (benchmarks)."""
        if self.xla is None:
            return False
        x, y, mask = (tf.convert_to_tensor(a, tf.float32) for a in (x, y, mask))
        warm = self.xla_shapes.setdefault(tuple(x.shape[:2]), XlaWarmUp(self.xla, x, y, mask))
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
            self.state.last_good.save()  # the weights whose loss was just found finite
            self.state.adam.apply(grads, self.keep_masks)
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
        program = self._select(x, y, mask)
        if program not in self._ran:  # the first run of a program: TensorFlow may print start-up chatter
            with quiet_stderr:
                total, outputs, finite, grads = program(x, y, mask, tf.constant(False))
            self._ran.add(program)
        else:
            total, outputs, finite, grads = program(x, y, mask, tf.constant(False))
        finite = bool(finite)
        if self.external_optimizer is not None:
            self.model.advance_noise()
            if finite:
                self.state.save_external(self.external_optimizer)
                self._apply_external(grads)
        return float(total), outputs, finite

    def check(self, x, y, mask):
        """Loss of the current weights on a batch without changing anything: ``(total, finite)``."""
        x, y, mask = (tf.convert_to_tensor(a, tf.float32) for a in (x, y, mask))
        key = tuple(x.shape[:2])
        warm = self.xla_shapes.get(key)
        program = self.xla if warm is not None and warm.finished and warm.ok else self.plain
        total, _, finite, _ = program(x, y, mask, tf.constant(True))
        return float(total), bool(finite)


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


class XlaWarmUp:
    """Background compilation of the XLA twin for one batch shape (a dry run: nothing applied)."""

    def __init__(self, xla_step, x, y, mask, lower_priority=True):
        self.steps = 0
        self.ok = False
        self.lower_priority = lower_priority
        self.thread = threading.Thread(target=self._run, args=(xla_step, x, y, mask), daemon=True,
                                       name="psychrnn-xla-compile")
        _LIVE_COMPILATIONS.add(self.thread)
        self.thread.start()

    def _run(self, xla_step, x, y, mask):
        if self.lower_priority:
            _lower_this_thread_priority()
        try:
            with quiet_stderr:
                xla_step(x, y, mask, tf.constant(True))
            self.ok = True
        except Exception as error:  # an op without an XLA kernel: keep the plain graph
            warnings.warn(f"XLA compilation failed; training continues without it: {error}", RuntimeWarning)
        finally:
            _LIVE_COMPILATIONS.discard(threading.current_thread())

    @property
    def finished(self):
        return not self.thread.is_alive()

    def wait(self, timeout=None):
        """Join the compiler thread (at most ``timeout`` s); True if it finished and compiled."""
        self.thread.join(timeout)
        return self.finished and self.ok
