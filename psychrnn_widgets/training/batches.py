"""Where training batches come from: a task, a generator or a curriculum, checked on the way in.

:class:`BatchSource` hands the training loop ``(x, y, mask)`` float32 arrays of matching
shapes, finite, from a Task (its ``training_batches()``, else ``batch_generator()``), any generator yielding
``(x, y, mask[, trial_params])``, or a Curriculum (whichever stage is current).  A batch
that is malformed is a :class:`~psychrnn_widgets.errors.ParameterError` naming the
source (the task's class) and the expected shapes -- not a TensorFlow error later.
:class:`NetworkBatches` does the same for K networks trained together (one source for all,
or one each), stacking the batches along a leading network axis; :func:`batch_source`
picks the one a model needs.  No TensorFlow here.
"""
from inspect import isgenerator

import numpy as np

from ..errors import ParameterError

__all__ = ["BatchSource", "NetworkBatches", "batch_source"]


class BatchSource:
    """Next batch from a task, a generator or a curriculum; knows the current accuracy function."""

    def __init__(self, source, curriculum):
        self.curriculum = curriculum
        if curriculum is not None:
            self.task = None
            self.generator = curriculum.batch_generator()
        elif isgenerator(source) or (hasattr(source, "__next__") and not hasattr(source, "batch_generator")):
            self.task, self.generator = None, source
        elif hasattr(source, "batch_generator"):
            batches = getattr(source, "training_batches", source.batch_generator)
            self.task, self.generator = source, batches()
        else:
            raise ParameterError(
                f"train(trial_batch_generator, ...) needs a Task, a batch generator or train_params['curriculum'], "
                f"got {type(source).__name__}",
                parameter="trial_batch_generator", value=source)

    def current_task(self):
        if self.curriculum is not None:
            return self.curriculum.current_task
        return self.task

    def describe(self):
        """What to name in errors: the task's class, or 'the batch generator'."""
        task = self.current_task()
        return f"the task {type(task).__name__}" if task is not None else "the batch generator"

    def accuracy(self, y, outputs, mask):
        task = self.current_task()
        fn = getattr(task, "accuracy_function", None)
        if fn is None:
            return None
        try:
            value = fn(y, outputs, mask)
        except NotImplementedError:  # a user task without an accuracy function
            return None
        return None if value is None else float(value)

    def next(self, model):
        """``(x (B,T,N_in), y (B,T,N_out), mask (B,T,N_out))`` float32, checked against ``model``."""
        try:
            batch = next(self.generator)
        except StopIteration:
            raise ParameterError(f"{self.describe()} ran out of batches", parameter="trial_batch_generator") from None
        where = self.describe()
        if not isinstance(batch, (tuple, list)) or len(batch) < 3:
            raise ParameterError(f"{where} must yield (x, y, mask) or (x, y, mask, trial_params), got "
                                 f"{type(batch).__name__}", parameter="trial_batch_generator")
        x = model.as_input_batch(batch[0], f"x from {where}")
        shape = x.shape[:2] + (model.N_out,)
        arrays = []
        for name, value in (("y", batch[1]), ("mask", batch[2])):
            try:
                array = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError):
                raise ParameterError(f"{name} from {where} is not a numeric array", parameter=name) from None
            if array.shape != shape:
                raise ParameterError(
                    f"{name} from {where} has shape {array.shape}; with x of shape {x.shape} it must be "
                    f"(batch, time, N_out={model.N_out}) = {shape}", parameter=name, value=array.shape)
            if not np.isfinite(array).all():
                raise ParameterError(f"{name} from {where} holds NaN or infinite values", parameter=name)
            arrays.append(array)
        return x, arrays[0], arrays[1]


class NetworkBatches:
    """Batches for K networks trained together, stacked along a leading network axis.

    Args:
        sources: one Task or batch generator (the same trials for every network) or a list
            of K of them (each network its own trials).
        n_networks: K.
    """

    def __init__(self, sources, n_networks):
        self.n_networks = n_networks
        if isinstance(sources, (list, tuple)):
            if len(sources) != n_networks:
                raise ParameterError(f"training K={n_networks} networks needs one source for all of them or one per "
                                     f"network, got {len(sources)}", parameter="trial_batch_generator")
            self.sources = [BatchSource(s, None) for s in sources]
        else:
            self.sources = [BatchSource(sources, None)]

    def next(self, model):
        """``(x (K,B,T,N_in), y (K,B,T,N_out), mask (K,B,T,N_out))`` float32, each network's batch checked."""
        batches = [source.next(model) for source in self.sources]
        shape = batches[0][0].shape[:2]
        for k, batch in enumerate(batches[1:], start=1):
            if batch[0].shape[:2] != shape:
                raise ParameterError(f"the batch of network {k} has (batch, time) = {batch[0].shape[:2]} but network "
                                     f"0's has {shape}: the networks of an ensemble train on batches of one shape",
                                     parameter="trial_batch_generator")
        if len(batches) == 1:
            return tuple(np.broadcast_to(a, (self.n_networks,) + a.shape) for a in batches[0])
        return tuple(np.stack([b[i] for b in batches]) for i in range(3))

    def accuracy(self, y, outputs, mask):
        """(K,) accuracies of the networks' outputs (K,B,T,N_out) (NaN where a task has no accuracy function)."""
        values = []
        for k in range(self.n_networks):
            value = self.sources[k if len(self.sources) > 1 else 0].accuracy(y[k], outputs[k], mask[k])
            values.append(np.nan if value is None else value)
        return np.array(values)


def batch_source(source, curriculum=None, n_networks=None):
    """Where a model's training batches come from: a :class:`BatchSource`, or :class:`NetworkBatches` for K networks."""
    if n_networks is None:
        return BatchSource(source, curriculum)
    return NetworkBatches(source, n_networks)
