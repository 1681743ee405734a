"""Loss functions ``fn(predictions, y, output_mask) -> scalar`` (TensorFlow), and PsychRNN's ``LossFunction``.

All tensors are (batch, time, N_out).  ``network_params['loss_function']`` names one of
the built-ins (:data:`~psychrnn_widgets.params.LOSS_FUNCTION_NAMES`) or a key of
``network_params`` that holds a custom function with the same signature (PsychRNN's
convention); a function may also be given directly.

PsychRNN's two: ``'mean_squared_error'`` (the default) and ``'binary_cross_entropy'``.
Beyond PsychRNN, ``'categorical_cross_entropy'``: the outputs are the logits of one choice
among ``N_out`` actions per step, as NeuroGym trains its networks (``torch.nn.CrossEntropyLoss``
on the ground-truth action); a task may prefer it (``Task.preferred_loss``, e.g.
:class:`~psychrnn_widgets.tasks.NeuroGymTask`), and ``get_task_params()`` then names it.
"""
from ..errors import ParameterError
from ._tf import tf

__all__ = ["mean_squared_error", "binary_cross_entropy", "categorical_cross_entropy", "BUILTIN_LOSSES",
           "resolve_loss", "LossFunction"]


def mean_squared_error(predictions, y, output_mask):
    """Mean over all B*T*N_out entries of ``(mask * (predictions - y))**2``."""
    return tf.reduce_mean(tf.square(output_mask * (predictions - y)))


def binary_cross_entropy(predictions, y, output_mask):
    """Masked binary cross-entropy, targets in {0, 1}, predictions clipped to (eps, 1-eps)."""
    eps = 1e-7
    p = tf.clip_by_value(predictions, eps, 1.0 - eps)
    return tf.reduce_mean(output_mask * -(y * tf.math.log(p + eps) + (1.0 - y) * tf.math.log(1.0 - p + eps)))


def categorical_cross_entropy(predictions, y, output_mask):
    """Cross-entropy of a softmax over the ``N_out`` outputs, against the target's largest channel.

    At each step the outputs are the logits of one choice among ``N_out`` actions, and the
    correct action is the channel where ``y`` is largest (a one-hot target, whatever its
    ``hi`` and ``lo``).  A step counts with the weight ``max(output_mask)`` over its channels;
    the loss is the weighted mean of ``-log softmax(predictions)[correct action]`` over the
    counted steps (0 when none counts).  With a 0/1 mask this is PyTorch's
    ``CrossEntropyLoss()`` over the steps the mask keeps, the loss of NeuroGym's supervised
    examples.
    """
    labels = tf.argmax(y, axis=-1)
    log_p = tf.nn.log_softmax(predictions, axis=-1)
    nll = -tf.reduce_sum(tf.one_hot(labels, tf.shape(predictions)[-1], dtype=log_p.dtype) * log_p, axis=-1)
    weight = tf.cast(tf.reduce_max(output_mask, axis=-1), log_p.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(weight * nll), tf.reduce_sum(weight))


#: the built-in losses by name (the names are declared in ``params.LOSS_FUNCTION_NAMES``, a test holds them equal)
BUILTIN_LOSSES = {
    "mean_squared_error": mean_squared_error,
    "binary_cross_entropy": binary_cross_entropy,
    "categorical_cross_entropy": categorical_cross_entropy,
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
            f"unknown loss_function {name!r}: use one of {', '.join(map(repr, BUILTIN_LOSSES))}, "
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

    @staticmethod
    def categorical_cross_entropy(predictions, y, output_mask):
        return categorical_cross_entropy(predictions, y, output_mask)
