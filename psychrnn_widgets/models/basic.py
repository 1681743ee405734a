"""``Basic``: PsychRNN's leaky rate network (the reference maths of DESIGN §3.2).

    x_{t+1} = (1-alpha) x_t + alpha (f(x_t) W_rec_eff^T + u_t W_in_eff^T + b_rec)
              + sqrt(2 alpha rec_noise^2) xi_t
    y_{t+1} = f(x_{t+1}) W_out_eff^T + b_out

``forward_pass`` computes exactly this, with the work that does not depend on the state
taken out of the time loop: the input drive ``u W_in_eff^T + b_rec`` for all steps in
one product, the noise for all steps in one draw (none when ``rec_noise`` is 0 or noise
is off), and the readout of all states in one product after the loop.  Inside the loop
only ``leaky_update`` runs — the same function ``recurrent_timestep`` uses.
"""
import numpy as np

from ._tf import tf
from .rnn import RNN


class Basic(RNN):
    """Leaky rate RNN with optional Dale's law, connectivity masks and recurrent noise."""

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
            drive = drive + scale * self._noise_rng.normal(tf.shape(drive))
        states = tf.scan(
            lambda state, d: self.leaky_update(state, d, W_rec_eff_T),
            drive,
            initializer=self.initial_state(tf.shape(x)[0]),
        )
        states = tf.transpose(states, [1, 0, 2])
        outputs = tf.einsum("btr,or->bto", self.transfer_function(states), self.get_effective_W_out()) + self.b_out
        return outputs, states
