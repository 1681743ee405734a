"""``LSTM``: PsychRNN's LSTM (gates f, i, c, o on ``[hidden, input]``).

    f = sigmoid([h, u] W_f + b_f)   i = sigmoid([h, u] W_i + b_i)
    c~ = tanh([h, u] W_c + b_c)     o = sigmoid([h, u] W_o + b_o)
    cell' = f * cell + i * c~       h' = o * sigmoid(cell')      (PsychRNN uses sigmoid here)
    y = h' W_out^T + b_out

``states`` returned by ``forward_pass``/``test`` are the hidden states h.
The dynamical state is the pair (h, cell): :meth:`next_state` takes and returns them side
by side, ``[h, cell]`` (B, 2 N_rec), so fixed points are points of the whole state.
"""

from ..simulation.lstm import LSTMSimulator
from ._tf import tf
from .gated import GatedRNN


class LSTM(GatedRNN):
    """Long short-term memory network with PsychRNN's equations; any batch size."""

    gates = ("f", "i", "c", "o")
    state_names = ("init_hidden", "init_cell")
    state_parts = ("hidden", "cell")
    simulator = LSTMSimulator
    summary = "LSTM (PsychRNN's equations): gated memory cells; no Dale's law, masks or noise"

    def _cell_update(self, hidden, cell, drives):
        pre = {g: tf.matmul(hidden, self._split(g)[0]) + d for g, d in zip(self.gates, drives)}
        f, i, o = tf.sigmoid(pre["f"]), tf.sigmoid(pre["i"]), tf.sigmoid(pre["o"])
        new_cell = f * cell + i * tf.tanh(pre["c"])
        return o * tf.sigmoid(new_cell), new_cell

    def recurrent_timestep(self, rnn_in, state):
        """``state = (hidden, cell)``, each (B, N_rec); returns the new pair."""
        hidden, cell = state
        drives = [tf.matmul(rnn_in, self._split(g)[1]) + getattr(self, "b_" + g) for g in self.gates]
        return self._cell_update(hidden, cell, drives)

    def initial_state(self, batch_size):
        return tf.tile(self.init_hidden, [batch_size, 1]), tf.tile(self.init_cell, [batch_size, 1])

    def forward_pass(self, x, noise=True):
        x = tf.convert_to_tensor(x, tf.float32)
        drives = tf.stack(self._input_drive(x, self.gates), axis=1)  # (T, 4, B, N_rec)
        hidden, _ = tf.scan(
            lambda state, d: self._cell_update(state[0], state[1], tf.unstack(d, num=4)),
            drives,
            initializer=self.initial_state(tf.shape(x)[0]),
        )
        return self._readout(hidden)
