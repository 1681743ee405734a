"""Many networks: sweeps on ``dask.distributed`` and a run registry.

Public names resolve lazily (``import psychrnn_widgets.sweeps`` imports neither TensorFlow
nor dask):

* :class:`Sweep` (:mod:`.sweep`) -- a base configuration and axes, one run per
  combination, trained in ensembles on ``dask.distributed`` (:mod:`.execution`,
  :mod:`.worker`) and recorded in a :class:`Registry` (:mod:`.registry`);
  :class:`RunSpec` (:mod:`.config`) is one run, :class:`SweepExecution` one pass;
* :class:`Ensemble` and :class:`EnsembleTrainer` are re-exported here: K same-shaped
  networks trained together are a model with a network axis
  (:mod:`psychrnn_widgets.models.ensemble`) and its trainer is the one
  :class:`~psychrnn_widgets.training.trainer.Trainer`.  This package configures, executes
  and records; it defines no model and no training step (a test holds it to that).

Layering (DESIGN §2): above training and analysis, below the panels (a test holds it there).
"""
from .._lazy import lazy_names

_PUBLIC = {
    "Ensemble": "psychrnn_widgets.models.ensemble",
    "EnsembleTrainer": "psychrnn_widgets.training.trainer",
    "Sweep": "psychrnn_widgets.sweeps.sweep",
    "SweepExecution": "psychrnn_widgets.sweeps.execution",
    "RunState": "psychrnn_widgets.sweeps.execution",
    "RunSpec": "psychrnn_widgets.sweeps.config",
    "Registry": "psychrnn_widgets.sweeps.registry",
    "train_group": "psychrnn_widgets.sweeps.worker",
}

__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
