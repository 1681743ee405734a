"""``Basic``: PsychRNN's leaky rate network (the reference maths of DESIGN §3.2).

    x_{t+1} = (1-alpha) x_t + alpha (f(x_t) W_rec_eff^T + u_t W_in_eff^T + b_rec)
              + sqrt(2 alpha rec_noise^2) xi_t
    y_{t+1} = f(x_{t+1}) W_out_eff^T + b_out

``forward_pass`` computes exactly this in one symbolic loop over time with PsychRNN's
order of operations.  Noise for the whole pass is drawn in one call before the loop (not
at all when ``rec_noise`` is 0 or noise is off).  Both time loops have a hand-written
backward pass through time (one ``tf.while_loop`` back), checked against TensorFlow's
automatic gradient in the tests, in one of two layouts picked by ``N_rec``:

* below ``FUSED_LOOP_MIN_N_REC`` units, :func:`hoisted_leaky_recurrence`: the input drive
  of all steps, ``f'`` of all states and the weight gradient are single operations outside
  the loops, so each time step runs as few operations as possible (what costs at small N);
* from it on, :func:`leaky_recurrence`: the input projection, the readout and all
  weight-gradient products run inside the loops, so no (T, B, N) tensor other than the
  states is written and read back (what costs at large N).

The loops work time-major; only the returned states are transposed to (batch, time,
N_rec).  The training step is also XLA-compiled (see ``training/step.py``).
"""
import numpy as np

from ._tf import tf
from .rnn import RNN


def rates_and_derivative(transfer_function, values):
    """``(f(values), f'(values))`` elementwise, for any differentiable TensorFlow transfer function."""
    with tf.GradientTape() as tape:
        tape.watch(values)
        rates = transfer_function(values)
    return rates, tape.gradient(rates, values)


#: From this many recurrent units on, ``Basic`` uses :func:`leaky_recurrence` (input
#: projection, readout and weight gradients inside the time loops: fewer passes over
#: (T, B, N) tensors; the N_rec 256 step went from ~470 to ~300 ms).  Below it,
#: :func:`hoisted_leaky_recurrence` (drive, f' and weight gradient outside the loops: half
#: the operations per time step, which is what costs at N_rec 50).  Both compute the same
#: maths; see benchmarks/README.md.
FUSED_LOOP_MIN_N_REC = 128


def _is_unused_output_gradient(gradient):
    """True for the ``ZerosLike`` TensorFlow passes as the gradient of an output nobody used (graph mode)."""
    op = getattr(gradient, "op", None)  # eager tensors have none: treat as used
    return op is not None and op.type == "ZerosLike"


def hoisted_leaky_recurrence(alpha, transfer_function):
    """A differentiable ``states = recurrence(drive, W_T, s0)``, work hoisted out of the loops.

    ``drive`` (T, B, N) is the input drive ``x W_in_eff^T + b_rec`` of every step (noise
    divided by alpha included), ``W_T`` (N, N) is ``W_rec_eff^T``, ``s0`` (B, N); one step
    is ``s_{t+1} = (1-alpha) s_t + alpha (f(s_t) W_T + drive_t)`` and ``states`` (T, B, N)
    are s_1..s_T.  Backward pass, with G_t = dL/ds_t:

        G_t = dS_t + (1-alpha) G_{t+1} + alpha (G_{t+1} W_T^T) * f'(s_t)
        dDrive_t = alpha G_{t+1},  dW_T = alpha sum_t f(s_t)^T G_{t+1},
        ds0 = (1-alpha) G_1 + alpha (G_1 W_T^T) * f'(s_0)

    with f' for all steps and the weight gradient as single operations outside the loop.
    """

    @tf.custom_gradient
    def recurrence(drive, W_T, s0):
        n_steps = tf.shape(drive)[0]

        def step(t, state, states):
            state = (1.0 - alpha) * state + alpha * (tf.matmul(transfer_function(state), W_T) + drive[t])
            return t + 1, state, states.write(t, state)

        _, _, states = tf.while_loop(
            lambda t, *_: t < n_steps, step, (0, s0, tf.TensorArray(tf.float32, size=n_steps))
        )
        states = states.stack()

        def backward(d_states):
            previous = tf.concat([s0[None], states[:-1]], axis=0)  # s_0 .. s_{T-1}
            rates, gain = rates_and_derivative(transfer_function, previous)
            gain = alpha * gain
            W = tf.transpose(W_T)

            def back_step(t, g, grads):
                g = g + d_states[t]  # G_{t+1}: index t of ``states`` holds s_{t+1}
                grads = grads.write(t, g)
                return t - 1, (1.0 - alpha) * g + tf.matmul(g, W) * gain[t], grads

            _, d_s0, grads = tf.while_loop(
                lambda t, *_: t >= 0, back_step,
                (n_steps - 1, tf.zeros_like(s0), tf.TensorArray(tf.float32, size=n_steps)),
            )
            grads = grads.stack()
            n = tf.shape(W_T)[0]
            d_W_T = alpha * tf.matmul(tf.reshape(rates, [-1, n]), tf.reshape(grads, [-1, n]), transpose_a=True)
            return alpha * grads, d_W_T, d_s0

        return states, backward

    return recurrence


def leaky_recurrence(alpha, transfer_function, with_noise):
    """Differentiable ``(readouts, states) = recurrence(x, W_in_T, b, W_T, W_out_T, s0[, noise])``.

    With ``W_T = W_rec_eff^T`` (N, N), ``W_in_T = W_in_eff^T`` (N_in, N), ``b = b_rec`` (N,)
    and ``W_out_T = W_out_eff^T`` (N, N_out), one step is PsychRNN's

        s_{t+1} = (1-alpha) s_t + alpha (f(s_t) W_T + x_t W_in_T + b [+ noise_t])
        o_{t+1} = f(s_{t+1}) W_out_T                      (b_out is added by the caller)

    for ``x`` (T, B, N_in) time-major, ``s0`` (B, N) and optional ``noise`` (T, B, N)
    (already divided by alpha); ``readouts`` (T, B, N_out) and ``states`` (T, B, N) are
    for s_1..s_T.  The input projection and the readout happen inside the loop (small
    products per step), so no (T, B, N) drive, rate or readout-gradient tensor is written
    and read back.  Backward pass, with G_t = dL/ds_t (G_{T+1} = 0):

        G_t = dS_t + (dO_t W_out_T^T) * f'(s_t) + (1-alpha) G_{t+1} + alpha (G_{t+1} W_T^T) * f'(s_t)
        dW_T = alpha sum_t f(s_t)^T G_{t+1},  dW_in_T = alpha sum_t x_t^T G_{t+1},
        db = alpha sum G_{t+1},  dW_out_T = sum_t f(s_t)^T dO_t,  d noise_t = alpha G_{t+1},
        ds0 = (1-alpha) G_1 + alpha (G_1 W_T^T) * f'(s_0)

    — one product along the dependency chain per step, the weight-gradient products
    accumulated in the same loop.
    """

    def run(x, W_in_T, b, W_T, W_out_T, s0, noise):
        n_steps = tf.shape(x)[0]

        def step(t, state, rates, states, readouts):
            drive = tf.matmul(x[t], W_in_T) + b
            if noise is not None:
                drive = drive + noise[t]
            state = (1.0 - alpha) * state + alpha * (tf.matmul(rates, W_T) + drive)
            rates = transfer_function(state)
            return t + 1, state, rates, states.write(t, state), readouts.write(t, tf.matmul(rates, W_out_T))

        arrays = (tf.TensorArray(tf.float32, size=n_steps), tf.TensorArray(tf.float32, size=n_steps))
        _, _, _, states, readouts = tf.while_loop(
            lambda t, *_: t < n_steps, step, (0, s0, transfer_function(s0)) + arrays)
        states, readouts = states.stack(), readouts.stack()

        def backward(d_readouts, d_states):
            alpha_W = alpha * tf.transpose(W_T)
            W_out = tf.transpose(W_out_T)
            states_used = not _is_unused_output_gradient(d_states)  # no state regulariser: skip (T, B, N) zeros

            def back_step(t, previous, next_rates, next_gain, carry, d_W_T, d_W_in_T, d_b, d_W_out_T, grads):
                """Transition s_t -> s_{t+1}: from G_{t+2}'s share ``carry`` to G_{t+1}'s share of s_t."""
                g = carry + tf.matmul(d_readouts[t], W_out) * next_gain  # G_{t+1}
                if states_used:
                    g = g + d_states[t]
                d_W_out_T += tf.matmul(next_rates, d_readouts[t], transpose_a=True)
                rates, gain = rates_and_derivative(transfer_function, previous)
                d_W_T += tf.matmul(rates, g, transpose_a=True)
                d_W_in_T += tf.matmul(x[t], g, transpose_a=True)
                d_b += tf.reduce_sum(g, axis=0)
                grads = tuple(array.write(t, g) for array in grads)  # only with noise: its gradient
                carry = (1.0 - alpha) * g + tf.matmul(g, alpha_W) * gain
                return rates, gain, carry, d_W_T, d_W_in_T, d_b, d_W_out_T, grads

            def loop_body(t, *carried):  # carried: the 7 values back_step passes on, then the noise array
                *carried, grads = back_step(t, states[t - 1], *carried[:7], tuple(carried[7:]))
                return (t - 1, *carried) + grads

            grad_arrays = (tf.TensorArray(tf.float32, size=n_steps),) if noise is not None else ()
            carry = rates_and_derivative(transfer_function, states[n_steps - 1]) + (
                tf.zeros_like(s0), tf.zeros_like(W_T), tf.zeros_like(W_in_T), tf.zeros_like(b), tf.zeros_like(W_out_T))
            _, *carry = tf.while_loop(lambda t, *_: t >= 1, loop_body, (n_steps - 1, *carry) + grad_arrays)
            carry, grads = carry[:7], tuple(carry[7:])
            _, _, d_s0, d_W_T, d_W_in_T, d_b, d_W_out_T, grads = back_step(0, s0, *carry, grads)
            gradients = (tf.zeros_like(x), alpha * d_W_in_T, alpha * d_b, alpha * d_W_T, d_W_out_T, d_s0)
            return gradients + tuple(alpha * array.stack() for array in grads)

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


class Basic(RNN):
    """Leaky rate RNN with optional Dale's law, connectivity masks and recurrent noise."""

    #: the training step of this model gains from XLA compilation (measured: see benchmarks/)
    prefers_xla = True

    def leaky_update(self, state, drive, W_rec_eff_T):
        """One noiseless step given the input drive ``u W_in_eff^T + b_rec`` (B, N_rec)."""
        recurrent = tf.matmul(self.transfer_function(state), W_rec_eff_T)
        return (1.0 - self.alpha) * state + self.alpha * (recurrent + drive)

    def recurrent_timestep(self, rnn_in, state):
        """One step from ``state`` (B, N_rec) with input ``rnn_in`` (B, N_in), noise included."""
        drive = tf.matmul(rnn_in, self.get_effective_W_in(), transpose_b=True) + self.b_rec
        new_state = self.leaky_update(state, drive, tf.transpose(self.get_effective_W_rec()))
        return new_state + self.recurrent_noise(tf.shape(state))

    def output_timestep(self, state):
        """Readout ``f(state) W_out_eff^T + b_out``, (B, N_rec) -> (B, N_out)."""
        return tf.matmul(self.transfer_function(state), self.get_effective_W_out(), transpose_b=True) + self.b_out

    def forward_pass(self, x, noise=True):
        """``x`` (B, T, N_in) -> ``(outputs (B,T,N_out), states (B,T,N_rec))``; see the module doc."""
        outputs, states = self.forward_pass_time_major(x, noise=noise)
        return outputs, tf.transpose(states, [1, 0, 2])

    def forward_pass_time_major(self, x, noise=True):
        """Like :meth:`forward_pass` but ``states`` time-major, (T, B, N_rec) (no transpose)."""
        x = tf.convert_to_tensor(x, tf.float32)
        alpha = self.alpha
        x_time_major = tf.transpose(x, [1, 0, 2])
        W_in_T, W_T = tf.transpose(self.get_effective_W_in()), tf.transpose(self.get_effective_W_rec())
        s0 = self.initial_state(tf.shape(x)[0])
        noise_term = None
        if noise and self.rec_noise > 0:  # alpha * (drive + noise / alpha) == alpha * drive + noise
            n_steps, batch = tf.shape(x)[1], tf.shape(x)[0]
            scale = np.sqrt(2.0 * alpha) * self.rec_noise / alpha
            noise_term = scale * self.noise_for_pass([n_steps, batch, self.N_rec])
        if self.N_rec < FUSED_LOOP_MIN_N_REC:
            drive = tf.einsum("tbn,nr->tbr", x_time_major, W_in_T) + self.b_rec
            if noise_term is not None:
                drive = drive + noise_term
            states = hoisted_leaky_recurrence(alpha, self.transfer_function)(drive, W_T, s0)
            outputs = tf.einsum("tbr,or->bto", self.transfer_function(states), self.get_effective_W_out())
        else:
            W_out_T = tf.transpose(self.get_effective_W_out())
            args = [x_time_major, W_in_T, self.b_rec, W_T, W_out_T, s0] + ([] if noise_term is None else [noise_term])
            readouts, states = leaky_recurrence(alpha, self.transfer_function, noise_term is not None)(*args)
            outputs = tf.transpose(readouts, [1, 0, 2])
        return outputs + self.b_out, states
