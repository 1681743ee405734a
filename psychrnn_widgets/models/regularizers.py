"""Regularisers (TensorFlow), PsychRNN's keys and maths.

Every term is a *mean* (not a sum) over the entries of an effective matrix, so its
weight does not depend on the network size:

    L1_in * mean|W_in_eff| + L1_rec * mean|W_rec_eff| + L1_out * mean|W_out_eff|
  + L2_in * mean(W_in_eff**2) + ... + L2_firing_rate * mean(f(states)**2)
  + custom_regularization(model, params)
"""
from ._tf import tf

REGULARIZER_KEYS = ("L1_in", "L1_rec", "L1_out", "L2_in", "L2_rec", "L2_out", "L2_firing_rate")


class Regularizer:
    """Collects the regularisation coefficients from ``params`` (all default to 0)."""

    def __init__(self, params):
        self.params = params
        self.coefficients = {key: float(params.get(key, 0.0) or 0.0) for key in REGULARIZER_KEYS}
        self.custom_regularization = params.get("custom_regularization")

    @property
    def active(self):
        return self.custom_regularization is not None or any(self.coefficients.values())

    def set_model_regularization(self, model, states):
        """Total regularisation for ``model`` given its ``states`` (B, T, N_rec), a scalar tensor."""
        c = self.coefficients
        reg = tf.constant(0.0)
        weight_terms = [
            ("in", model.get_effective_W_in),
            ("rec", model.get_effective_W_rec),
            ("out", model.get_effective_W_out),
        ]
        for suffix, getter in weight_terms:
            l1, l2 = c["L1_" + suffix], c["L2_" + suffix]
            if l1 or l2:
                W = getter()
                if l1:
                    reg += l1 * tf.reduce_mean(tf.abs(W))
                if l2:
                    reg += l2 * tf.reduce_mean(tf.square(W))
        if c["L2_firing_rate"]:
            reg += c["L2_firing_rate"] * tf.reduce_mean(tf.square(model.transfer_function(states)))
        if self.custom_regularization is not None:
            reg += tf.cast(self.custom_regularization(model, self.params), tf.float32)
        return reg
