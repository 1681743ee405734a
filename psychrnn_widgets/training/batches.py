"""Where training batches come from: a task, a generator or a curriculum, checked on the way in.

:class:`BatchSource` hands the training loop ``(x, y, mask)`` float32 arrays of matching
shapes, finite, from a Task (its ``training_batches()``, else ``batch_generator()``), any generator yielding
``(x, y, mask[, trial_params])``, or a Curriculum (whichever stage is current).  A batch
that is malformed is a :class:`~psychrnn_widgets.errors.ParameterError` naming the
source (the task's class) and the expected shapes -- not a TensorFlow error later.
No TensorFlow here.
"""
from inspect import isgenerator

import numpy as np

from ..errors import ParameterError

__all__ = ["BatchSource"]


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
