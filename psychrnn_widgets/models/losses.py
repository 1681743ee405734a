"""Loss functions ``fn(predictions, y, output_mask) -> scalar`` (TensorFlow), and PsychRNN's ``LossFunction``.

All tensors are (batch, time, N_out).  ``network_params['loss_function']`` names one of
the built-ins or a key of ``network_params`` that holds a custom function with the same
signature (PsychRNN's convention); a function may also be given directly.
"""
from ..errors import ParameterError
from ._tf import tf

__all__ = ["mean_squared_error", "binary_cross_entropy", "BUILTIN_LOSSES", "resolve_loss", "LossFunction"]


def mean_squared_error(predictions, y, output_mask):
    """Mean over all B*T*N_out entries of ``(mask * (predictions - y))**2``."""
    return tf.reduce_mean(tf.square(output_mask * (predictions - y)))


def binary_cross_entropy(predictions, y, output_mask):
    """Masked binary cross-entropy, targets in {0, 1}, predictions clipped to (eps, 1-eps)."""
    eps = 1e-7
    p = tf.clip_by_value(predictions, eps, 1.0 - eps)
    return tf.reduce_mean(output_mask * -(y * tf.math.log(p + eps) + (1.0 - y) * tf.math.log(1.0 - p + eps)))


BUILTIN_LOSSES = {
    "mean_squared_error": mean_squared_error,
    "binary_cross_entropy": binary_cross_entropy,
}


def resolve_loss(params):
    """Return ``(name, function)`` for ``params['loss_function']`` or raise ``ParameterError``."""
    name = params.get("loss_function", "mean_squared_error")
    if callable(name):
        return getattr(name, "__name__", "custom_loss"), name
    if name in BUILTIN_LOSSES:
        return name, BUILTIN_LOSSES[name]
    custom = params.get(name) if isinstance(name, str) else None
    if not callable(custom):
        raise ParameterError(
            f"unknown loss_function {name!r}: use 'mean_squared_error' or 'binary_cross_entropy', "
            f"or pass your function as network_params[{name!r}] = fn(predictions, y, output_mask)",
            parameter="loss_function", value=name)
    return name, custom


class LossFunction:
    """PsychRNN's ``LossFunction(params)``: ``set_model_loss(model)`` and the built-in losses as methods.

    ``type`` is the loss name; ``set_model_loss(model)`` evaluates it on the model's
    ``predictions``, ``y`` and ``output_mask``: the batch being trained inside the training
    step, the last training batch after ``train`` (see :class:`~psychrnn_widgets.models.rnn.RNN`).
    """

    def __init__(self, params):
        self.type, self.function = resolve_loss(params)
        self.custom_loss_function = None if self.type in BUILTIN_LOSSES else self.function

    def set_model_loss(self, model):
        return self.function(model.predictions, model.y, model.output_mask)

    @staticmethod
    def mean_squared_error(predictions, y, output_mask):
        return mean_squared_error(predictions, y, output_mask)

    @staticmethod
    def binary_cross_entropy(predictions, y, output_mask):
        return binary_cross_entropy(predictions, y, output_mask)
