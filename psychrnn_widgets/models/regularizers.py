"""Regularisers (TensorFlow), PsychRNN's keys, maths and class.

Every term is a *mean* (not a sum) over the entries of an effective matrix, so its
weight does not depend on the network size:

    L1_in * mean|W_in_eff| + L1_rec * mean|W_rec_eff| + L1_out * mean|W_out_eff|
  + L2_in * mean(W_in_eff**2) + ... + L2_firing_rate * mean(f(states)**2)
  + custom_regularization(model, params)

``Regularizer(params)`` has PsychRNN's methods: ``set_model_regularization(model)``,
``L1_weight_reg(model)``, ``L2_weight_reg(model)``, ``L2_firing_rate_reg(model)`` (the
firing-rate term reads ``model.states``, as in PsychRNN: the batch being trained inside
the training step, the last batch after ``test`` or ``train``; see
:class:`~psychrnn_widgets.models.rnn.RNN`); the training step calls
``set_model_regularization(model, states)``.
"""
from ..errors import ParameterError
from ..params import NETWORK_PARAMS, REGULARIZER_KEYS
from ._tf import tf

__all__ = ["Regularizer", "REGULARIZER_KEYS", "mean_penalty"]

_MATRICES = (("in", "get_effective_W_in"), ("rec", "get_effective_W_rec"), ("out", "get_effective_W_out"))


def mean_penalty(values, norm, axis=None):
    """``mean |values|`` (``norm='L1'``) or ``mean values**2`` (``'L2'``) over ``axis`` (None: all entries).

    The one definition of a regularisation term; an ensemble passes the axes after its
    network axis to get one term per network.
    """
    return tf.reduce_mean(tf.abs(values) if norm == "L1" else tf.square(values), axis=axis)


class Regularizer:
    """Collects the regularisation coefficients from ``params`` (all default to 0, validated >= 0)."""

    def __init__(self, params):
        self.params = params
        self.coefficients = {
            key: NETWORK_PARAMS[key].validate(params.get(key) or 0.0) for key in REGULARIZER_KEYS
        }
        custom = params.get("custom_regularization")
        if custom is not None and not callable(custom):
            NETWORK_PARAMS["custom_regularization"].fail(custom, "network_params")
        self.custom_regularization = custom
        for key, value in self.coefficients.items():
            setattr(self, key, value)  # PsychRNN exposes them as attributes

    @property
    def active(self):
        return self.custom_regularization is not None or any(self.coefficients.values())

    def _weight_terms(self, model, norm):
        reg = tf.constant(0.0)
        for suffix, getter in _MATRICES:
            coefficient = self.coefficients[f"{norm}_{suffix}"]
            if coefficient:
                reg += coefficient * mean_penalty(getattr(model, getter)(), norm)
        return reg

    def L1_weight_reg(self, model):
        """``L1_in mean|W_in_eff| + L1_rec mean|W_rec_eff| + L1_out mean|W_out_eff|`` (a scalar tensor)."""
        return self._weight_terms(model, "L1")

    def L2_weight_reg(self, model):
        """``L2_in mean(W_in_eff^2) + L2_rec mean(W_rec_eff^2) + L2_out mean(W_out_eff^2)``."""
        return self._weight_terms(model, "L2")

    def L2_firing_rate_reg(self, model, states=None):
        """``L2_firing_rate * mean(f(states)^2)``; ``states`` default ``model.states`` (PsychRNN)."""
        if not self.coefficients["L2_firing_rate"]:
            return tf.constant(0.0)
        states = model.states if states is None else states
        return self.coefficients["L2_firing_rate"] * mean_penalty(model.transfer_function(states), "L2")

    def custom_term(self, model):
        """``custom_regularization(model, params)`` as a float32 scalar, or an error saying what it must return."""
        if self.custom_regularization is None:
            return tf.constant(0.0)
        value = self.custom_regularization(model, self.params)
        try:
            tensor = tf.convert_to_tensor(value)
        except (TypeError, ValueError):
            tensor = None
        if tensor is None or not (tensor.dtype.is_floating or tensor.dtype.is_integer):
            raise ParameterError(
                f"custom_regularization must return a number (a scalar tensor), got {type(value).__name__}; "
                "expected fn(model, params) -> scalar", parameter="custom_regularization", value=value)
        tensor = tf.cast(tensor, tf.float32)
        if tensor.shape.rank is not None and tensor.shape.rank != 0:
            raise ParameterError(
                f"custom_regularization must return a scalar, got a tensor of shape {tensor.shape}; expected "
                "fn(model, params) -> scalar (e.g. a tf.reduce_mean)", parameter="custom_regularization",
                value=tensor.shape)
        return tensor

    def set_model_regularization(self, model, states=None):
        """Total regularisation for ``model`` (a scalar tensor); ``states`` (B, T, N_rec) default ``model.states``."""
        return (self.L1_weight_reg(model) + self.L2_weight_reg(model) + self.L2_firing_rate_reg(model, states)
                + self.custom_term(model))
