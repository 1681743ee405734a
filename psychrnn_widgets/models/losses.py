"""Loss functions ``fn(predictions, y, output_mask) -> scalar`` (TensorFlow).

All tensors are (batch, time, N_out).  ``network_params['loss_function']`` names one of
the built-ins or a key of ``network_params`` that holds a custom function with the same
signature (PsychRNN's convention).
"""
from ..errors import ParameterError
from ._tf import tf


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
    custom = params.get(name)
    if not callable(custom):
        raise ParameterError(
            f"unknown loss_function {name!r}: use 'mean_squared_error' or 'binary_cross_entropy', "
            f"or pass your function as network_params[{name!r}] = fn(predictions, y, output_mask)"
        )
    return name, custom
