"""The compiled training step: forward pass, loss, gradients, clipping, masked update, rollback.

One step for one network or for K along a leading network axis (an
:class:`~psychrnn_widgets.models.ensemble.Ensemble`): the model says which
(``model.n_networks``: None or K), and everything per network -- the loss, the gradient
norm for clipping, the finiteness check, the learning rate and whether the update is
applied -- is then taken per network.  Without the axis the program has none of it (one
network is not an ensemble of one).  A pure step on arrays; the caller
(:class:`~psychrnn_widgets.training.trainer.Trainer`) loops.

One :class:`TrainingStep` per (optimiser, clipping, frozen-weights) combination, cached
by the model's :class:`~psychrnn_widgets.training.trainer.Trainer`, which also owns the
optimiser state and the last-good-weights snapshot they share, so that a second
``train`` call neither retraces nor loses the optimiser state.  Batch size and trial
length are dynamic (``None`` in the input signature), so curriculum stages may differ in
``T``.

Non-finite loss: when the loss or a gradient of a network is not finite, that network
does not change.  Before each update the weights and optimiser state are copied (the
values whose loss was just found finite), so the trainer can roll back when it finds
that the update itself made the loss diverge (see ``Trainer``).

Tracing: without AutoGraph (the library's loops are explicit ``tf.while_loop``s), which
is about 5x faster; see :class:`~psychrnn_widgets.models._tf.GraphFunction`.

XLA: when the model prefers it (``Basic``), the step also has an XLA-compiled twin: the
already-traced plain graph, compiled (no second Python trace).  Compiling takes seconds,
so for each batch shape the first ``XLA_AFTER_STEPS`` steps run the plain graph while a
background thread at the lowest CPU priority (Linux: nice 19, that thread only) compiles
the twin with a *dry run* (the same program with every network inactive: no variable
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

#: After a program's first run, call its concrete function directly: both programs have a
#: full input signature, so there is exactly one, and the ``tf.function`` call's own work
#: (binding the arguments to its signature and looking the trace up, on every step) is
#: skipped.  The same graph runs, so nothing changes in the maths (a test holds the two
#: paths equal); measured as process CPU time per call on a 4-tensor signature, about
#: 0.34 ms against 0.18 ms (benchmarks/README.md, issue 25).  False: the ``tf.function`` path.
DIRECT_DISPATCH = True


def keep_masks(model, variables, fixed_weights):
    """Per variable: None, or float32 (1 = may change, 0 = frozen) from ``fixed_weights`` (and, for K networks,
    from which network trains which variable).

    One network: ``fixed_weights`` is ``{variable name: 0/1 array}`` (1 = frozen) or None.
    K networks (``model.n_networks``): a list of K such dicts (or None each); the masks get
    the network axis first, and a variable that network k does not train
    (``model.trainable[name][k]`` False) is frozen for it.

    A key naming a model variable that is not trained (already fixed) or a constant such as
    ``Dale_rec`` is ignored with a warning (PsychRNN ignores it silently); a key that names
    nothing of the model, or a mask of the wrong shape, is an error.
    """
    networks = model.n_networks
    per_network = [fixed_weights] if networks is None else list(fixed_weights or [None] * networks)
    where = ([""] if networks is None else [f" of network {k}" for k in range(networks)])  # for the messages
    model_variables = model.variables
    by_id = {id(v): k for k, v in model_variables.items()}
    trained = {by_id.get(id(v)) for v in variables}
    flags = model.trainable if networks is not None else None  # {name: (K,) bool}: which network trains what
    for k, fixed in enumerate(per_network):
        for key in fixed or {}:
            if key in trained and (flags is None or flags[key][k]):
                continue
            if key in model_variables or hasattr(model, key):
                warnings.warn(f"fixed_weights[{key!r}]{where[k]} is ignored: {key} is not trained anyway", UserWarning,
                              stacklevel=6)
                continue
            raise ParameterError(f"fixed_weights{where[k]} has key {key!r}, which is not a variable of this model "
                                 f"({', '.join(sorted(model_variables))})", parameter="fixed_weights", value=key)
    masks = []
    for variable in variables:
        key = by_id.get(id(variable))
        keep = np.ones(tuple(variable.shape), np.float32)
        networks_keep = [keep] if networks is None else list(keep)  # views: one per network
        if flags is not None:
            keep[~np.asarray(flags[key], bool)] = 0.0
        for k, fixed in enumerate(per_network):
            frozen = (fixed or {}).get(key)
            if frozen is None:
                continue
            frozen = np.asarray(frozen, dtype=np.float32)
            if frozen.shape != networks_keep[k].shape:
                raise ParameterError(f"fixed_weights[{key!r}]{where[k]} has shape {frozen.shape}, expected "
                                     f"{networks_keep[k].shape}", parameter="fixed_weights", value=frozen.shape)
            networks_keep[k] *= 1.0 - frozen
        masks.append(None if keep.all() else tf.constant(keep))
    return masks


class TrainingStep:
    """Callable ``step(x, y, mask[, active]) -> (total_loss, outputs, finite)`` for one batch.

    One network: ``x`` (B, T, N_in), ``y`` and ``mask`` (B, T, N_out); returns a float,
    the outputs (B, T, N_out) (a tensor) and a bool.  K networks (``model.n_networks``):
    every array gets the network axis first, ``active`` is a (K,) bool (networks that may
    change in this step; all by default) and the loss and ``finite`` are (K,) NumPy arrays.
    A network changes only when it is active and its loss and gradients are finite.

    Args:
        model: the model whose trainable variables are trained.
        state: the trainer's :class:`~psychrnn_widgets.training.optim.OptimizerState`
            (Adam slots and the last-good snapshot), shared by every step of a trainer.
        optimizer: None (Adam from ``state``) or an object with ``apply_gradients`` (one network only).
        clip_grads: clip each gradient to norm 1 (per network).
        fixed_weights: see :func:`keep_masks`.
        jit_compile: None (XLA when the model prefers it and Adam is used), True or False.
    """

    def __init__(self, model, state, optimizer=None, clip_grads=True, fixed_weights=None, jit_compile=None):
        self.model = model
        self.state = state
        self.variables = state.variables
        self.networks = model.n_networks
        if self.networks is not None and optimizer is not None:
            raise ParameterError("networks trained together (an ensemble) use the default Adam, with a learning rate "
                                 "per network: leave optimizer at None", parameter="optimizer", value=optimizer)
        self.keep_masks = keep_masks(model, self.variables, fixed_weights)
        self.clip_grads = bool(clip_grads)
        self.external_optimizer = optimizer
        lead = [] if self.networks is None else [self.networks]
        self.signature = [
            tf.TensorSpec(lead + [None, None, model.N_in], tf.float32),
            tf.TensorSpec(lead + [None, None, model.N_out], tf.float32),
            tf.TensorSpec(lead + [None, None, model.N_out], tf.float32),
        ]
        if jit_compile is None:
            jit_compile = bool(getattr(model, "prefers_xla", False)) and optimizer is None
        self.jit_compile = bool(jit_compile) and optimizer is None
        signature = self.signature + [tf.TensorSpec(lead, tf.bool)]
        self.plain = GraphFunction(self._step_graph, input_signature=signature)
        self.xla = (tf.function(self._call_plain_graph, input_signature=signature, jit_compile=True,
                                autograph=False) if self.jit_compile else None)
        self.xla_shapes = {}  # batch shape ([K,] B, T) -> XlaWarmUp
        self._ran = set()  # programs run at least once
        self._concrete = {}  # program -> its one concrete function (the input signature has no other)
        self._all_active = tf.constant(np.ones(lead, bool))
        self._none_active = tf.constant(np.zeros(lead, bool))
        #: steps the caller plans to run; XLA is not worth compiling for XLA_AFTER_STEPS or fewer
        self.planned_steps = None
        #: 'at_step': switch exactly after XLA_AFTER_STEPS steps (reproducible, may wait for the compiler);
        #: 'when_ready': from then on, as soon as the compiler is done (never waits)
        self.switch = "at_step"
        self._apply_external = GraphFunction(self._apply_external_graph) if optimizer is not None else None

    def trace(self):
        """Build the plain graph now (otherwise the first call does it)."""
        self.plain.get_concrete_function()

    def _call_plain_graph(self, x, y, mask, active):
        # the XLA twin compiles the already-traced plain graph: no second Python trace
        return self.plain.get_concrete_function()(x, y, mask, active)

    def warm_up_for(self, x, y, mask):
        """The :class:`XlaWarmUp` whose compilation the *next* call for this batch shape waits for, or None.

        The training loop asks before each step so that it can wait in small slices and
        honour a stop or pause meanwhile (the compiler may be late on a busy machine).
        """
        if self.xla is None or self.switch == "when_ready":
            return None
        warm = self.xla_shapes.get(tuple(np.shape(x)[:-1]))
        if warm is None or warm.steps + 1 <= XLA_AFTER_STEPS or warm.finished:
            return None
        return warm

    def _select(self, x, y, mask):
        """The program for this step: plain graph, or the XLA twin once warmed up for the shape."""
        if self.xla is None:
            return self.plain
        key = tuple(x.shape[:-1])
        warm = self.xla_shapes.get(key)
        if warm is None:
            if self.planned_steps is not None and self.planned_steps <= XLA_AFTER_STEPS:
                return self.plain
            # 'when_ready' trains on the plain graph until the compiler is done: the sooner the better
            warm = self.xla_shapes[key] = XlaWarmUp(self.xla, x, y, mask, self._none_active,
                                                    lower_priority=self.switch != "when_ready")
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
        warm = self.xla_shapes.get(tuple(x.shape[:-1]))
        if warm is None:
            warm = self.xla_shapes[tuple(x.shape[:-1])] = XlaWarmUp(self.xla, x, y, mask, self._none_active)
        warm.steps = max(warm.steps, XLA_AFTER_STEPS)
        return warm.wait()

    def _gradients(self, x, y, mask):
        with tf.GradientTape() as tape:
            total, outputs, _ = self.model.compute_loss(x, y, mask, noise=True)
            # K networks: the sum of their losses, whose gradient for network k's weights is network k's own
            objective = total if self.networks is None else tf.reduce_sum(total)
        grads = tape.gradient(objective, self.variables)
        grads = [g if (g is None or k is None) else g * k for g, k in zip(grads, self.keep_masks)]
        if self.clip_grads:  # PsychRNN's clip_by_norm(g, 1.0) per tensor (and per network)
            grads = [None if g is None else tf.clip_by_norm(g, 1.0, axes=self._per_network_axes(g)) for g in grads]
        finite = tf.math.is_finite(total)
        for g in grads:
            if g is not None:
                finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g), axis=self._per_network_axes(g)))
        return total, outputs, grads, finite

    def _per_network_axes(self, tensor):
        """The axes a reduction over one network's entries runs on: all of them, or all but the network axis."""
        return None if self.networks is None else list(range(1, tensor.shape.rank))

    def _step_graph(self, x, y, mask, active):
        total, outputs, grads, finite = self._gradients(x, y, mask)
        if self.external_optimizer is not None:
            return total, outputs, finite, [tf.zeros_like(v) if g is None else g for g, v in zip(grads, self.variables)]
        apply = tf.logical_and(finite, active)
        if self.networks is not None:  # every network's own update, or none (elementwise selects)
            self.state.last_good.save_where(apply)  # the weights whose loss was just found finite
            self.state.adam.apply(grads, self.keep_masks, apply)
            self.model.advance_noise(apply)
            return total, outputs, finite, []

        def update():
            self.state.last_good.save()  # the weights whose loss was just found finite
            self.state.adam.apply(grads, self.keep_masks)
            self.model.advance_noise()
            return tf.constant(True)

        tf.cond(apply, update, lambda: tf.constant(False))
        return total, outputs, finite, []

    def _apply_external_graph(self, grads):
        pairs = [(g if k is None else g * k, v) for g, k, v in zip(grads, self.keep_masks, self.variables)]
        self.external_optimizer.apply_gradients(pairs)
        # an external optimiser may still move frozen entries (momentum): nothing to undo
        # here because their gradient has always been zero in this step function.

    def __call__(self, x, y, mask, active=None):
        x, y, mask = (tf.convert_to_tensor(a, tf.float32) for a in (x, y, mask))
        active = self._all_active if active is None else tf.convert_to_tensor(active, tf.bool)
        program = self._select(x, y, mask)
        concrete = self._concrete.get(program) if DIRECT_DISPATCH else None
        if concrete is not None:  # the traced graph itself: no per-call signature matching (see DIRECT_DISPATCH)
            total, outputs, finite, grads = concrete(x, y, mask, active)
        elif program not in self._ran:  # the first run of a program: TensorFlow may print start-up chatter
            with quiet_stderr:
                total, outputs, finite, grads = program(x, y, mask, active)
            self._ran.add(program)
            if DIRECT_DISPATCH:
                self._concrete[program] = program.get_concrete_function()
        else:
            total, outputs, finite, grads = program(x, y, mask, active)
        if self.networks is not None:
            return total.numpy(), outputs, finite.numpy()
        finite = bool(finite)
        if self.external_optimizer is not None:
            self.model.advance_noise()
            if finite:
                self.state.save_external(self.external_optimizer)
                self._apply_external(grads)
        return float(total), outputs, finite

    def check(self, x, y, mask):
        """Loss of the current weights on a batch without changing anything: ``(total, finite)``
        (a float and a bool, or (K,) arrays for K networks)."""
        x, y, mask = (tf.convert_to_tensor(a, tf.float32) for a in (x, y, mask))
        warm = self.xla_shapes.get(tuple(x.shape[:-1]))
        program = self.xla if warm is not None and warm.finished and warm.ok else self.plain
        total, _, finite, _ = program(x, y, mask, self._none_active)
        if self.networks is not None:
            return total.numpy(), finite.numpy()
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
    """Background compilation of the XLA twin for one batch shape (a dry run: ``inactive`` is all False)."""

    def __init__(self, xla_step, x, y, mask, inactive, lower_priority=True):
        self.steps = 0
        self.ok = False
        self.lower_priority = lower_priority
        self.thread = threading.Thread(target=self._run, args=(xla_step, x, y, mask, inactive), daemon=True,
                                       name="psychrnn-xla-compile")
        _LIVE_COMPILATIONS.add(self.thread)
        self.thread.start()

    def _run(self, xla_step, x, y, mask, inactive):
        if self.lower_priority:
            _lower_this_thread_priority()
        try:
            with quiet_stderr:
                xla_step(x, y, mask, inactive)  # a dry run: no network active, nothing changes
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
