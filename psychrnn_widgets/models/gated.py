"""Shared set-up for gated models (LSTM, GRU): gate matrices on ``[hidden, input]``.

Gate matrices have shape (N_rec + N_in, N_rec): rows 0..N_rec-1 multiply the hidden
state, the last N_in rows the input (PsychRNN's ``concat([hidden, rnn_in])`` order).
They are drawn from N(0, 0.1^2), biases start at 1, the initial hidden (and cell)
state from N(0, 0.1^2) — PsychRNN's LSTM initialisation — but the initial state is one
(1, N_rec) row shared by every trial, so any batch size works.  Gated models have no
Dale's law, connectivity masks or recurrent noise (as in PsychRNN).
"""
import numpy as np

from ..errors import ParameterError
from ._tf import tf
from .rnn import RNN


class GatedRNN(RNN):
    """Base for gated models; subclasses list their ``gates`` and ``state_names``."""

    uses_rate_weights = False
    gates = ()
    state_names = ("init_hidden",)

    def __init__(self, params):
        super().__init__(params)
        loaded = self.initializer.initializations if self.load_weights_path is not None else {}
        rng = self.initializer.rng if hasattr(self.initializer, "rng") else np.random.default_rng()
        n_concat = self.N_rec + self.N_in

        def variable(key, draw):
            value = loaded.get(key)
            value = draw() if value is None else np.asarray(value)
            return tf.Variable(value.astype(np.float32), name=key)

        for name in self.state_names:
            setattr(self, name, variable(name, lambda: 0.1 * rng.standard_normal((1, self.N_rec))))
        for gate in self.gates:
            setattr(self, "W_" + gate, variable("W_" + gate, lambda: 0.1 * rng.standard_normal((n_concat, self.N_rec))))
            setattr(self, "b_" + gate, variable("b_" + gate, lambda: np.ones(self.N_rec)))
        if self.dale_ratio is not None:
            raise ParameterError(
                f"{type(self).__name__} does not support dale_ratio (Dale's law applies to rate networks: use Basic)"
            )

    def _split(self, gate):
        """(hidden part (N_rec, N_rec), input part (N_in, N_rec)) of gate matrix ``W_<gate>``."""
        W = getattr(self, "W_" + gate)
        return W[: self.N_rec], W[self.N_rec:]

    def _input_drive(self, x, gates):
        """Input part of every gate for all steps, time-major (T, B, N_rec) each."""
        return [tf.einsum("btn,nr->tbr", x, self._split(g)[1]) + getattr(self, "b_" + g) for g in gates]

    def get_effective_W_out(self):
        return self.W_out * self.output_connectivity

    def output_timestep(self, hidden):
        """Readout ``hidden W_out^T + b_out``."""
        return tf.matmul(hidden, self.get_effective_W_out(), transpose_b=True) + self.b_out

    def _readout(self, hidden_time_major):
        hidden = tf.transpose(hidden_time_major, [1, 0, 2])
        return tf.einsum("btr,or->bto", hidden, self.get_effective_W_out()) + self.b_out, hidden
