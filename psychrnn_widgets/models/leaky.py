"""The leaky rate update and its gradient, written once (DESIGN §3.2), and the two time loops built on them.

    x_{t+1} = (1 - alpha) x_t + alpha (f(x_t) W_rec_eff^T + d_t)          (d_t: the drive of step t)
    d_t     = u_t W_in_eff^T + b_rec [+ noise_t / alpha]

:class:`LeakyUpdate` holds the maths: :meth:`~LeakyUpdate.step` (forward) and
:meth:`~LeakyUpdate.step_backward` (the gradient through one step).  Everything else in
this module is bookkeeping around them -- which tensors live inside or outside the time
loop -- so a new term in the update touches exactly one forward and one backward place.
``Basic.recurrent_timestep`` (the generic and the analysis path) uses the same
:meth:`~LeakyUpdate.step`; the NumPy simulator is its one twin, held equal by tests.

Two layouts of the same maths, both with a hand-written backward pass through time (one
``tf.while_loop`` back), checked against TensorFlow's automatic gradient in the tests:

* :func:`hoisted_recurrence` (a program narrower than ``FUSED_LOOP_MIN_N_REC`` units): the
  drive of all steps, ``f'`` of all states and the weight gradient are single operations
  outside the loops, so each time step runs as few operations as possible (what costs at small N);
* :func:`fused_recurrence` (from it on): the input projection, the readout and all
  weight-gradient products run inside the loops, so no (T, B, N) tensor other than the
  states is written and read back (what costs at large N).

Both work time-major: ``x`` (T, B, N_in), states (T, B, N).  :func:`leaky_pass` is the
whole forward pass of a rate network on a batch and the one place where the layout is
chosen; every model built on this update (:class:`~psychrnn_widgets.models.basic.Basic`,
:class:`~psychrnn_widgets.models.ensemble.Ensemble`) runs through it.

An optional leading *network* axis of size K trains K same-shaped networks in one
program (:class:`~psychrnn_widgets.models.ensemble.Ensemble`): weights get shape
(K, ...), states (T, K, B, N), and every product in :meth:`LeakyUpdate.step` and
:meth:`~LeakyUpdate.step_backward` becomes a batched matmul over the K networks, which
never mix.  Whether the axis is there is read from the static rank of the recurrent
weights (2: one network, 3: K networks), so the one-network program has no axis at all.
"""
from ._tf import batch_matmul_on_eigen, is_unused_output_gradient, tf

#: From a program this wide on (K networks of N_rec units: K * N_rec), :func:`leaky_pass`
#: uses :func:`fused_recurrence` (input projection, readout and weight gradients inside the
#: time loops: fewer passes over (T, B, N) tensors; the N_rec 256 step went from ~470 to
#: ~300 ms).  Below it, :func:`hoisted_recurrence` (drive, f' and weight gradient outside
#: the loops: half the operations per time step, which is what costs at N_rec 50).  For an
#: ensemble the width counts every network: the hoisted layout's (T, K, B, N) intermediates
#: stop fitting in the caches as K grows (16 hello-world networks: the fused step took about
#: half as long).  See benchmarks/README.md.
FUSED_LOOP_MIN_N_REC = 128


#: with a network axis, a batched product with a dimension this small or smaller runs on Eigen (see :func:`matmul`)
EIGEN_PRODUCT_MAX_DIM = 16


def matmul(a, b, transpose_a=False):
    """``a @ b`` (``a^T b`` with ``transpose_a``): one network's product, or K networks' batched products.

    One network: ``tf.matmul``.  With a network axis (rank 3), the products with a small
    dimension (the input projection and the readout, N_in or N_out <= ``EIGEN_PRODUCT_MAX_DIM``)
    run on Eigen (:func:`~psychrnn_widgets.models._tf.batch_matmul_on_eigen`): TensorFlow's
    oneDNN rewrite of ``BatchMatMulV2`` (what ``tf.matmul`` builds) costs about 0.1 ms per
    call however small the matrices, against 0.02-0.03 ms on Eigen for (16, 50, 2) x (16, 2, 50);
    for (16, 50, 50) x (16, 50, 50) oneDNN was the faster (0.14 against 0.15 ms).  Measured
    on 2 cores: the K = 16 hello-world ensemble step took 133 ms this way, 146 ms with
    ``tf.matmul`` throughout and 172 ms with Eigen throughout.
    """
    if a.shape.rank == 3:
        dims = [d for d in (a.shape[-2], a.shape[-1], b.shape[-1]) if d is not None]
        if dims and min(dims) <= EIGEN_PRODUCT_MAX_DIM:
            return batch_matmul_on_eigen(a, b, transpose_a)
    return tf.matmul(a, b, transpose_a=transpose_a)


def rates_and_derivative(transfer_function, values):
    """``(f(values), f'(values))`` elementwise, for any differentiable TensorFlow transfer function."""
    with tf.GradientTape() as tape:
        tape.watch(values)
        rates = transfer_function(values)
    return rates, tape.gradient(rates, values)


class LeakyUpdate:
    """One step of the leaky rate network and its gradient (the maths, once).

    Args:
        alpha: ``dt / tau`` (a Python float).
        transfer_function: the TensorFlow ``f``.
    """

    def __init__(self, alpha, transfer_function):
        self.alpha = float(alpha)
        self.transfer_function = transfer_function

    def step(self, state, rates, drive, W_T):
        """``x' = (1-alpha) x + alpha (f(x) W_rec_eff^T + d)``.

        Args:
            state: x, (B, N), or (K, B, N) for K networks.
            rates: f(x), shaped as ``state`` (computed by the caller, who may reuse it for the readout).
            drive: d, shaped as ``state``: ``u W_in_eff^T + b_rec`` (+ noise / alpha).
            W_T: ``W_rec_eff^T``, (N, N), or (K, N, N).
        """
        return (1.0 - self.alpha) * state + self.alpha * (matmul(rates, W_T) + drive)

    def step_backward(self, g, gain, W):
        """The gradient through one :meth:`step`.

        Args:
            g: G = dL/dx', (B, N) or (K, B, N), the gradient arriving at the step's output.
            gain: f'(x), shaped as ``g``, at the step's input state.
            W: ``W_rec_eff`` (N, N) or (K, N, N) (not transposed).

        Returns:
            ``(dL/dx through this step, dL/d(f(x) W^T + d))``: ``(1-alpha) G + (alpha G W) * f'(x)``
            and ``alpha G``.  The second is the gradient of the drive ``d`` (hence of
            ``W_in``, ``b_rec`` and the noise) and, multiplied by ``f(x)^T``, of ``W^T``.
        """
        d_pre = self.alpha * g
        return (1.0 - self.alpha) * g + matmul(d_pre, W) * gain, d_pre


def _has_network_axis(W_T):
    """True when ``W_T`` is (K, N, N): K networks along a leading axis (static rank)."""
    return W_T.shape.rank == 3


def _sum_of_products(a, b, networks):
    """``sum over all leading axes of a^T b`` per network: (..., I), (..., J) -> (I, J) or (K, I, J).

    With a network axis ``a`` and ``b`` are (T, K, B, .) and the sum runs over T and B.
    """
    if networks:  # (T, K, B, .) -> (K, T*B, .): one batched product (einsum's own plan is ~5x slower here)
        k = tf.shape(a)[1]
        a = tf.reshape(tf.transpose(a, [1, 0, 2, 3]), [k, -1, tf.shape(a)[-1]])
        b = tf.reshape(tf.transpose(b, [1, 0, 2, 3]), [k, -1, tf.shape(b)[-1]])
        return matmul(a, b, transpose_a=True)
    n_a, n_b = tf.shape(a)[-1], tf.shape(b)[-1]
    return tf.matmul(tf.reshape(a, [-1, n_a]), tf.reshape(b, [-1, n_b]), transpose_a=True)


def hoisted_recurrence(update):
    """A differentiable ``states = recurrence(drive, W_T, s0)``, work hoisted out of the loops.

    ``drive`` (T, B, N) is the drive of every step, ``W_T`` (N, N) is ``W_rec_eff^T``,
    ``s0`` (B, N); ``states`` (T, B, N) are x_1..x_T.  With K networks: ``drive``
    (T, K, B, N), ``W_T`` (K, N, N), ``s0`` (K, B, N), ``states`` (T, K, B, N).  The backward loop runs
    :meth:`LeakyUpdate.step_backward` per step; ``f'`` of all states and the weight
    gradient ``sum_t f(x_t)^T dPre_t`` are single operations outside it.
    """
    transfer_function = update.transfer_function

    @tf.custom_gradient
    def recurrence(drive, W_T, s0):
        n_steps = tf.shape(drive)[0]

        def step(t, state, states):
            state = update.step(state, transfer_function(state), drive[t], W_T)
            return t + 1, state, states.write(t, state)

        _, _, states = tf.while_loop(
            lambda t, *_: t < n_steps, step, (0, s0, tf.TensorArray(tf.float32, size=n_steps))
        )
        states = states.stack()

        def backward(d_states):
            previous = tf.concat([s0[None], states[:-1]], axis=0)  # x_0 .. x_{T-1}
            rates, gain = rates_and_derivative(transfer_function, previous)
            W = tf.linalg.matrix_transpose(W_T)

            def back_step(t, g, d_pre):
                g = g + d_states[t]  # G_{t+1}: index t of ``states`` holds x_{t+1}
                carry, d_pre_t = update.step_backward(g, gain[t], W)
                return t - 1, carry, d_pre.write(t, d_pre_t)

            _, d_s0, d_pre = tf.while_loop(
                lambda t, *_: t >= 0, back_step,
                (n_steps - 1, tf.zeros_like(s0), tf.TensorArray(tf.float32, size=n_steps)),
            )
            d_pre = d_pre.stack()
            return d_pre, _sum_of_products(rates, d_pre, _has_network_axis(W_T)), d_s0

        return states, backward

    return recurrence


def fused_recurrence(update, with_noise):
    """Differentiable ``(readouts, states) = recurrence(x, W_in_T, b, W_T, W_out_T, s0[, noise])``.

    With ``W_in_T = W_in_eff^T`` (N_in, N), ``b = b_rec`` (N,), ``W_T = W_rec_eff^T`` (N, N),
    ``W_out_T = W_out_eff^T`` (N, N_out), ``x`` (T, B, N_in), ``s0`` (B, N) and optional
    ``noise`` (T, B, N) (already divided by alpha), step t forms the drive
    ``x_t W_in_T + b [+ noise_t]``, runs :meth:`LeakyUpdate.step` and reads out
    ``f(x_{t+1}) W_out_T`` (b_out is added by the caller).  ``readouts`` (T, B, N_out) and
    ``states`` (T, B, N) are for x_1..x_T.  With K networks every weight and ``s0`` gets a
    leading K axis (``b`` is then (K, 1, N)) and ``x``, ``noise``, ``readouts`` and
    ``states`` are (T, K, B, .).  The backward loop runs
    :meth:`LeakyUpdate.step_backward` per step and accumulates the weight-gradient products
    in the same loop:

        dW_T = sum_t f(x_t)^T dPre_t,  dW_in_T = sum_t x_t^T dPre_t,  db = sum_t dPre_t,
        dW_out_T = sum_t f(x_{t+1})^T dO_t,  d noise_t = dPre_t
    """
    transfer_function = update.transfer_function

    def run(x, W_in_T, b, W_T, W_out_T, s0, noise):
        n_steps = tf.shape(x)[0]

        def step(t, state, rates, states, readouts):
            drive = matmul(x[t], W_in_T) + b
            if noise is not None:
                drive = drive + noise[t]
            state = update.step(state, rates, drive, W_T)
            rates = transfer_function(state)
            return t + 1, state, rates, states.write(t, state), readouts.write(t, matmul(rates, W_out_T))

        arrays = (tf.TensorArray(tf.float32, size=n_steps), tf.TensorArray(tf.float32, size=n_steps))
        _, _, _, states, readouts = tf.while_loop(
            lambda t, *_: t < n_steps, step, (0, s0, transfer_function(s0)) + arrays)
        states, readouts = states.stack(), readouts.stack()

        def backward(d_readouts, d_states):
            W = tf.linalg.matrix_transpose(W_T)
            W_out = tf.linalg.matrix_transpose(W_out_T)
            networks = _has_network_axis(W_T)
            states_used = not is_unused_output_gradient(d_states)  # no state regulariser: skip (T, B, N) zeros

            def back_step(t, previous, next_rates, next_gain, carry, d_W_T, d_W_in_T, d_b, d_W_out_T, noise_grads):
                """Step x_t -> x_{t+1}: from G_{t+2}'s share ``carry`` to G_{t+1}'s share of x_t."""
                g = carry + matmul(d_readouts[t], W_out) * next_gain  # G_{t+1}
                if states_used:
                    g = g + d_states[t]
                d_W_out_T += matmul(next_rates, d_readouts[t], transpose_a=True)
                rates, gain = rates_and_derivative(transfer_function, previous)
                carry, d_pre = update.step_backward(g, gain, W)
                d_W_T += matmul(rates, d_pre, transpose_a=True)
                d_W_in_T += matmul(x[t], d_pre, transpose_a=True)
                d_b += tf.reduce_sum(d_pre, axis=-2, keepdims=networks)  # over the batch: (N,) or (K, 1, N)
                noise_grads = tuple(array.write(t, d_pre) for array in noise_grads)  # only with noise
                return rates, gain, carry, d_W_T, d_W_in_T, d_b, d_W_out_T, noise_grads

            def loop_body(t, *carried):  # carried: the 7 values back_step passes on, then the noise array
                *carried, noise_grads = back_step(t, states[t - 1], *carried[:7], tuple(carried[7:]))
                return (t - 1, *carried) + noise_grads

            noise_arrays = (tf.TensorArray(tf.float32, size=n_steps),) if noise is not None else ()
            carry = rates_and_derivative(transfer_function, states[n_steps - 1]) + (
                tf.zeros_like(s0), tf.zeros_like(W_T), tf.zeros_like(W_in_T), tf.zeros_like(b), tf.zeros_like(W_out_T))
            _, *carry = tf.while_loop(lambda t, *_: t >= 1, loop_body, (n_steps - 1, *carry) + noise_arrays)
            carry, noise_grads = carry[:7], tuple(carry[7:])
            _, _, d_s0, d_W_T, d_W_in_T, d_b, d_W_out_T, noise_grads = back_step(0, s0, *carry, noise_grads)
            gradients = (tf.zeros_like(x), d_W_in_T, d_b, d_W_T, d_W_out_T, d_s0)
            return gradients + tuple(array.stack() for array in noise_grads)

        return (readouts, states), backward

    if with_noise:
        @tf.custom_gradient
        def recurrence(x, W_in_T, b, W_T, W_out_T, s0, noise):
            return run(x, W_in_T, b, W_T, W_out_T, s0, noise)
    else:
        @tf.custom_gradient
        def recurrence(x, W_in_T, b, W_T, W_out_T, s0):
            return run(x, W_in_T, b, W_T, W_out_T, s0, None)
    return recurrence


def leaky_pass(update, x, W_in, b_rec, W_rec, W_out, s0, noise=None):
    """The forward pass of one rate network, or of K along a leading network axis, on a batch.

    The one place where the time-loop layout is chosen: :func:`hoisted_recurrence` for a
    program narrower than ``FUSED_LOOP_MIN_N_REC`` units (``K * N``), else
    :func:`fused_recurrence`.

    Args:
        update: the :class:`LeakyUpdate` (alpha, f).
        x: inputs, batch-major: (B, T, N_in), or (K, B, T, N_in) for K networks.
        W_in, W_rec, W_out: the *effective* weights ``W[post, pre]``: (N, N_in), (N, N),
            (N_out, N), each with a leading K axis for K networks.
        b_rec: (N,), or (K, N).
        s0: the initial states x_0, (B, N), or (K, B, N).
        noise: None, or the recurrent noise already divided by alpha, time-major:
            (T, B, N), or (T, K, B, N).

    Returns:
        ``(readouts, states)``: ``f(x_t) W_out^T`` for t = 1..T, batch-major (B, T, N_out)
        or (K, B, T, N_out) (``b_out`` is the caller's to add), and the states x_1..x_T,
        time-major (T, B, N) or (T, K, B, N).
    """
    networks = W_rec.shape.rank == 3
    k = "k" if networks else ""  # the network axis in einsum subscripts
    time_major = [2, 0, 1, 3] if networks else [1, 0, 2]
    batch_major = [1, 2, 0, 3] if networks else [1, 0, 2]
    x_time_major = tf.transpose(x, time_major)
    W_in_T, W_T = tf.linalg.matrix_transpose(W_in), tf.linalg.matrix_transpose(W_rec)
    b = b_rec[:, None, :] if networks else b_rec  # broadcast over the batch
    width = W_rec.shape[-1] * (W_rec.shape[0] if networks else 1)
    if width < FUSED_LOOP_MIN_N_REC:
        drive = tf.einsum(f"t{k}bi,{k}ir->t{k}br", x_time_major, W_in_T) + b
        if noise is not None:
            drive = drive + noise
        states = hoisted_recurrence(update)(drive, W_T, s0)
        readouts = tf.einsum(f"t{k}br,{k}or->{k}bto", update.transfer_function(states), W_out)
        return readouts, states
    args = [x_time_major, W_in_T, b, W_T, tf.linalg.matrix_transpose(W_out), s0] + ([] if noise is None else [noise])
    readouts, states = fused_recurrence(update, noise is not None)(*args)
    return tf.transpose(readouts, batch_major), states
