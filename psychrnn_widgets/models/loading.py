"""``load_model``: a network from a weight file (or weights dict) of any registered model class.

A weight file names its model class by its registered name (the ``model`` entry, see
:mod:`psychrnn_widgets.io.weight_files`); loading resolves that name through the model
catalog (:mod:`psychrnn_widgets.catalog`) -- a built-in, or a class registered in this
process -- and never imports anything because a file names it.  Files without the entry
(PsychRNN's) hold a ``Basic`` network.  The class rebuilds itself from the weights
(:meth:`~psychrnn_widgets.models.rnn.RNN.from_weights`).

    model = load_model("runs/lstm.npz")                       # an LSTM, ready to test or train
    model = load_model("mine.npz", {"N_feedforward_out": 32})  # a user class's own keys
"""
from os import PathLike

import numpy as np

from ..catalog import model_class
from ..errors import ParameterError

__all__ = ["load_model", "model_class_of"]


def model_class_of(weights, where="the weights"):
    """The model class a weights dict names (``'model'`` entry; none: ``Basic``), found in the catalog."""
    name = weights.get("model") if hasattr(weights, "get") else None
    if isinstance(name, np.ndarray):
        name = str(name.reshape(-1)[0]) if name.size == 1 else None
    return model_class("Basic" if name in (None, "") else str(name), where=where)


def load_model(source, network_params=None, name="loaded"):
    """A network holding the weights of ``source``, of the class the weights name.

    Args:
        source: a path to a weight file, or a weights dict (``get_weights()``,
            :func:`~psychrnn_widgets.io.weight_files.load_weights`).
        network_params: keys the weights do not carry (``N_steps``, ``N_batch``, a user
            class's own keys) or that override them.
        name: the model's name.

    Raises:
        UnknownClassError: the class the weights name is not registered in this process.
        ParameterError: ``source`` is neither a path nor a dict, or a weight does not fit.
    """
    from ..io.weight_files import load_weights

    where = "the weights"
    if isinstance(source, (str, PathLike)):
        where = str(source)
        source = load_weights(source)
    elif not hasattr(source, "keys"):
        raise ParameterError(f"load_model takes a weight file's path or a weights dict, got {type(source).__name__}",
                             parameter="source", value=source, allowed="a path or a dict of arrays")
    return model_class_of(source, where).from_weights(source, network_params, name=name)
