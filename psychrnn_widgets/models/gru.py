"""``GRU``: gated recurrent unit (not in PsychRNN; same conventions as ``LSTM``).

    z = sigmoid([h, u] W_z + b_z)        r = sigmoid([h, u] W_r + b_r)
    h~ = tanh([r * h, u] W_h + b_h)      h' = (1 - z) * h + z * h~
    y = h' W_out^T + b_out
"""

from ..simulation.gru import GRUSimulator
from ._tf import tf
from .gated import GatedRNN


class GRU(GatedRNN):
    """Gated recurrent unit network; any batch size."""

    gates = ("z", "r", "h")
    state_names = ("init_hidden",)
    simulator = GRUSimulator
    summary = "gated recurrent units (GRU); no Dale's law, masks or noise"

    def _update(self, hidden, drives):
        dz, dr, dh = drives
        z = tf.sigmoid(tf.matmul(hidden, self._split("z")[0]) + dz)
        r = tf.sigmoid(tf.matmul(hidden, self._split("r")[0]) + dr)
        candidate = tf.tanh(tf.matmul(r * hidden, self._split("h")[0]) + dh)
        return (1.0 - z) * hidden + z * candidate

    def recurrent_timestep(self, rnn_in, state):
        drives = [tf.matmul(rnn_in, self._split(g)[1]) + getattr(self, "b_" + g) for g in self.gates]
        return self._update(state, drives)

    def initial_state(self, batch_size):
        return tf.tile(self.init_hidden, [batch_size, 1])

    def forward_pass(self, x, noise=True):
        x = tf.convert_to_tensor(x, tf.float32)
        drives = tf.stack(self._input_drive(x, self.gates), axis=1)  # (T, 3, B, N_rec)
        hidden = tf.scan(
            lambda h, d: self._update(h, tf.unstack(d, num=3)),
            drives,
            initializer=self.initial_state(tf.shape(x)[0]),
        )
        return self._readout(hidden)
