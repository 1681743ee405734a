"""``LSTMSimulator``: the NumPy twin of :class:`psychrnn_widgets.models.lstm.LSTM`.

PsychRNN's LSTM equations, gates f, i, c, o on ``[hidden, input]``::

    f = sigmoid([h, u] W_f + b_f)   i = sigmoid([h, u] W_i + b_i)
    c~ = tanh([h, u] W_c + b_c)     o = sigmoid([h, u] W_o + b_o)
    cell' = f * cell + i * c~       h' = o * sigmoid(cell')      (sigmoid, as PsychRNN)
    y = h' W_out^T + b_out

Starts from the weights' ``init_hidden`` and ``init_cell`` (1, N_rec) for every trial;
``states`` are the hidden states h (``run_trials(..., full_state=True)``: ``[h, cell]``).
"""
import numpy as np

from ..transfer import NUMPY_TRANSFER_FUNCTIONS
from .gated import GatedSimulator

__all__ = ["LSTMSimulator"]

_sigmoid = NUMPY_TRANSFER_FUNCTIONS["sigmoid"]


class LSTMSimulator(GatedSimulator):
    """NumPy simulator of an ``LSTM`` (PsychRNN's ``LSTMSimulator``).

    Constructor rules as :class:`~psychrnn_widgets.simulation.base.Simulator` (exactly one
    of ``rnn_model`` / ``weights_path`` / ``weights``; ``params`` not with ``rnn_model``);
    alpha is not needed.  The weights need ``W_f, W_i, W_c, W_o`` (N_rec + N_in, N_rec),
    ``b_f, b_i, b_c, b_o`` (N_rec,), ``W_out, b_out``, ``init_hidden, init_cell`` (1, N_rec).
    """

    gates = ("f", "i", "c", "o")
    state_names = ("init_hidden", "init_cell")
    state_parts = ("hidden", "cell")

    def cell_update(self, hidden, cell, drive):
        """One step from ``hidden, cell`` (B, N_rec) given the gates' input drive (B, 4 N_rec)."""
        pre = hidden @ self._W_hidden + drive
        f, i, c, o = np.split(pre, 4, axis=-1)
        new_cell = _sigmoid(f) * cell + _sigmoid(i) * np.tanh(c)
        return _sigmoid(o) * _sigmoid(new_cell), new_cell

    def initial_state(self, batch_size):
        """``(hidden, cell)``, each (batch_size, N_rec)."""
        return np.repeat(self.init_hidden, batch_size, 0), np.repeat(self.init_cell, batch_size, 0)

    def rnn_step(self, hidden, cell, rnn_in):
        """One step (PsychRNN's signature): ``(new_output (B, N_out), new_hidden, new_cell)``."""
        rnn_in, (hidden, cell) = self._check_step_args(rnn_in, hidden, cell)
        new_hidden, new_cell = self.cell_update(hidden, cell, self.input_drive(rnn_in))
        return self.readout(new_hidden), new_hidden, new_cell

    def step(self, state, drive):
        """One step on the flat state ``[hidden, cell]`` (B, 2 N_rec) given the gates' drive (B, 4 N_rec)."""
        n = self.N_rec
        hidden, cell = self.cell_update(state[:, :n], state[:, n:], drive)
        return np.concatenate([hidden, cell], axis=1)
