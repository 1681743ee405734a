"""PsychRNN's ``train(model, ...)`` as a function (kept for code that imported it from here).

The epoch loop lives in :mod:`psychrnn_widgets.training.trainer`; ``train(model, source,
train_params)`` is ``Trainer.of(model).train(source, train_params)``.
"""
from .trainer import Trainer

__all__ = ["train"]


def train(model, source, train_params=None):
    """Train ``model`` on ``source``; see :meth:`psychrnn_widgets.training.trainer.Trainer.train`."""
    return Trainer.of(model).train(source, train_params)
