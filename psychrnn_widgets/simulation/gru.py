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

    def run_trials(self, trial_input, noise=True):
        """``trial_input`` (B, T, N_in) -> ``(outputs (B, T, N_out), hidden states (B, T, N_rec))``.

        ``noise`` is accepted so that code can run any simulator alike; gated models have
        no recurrent noise, so it changes nothing.
        """
        x = self.as_input_batch(trial_input)
        batch, n_steps, _ = x.shape
        drive = self.input_drive(np.ascontiguousarray(x.transpose(1, 0, 2)))  # (T, B, 3 N_rec)
        hidden = self.initial_state(batch)
        states = np.empty((n_steps, batch, self.N_rec), dtype=self.dtype)
        for step in range(n_steps):
            states[step] = hidden = self.hidden_update(hidden, drive[step])
        states = np.ascontiguousarray(states.transpose(1, 0, 2))
        return self.readout(states), states
