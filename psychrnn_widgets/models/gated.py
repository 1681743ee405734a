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


_NO_RATE_WEIGHTS = "a gated network has gate matrices on [hidden, input], not one W_in and W_rec"
_GATE_INIT = "gate weights start from N(0, 0.1^2) and biases at 1 (PsychRNN's LSTM initialisation)"

#: the common network_params keys that mean nothing for a gated network, and why
GATED_NOT_APPLICABLE = {
    "dale_ratio": "Dale's law sign-constrains a rate network's units; gated units have no sign",
    "autapses": _NO_RATE_WEIGHTS,
    "input_connectivity": _NO_RATE_WEIGHTS,
    "rec_connectivity": _NO_RATE_WEIGHTS,
    "rec_noise": "gated networks have no recurrent noise here (as in PsychRNN)",
    "transfer_function": "the gates use sigmoid and tanh by definition",
    "initializer": _GATE_INIT,
    "spec_rad": _GATE_INIT,
    "identity_alpha": _GATE_INIT,
    "which_rand_W_rec_init": _GATE_INIT,
    "L1_in": _NO_RATE_WEIGHTS, "L1_rec": _NO_RATE_WEIGHTS, "L2_in": _NO_RATE_WEIGHTS, "L2_rec": _NO_RATE_WEIGHTS,
}


class GatedRNN(RNN):
    """Base for gated models; subclasses list their ``gates`` and ``state_names``."""

    uses_rate_weights = False
    not_applicable = GATED_NOT_APPLICABLE
    gates = ()
    state_names = ("init_hidden",)

    @classmethod
    def weight_shapes(cls, N_in, N_rec, N_out):
        """Gate matrices ``W_<g>`` (N_rec + N_in, N_rec), biases ``b_<g>`` (N_rec,), initial states (1, N_rec)."""
        shapes = {"W_out": (N_out, N_rec), "b_out": (N_out,)}
        for gate in cls.gates:
            shapes["W_" + gate], shapes["b_" + gate] = (N_rec + N_in, N_rec), (N_rec,)
        shapes.update({name: (1, N_rec) for name in cls.state_names})
        return shapes

    @classmethod
    def sizes_from_weights(cls, weights):
        """``N_rec``, ``N_out`` from ``W_out``; ``N_in`` from the first gate matrix (N_rec + N_in, N_rec)."""
        sizes = super().sizes_from_weights(weights)
        key = "W_" + cls.gates[0]
        value = weights.get(key)
        shape = np.shape(value) if value is not None else ()
        if len(shape) != 2 or shape[1] != sizes["N_rec"] or shape[0] <= sizes["N_rec"]:
            raise ParameterError(f"weights[{key!r}] must have shape (N_rec + N_in, N_rec={sizes['N_rec']}), "
                                 f"got {shape if value is not None else 'nothing'}", parameter=key, value=shape)
        sizes["N_in"] = int(shape[0] - sizes["N_rec"])
        return sizes

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
