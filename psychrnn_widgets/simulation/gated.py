"""Shared set-up of the gated simulators (LSTM, GRU): gate matrices on ``[hidden, input]``.

Gate matrices ``W_<g>`` have shape (N_rec + N_in, N_rec): the first N_rec rows multiply
the hidden state, the last N_in rows the input (PsychRNN's ``concat([hidden, rnn_in])``),
as in :mod:`psychrnn_widgets.models.gated`.  The input part of every gate is computed for
all steps in one product before the time loop; inside the loop the hidden parts of all
gates are one product with their side-by-side concatenation.  ``alpha`` and the transfer
function are not used (gated models have neither); ``rec_noise`` is ignored (as in the
TF models).  The time loop, perturbations (on the hidden state: what a unit sends) and
checkpoints are :class:`~psychrnn_widgets.simulation.stepping.SteppedSimulator`'s.
"""
import numpy as np

from ..errors import ParameterError
from .stepping import SteppedSimulator

__all__ = ["GatedSimulator"]


class GatedSimulator(SteppedSimulator):
    """Base of :class:`LSTMSimulator` and :class:`GRUSimulator`; subclasses list ``gates``, ``state_names``."""

    needs_alpha = False
    uses_transfer_function = False
    gates = ()
    state_names = ("init_hidden",)

    def __init__(self, rnn_model=None, params=None, weights_path=None, weights=None, *, dtype=np.float32):
        super().__init__(rnn_model=rnn_model, params=params, weights_path=weights_path, weights=weights,
                         dtype=dtype)

    def _load_weights(self, cls, weights):
        first = self._array(cls, weights, "W_" + self.gates[0])
        if first.ndim != 2 or first.shape[0] <= first.shape[1]:
            raise ParameterError(
                f"{cls}: weights['W_{self.gates[0]}'] has shape {first.shape}, expected (N_rec + N_in, N_rec)"
            )
        self.N_rec = N_rec = first.shape[1]
        self.N_in = first.shape[0] - N_rec
        concat = (N_rec + self.N_in, N_rec)
        for gate in self.gates:
            setattr(self, "W_" + gate, self._array(cls, weights, "W_" + gate, concat))
            setattr(self, "b_" + gate, self._array(cls, weights, "b_" + gate, (N_rec,)))
        self.W_out = self._array(cls, weights, "W_out")
        if self.W_out.ndim != 2 or self.W_out.shape[1] != N_rec:
            raise ParameterError(f"{cls}: weights['W_out'] has shape {self.W_out.shape}, expected (N_out, {N_rec})")
        self.N_out = self.W_out.shape[0]
        self.b_out = self._array(cls, weights, "b_out", (self.N_out,))
        for name in self.state_names:
            value = self._array(cls, weights, name)
            if value.size != N_rec:
                raise ParameterError(f"{cls}: weights[{name!r}] has shape {value.shape}, expected (1, {N_rec})")
            setattr(self, name, value.reshape(1, N_rec))
        # hidden parts side by side (N_rec, n_gates * N_rec); input parts likewise (N_in, n_gates * N_rec)
        self._W_hidden = np.ascontiguousarray(np.concatenate([getattr(self, "W_" + g)[:N_rec] for g in self.gates], 1))
        self._W_input = np.ascontiguousarray(np.concatenate([getattr(self, "W_" + g)[N_rec:] for g in self.gates], 1))
        self._b_gates = np.concatenate([getattr(self, "b_" + g) for g in self.gates])
        self._W_out_T = np.ascontiguousarray(self.W_out.T)

    def input_drive(self, rnn_in):
        """Input part of all gates, ``(..., N_in) -> (..., n_gates * N_rec)`` (gate order ``gates``)."""
        return rnn_in @ self._W_input + self._b_gates

    def readout(self, hidden):
        """``hidden W_out^T + b_out``, (..., N_rec) -> (..., N_out)."""
        return hidden @ self._W_out_T + self.b_out

    def flat_initial_state(self, batch_size):
        """The initial states of ``state_names`` side by side, (batch_size, state_size)."""
        start = np.concatenate([getattr(self, name) for name in self.state_names], axis=1)
        return np.repeat(start, batch_size, axis=0)

    def _check_step_args(self, rnn_in, *states):
        states = [np.asarray(s, dtype=self.dtype) for s in states]
        rnn_in = np.asarray(rnn_in, dtype=self.dtype)
        for s in states:
            if s.ndim != 2 or s.shape[1] != self.N_rec:
                raise ParameterError(f"states must have shape (batch, N_rec={self.N_rec}), got {s.shape}")
        if rnn_in.shape != (states[0].shape[0], self.N_in):
            raise ParameterError(
                f"rnn_in must have shape (batch={states[0].shape[0]}, N_in={self.N_in}), got {rnn_in.shape}"
            )
        return rnn_in, states
