"""``Basic``: PsychRNN's leaky rate network (the reference maths of DESIGN §3.2).

    x_{t+1} = (1-alpha) x_t + alpha (f(x_t) W_rec_eff^T + u_t W_in_eff^T + b_rec)
              + sqrt(2 alpha rec_noise^2) xi_t
    y_{t+1} = f(x_{t+1}) W_out_eff^T + b_out

The update and its gradient live in :mod:`psychrnn_widgets.models.leaky`
(:class:`~psychrnn_widgets.models.leaky.LeakyUpdate`); ``forward_pass`` is its
:func:`~psychrnn_widgets.models.leaky.leaky_pass` (one of two time-loop layouts, chosen by
``N_rec``; an :class:`~psychrnn_widgets.models.ensemble.Ensemble` runs the same pass with a
network axis), ``recurrent_timestep`` (the generic path, the
fixed-point finder) runs the same step once.  Noise for a whole pass is drawn in one call
before the loop (not at all when ``rec_noise`` is 0 or noise is off) and enters the drive
divided by alpha (``alpha (d + noise/alpha) == alpha d + noise``).  The training step is
also XLA-compiled (see ``training/step.py``).
"""
import numpy as np

from ..simulation.basic import BasicSimulator
from . import leaky
from ._tf import tf
from .rnn import RNN


class Basic(RNN):
    """Leaky rate RNN with optional Dale's law, connectivity masks and recurrent noise."""

    #: the training step of this model gains from XLA compilation (measured: see benchmarks/)
    prefers_xla = True
    simulator = BasicSimulator
    summary = "leaky rate network (PsychRNN's Basic): Dale's law, masks and noise apply"

    @property
    def update(self):
        """The :class:`~psychrnn_widgets.models.leaky.LeakyUpdate` of this network (alpha, f)."""
        return leaky.LeakyUpdate(self.alpha, self.transfer_function)

    def recurrent_timestep(self, rnn_in, state):
        """One step from ``state`` (B, N_rec) with input ``rnn_in`` (B, N_in), noise included."""
        drive = tf.matmul(rnn_in, self.get_effective_W_in(), transpose_b=True) + self.b_rec
        W_T = tf.transpose(self.get_effective_W_rec())
        new_state = self.update.step(state, self.transfer_function(state), drive, W_T)
        return new_state + self.recurrent_noise(tf.shape(state))

    def output_timestep(self, state):
        """Readout ``f(state) W_out_eff^T + b_out``, (B, N_rec) -> (B, N_out)."""
        return tf.matmul(self.transfer_function(state), self.get_effective_W_out(), transpose_b=True) + self.b_out

    def forward_pass(self, x, noise=True):
        """``x`` (B, T, N_in) -> ``(outputs (B,T,N_out), states (B,T,N_rec))``; see the module doc."""
        outputs, states = self.forward_pass_time_major(x, noise=noise)
        return outputs, tf.transpose(states, [1, 0, 2])

    def forward_pass_time_major(self, x, noise=True):
        """Like :meth:`forward_pass` but ``states`` time-major, (T, B, N_rec) (no transpose).

        The pass is :func:`~psychrnn_widgets.models.leaky.leaky_pass` (which chooses the time-loop layout).
        """
        x = tf.convert_to_tensor(x, tf.float32)
        noise_term = None
        if noise and self.rec_noise > 0:
            n_steps, batch = tf.shape(x)[1], tf.shape(x)[0]
            scale = np.sqrt(2.0 * self.alpha) * self.rec_noise / self.alpha
            noise_term = scale * self.noise_for_pass([n_steps, batch, self.N_rec])
        readouts, states = leaky.leaky_pass(self.update, x, self.get_effective_W_in(), self.b_rec,
                                            self.get_effective_W_rec(), self.get_effective_W_out(),
                                            self.initial_state(tf.shape(x)[0]), noise_term)
        return readouts + self.b_out, states


class BasicScan(Basic):
    """PsychRNN's ``BasicScan``: the same network as :class:`Basic` (PsychRNN ran it with
    ``tf.scan`` instead of a Python loop).  Here every model runs a symbolic loop, so it is
    ``Basic`` under PsychRNN's second name; weight files say ``'BasicScan'`` for it."""

    summary = "the same network as Basic, under PsychRNN's second name"
