"""``GRUSimulator``: the NumPy twin of :class:`psychrnn_widgets.models.gru.GRU`.

::

    z = sigmoid([h, u] W_z + b_z)        r = sigmoid([h, u] W_r + b_r)
    h~ = tanh([r * h, u] W_h + b_h)      h' = (1 - z) * h + z * h~
    y = h' W_out^T + b_out

Starts from the weights' ``init_hidden`` (1, N_rec) for every trial; ``states`` are the
hidden states.
"""
import numpy as np

from ..transfer import NUMPY_TRANSFER_FUNCTIONS
from .gated import GatedSimulator

__all__ = ["GRUSimulator"]

_sigmoid = NUMPY_TRANSFER_FUNCTIONS["sigmoid"]


class GRUSimulator(GatedSimulator):
    """NumPy simulator of a ``GRU`` (not in PsychRNN; same conventions as ``LSTMSimulator``).

    The weights need ``W_z, W_r, W_h`` (N_rec + N_in, N_rec), ``b_z, b_r, b_h`` (N_rec,),
    ``W_out, b_out`` and ``init_hidden`` (1, N_rec).
    """

    gates = ("z", "r", "h")
    state_names = ("init_hidden",)

    def hidden_update(self, hidden, drive):
        """One step from ``hidden`` (B, N_rec) given the gates' input drive (B, 3 N_rec)."""
        n = self.N_rec
        gates = hidden @ self._W_hidden[:, : 2 * n] + drive[:, : 2 * n]
        z, r = np.split(_sigmoid(gates), 2, axis=-1)
        candidate = np.tanh((r * hidden) @ self._W_hidden[:, 2 * n:] + drive[:, 2 * n:])
        return (1.0 - z) * hidden + z * candidate

    def initial_state(self, batch_size):
        """(batch_size, N_rec)."""
        return np.repeat(self.init_hidden, batch_size, 0)

    def rnn_step(self, hidden, rnn_in):
        """One step: ``(new_output (B, N_out), new_hidden (B, N_rec))``."""
        rnn_in, (hidden,) = self._check_step_args(rnn_in, hidden)
        new_hidden = self.hidden_update(hidden, self.input_drive(rnn_in))
        return self.readout(new_hidden), new_hidden

    def step(self, state, drive):
        """One step of the hidden state (B, N_rec) given the gates' drive (B, 3 N_rec)."""
        return self.hidden_update(state, drive)
