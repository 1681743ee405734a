"""``Basic``: PsychRNN's leaky rate network (the reference maths of DESIGN §3.2).

    x_{t+1} = (1-alpha) x_t + alpha (f(x_t) W_rec_eff^T + u_t W_in_eff^T + b_rec)
              + sqrt(2 alpha rec_noise^2) xi_t
    y_{t+1} = f(x_{t+1}) W_out_eff^T + b_out

``forward_pass`` computes exactly this, with the work that does not depend on the state
taken out of the time loop: the input drive ``u W_in_eff^T + b_rec`` for all steps in
one product, the noise for all steps in one draw (none when ``rec_noise`` is 0 or noise
is off), and the readout of all states in one product after the loop.  Inside the loop
only ``leaky_update`` runs — the same function ``recurrent_timestep`` uses.

The recurrence has a hand-written backward pass (:func:`leaky_recurrence`): one
symbolic loop back through time with a handful of operations per step, the weight
gradient summed over all steps in one product afterwards.  TensorFlow's automatic
gradient of a ``tf.scan`` does the same maths with several times more operations per
step; the training step is also XLA-compiled (see ``training/step.py``).
"""
import numpy as np

from ._tf import tf
from .rnn import RNN


def leaky_recurrence(update, alpha, transfer_function):
    """A differentiable ``states = recurrence(drive, W_T, s0)`` for the leaky rate update.

    ``update(state, drive_t, W_T)`` is the one-step map
    ``(1-alpha) s + alpha (f(s) W_T + drive_t)``; ``drive`` (T, B, N) holds the input
    drive (noise included), ``W_T`` (N, N) is ``W_rec_eff^T``, ``s0`` (B, N) the initial
    state; ``states`` (T, B, N) are s_1..s_T.  Backward pass, with G_t = dL/ds_t:

        G_t = dS_t + (1-alpha) G_{t+1} + alpha (G_{t+1} W_T^T) * f'(s_t)
        dDrive_t = alpha G_{t+1},  dW_T = alpha sum_t f(s_t)^T G_{t+1},
        ds0 = (1-alpha) G_1 + alpha (G_1 W_T^T) * f'(s_0)
    """

    @tf.custom_gradient
    def recurrence(drive, W_T, s0):
        n_steps = tf.shape(drive)[0]

        def step(t, state, states):
            state = update(state, drive[t], W_T)
            return t + 1, state, states.write(t, state)

        _, _, states = tf.while_loop(
            lambda t, *_: t < n_steps, step, (0, s0, tf.TensorArray(tf.float32, size=n_steps))
        )
        states = states.stack()

        def backward(d_states):
            previous = tf.concat([s0[None], states[:-1]], axis=0)  # s_0 .. s_{T-1}
            with tf.GradientTape() as tape:  # f' elementwise, for any transfer function
                tape.watch(previous)
                rates = transfer_function(previous)
            gain = alpha * tape.gradient(rates, previous)
            W = tf.transpose(W_T)

            def back_step(t, g, grads):
                g = g + d_states[t]  # now G_{t+1} in the notation above (index t <-> s_{t+1})
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
        x = tf.convert_to_tensor(x, tf.float32)
        W_rec_eff_T = tf.transpose(self.get_effective_W_rec())
        # input drive for every step at once, time-major (T, B, N_rec)
        drive = tf.einsum("btn,rn->tbr", x, self.get_effective_W_in()) + self.b_rec
        if noise and self.rec_noise > 0:
            # alpha * (drive + noise / alpha) == alpha * drive + noise
            scale = np.sqrt(2.0 * self.alpha) * self.rec_noise / self.alpha
            drive = drive + scale * self.noise_for_pass(tf.shape(drive))
        recurrence = leaky_recurrence(self.leaky_update, self.alpha, self.transfer_function)
        states = tf.transpose(recurrence(drive, W_rec_eff_T, self.initial_state(tf.shape(x)[0])), [1, 0, 2])
        outputs = tf.einsum("btr,or->bto", self.transfer_function(states), self.get_effective_W_out()) + self.b_out
        return outputs, states
