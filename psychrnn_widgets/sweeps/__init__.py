"""Many networks: ensembles trained in one step, sweeps on ``dask.distributed``, a run registry.

Public names resolve lazily (``import psychrnn_widgets.sweeps`` imports neither TensorFlow
nor dask):

* :class:`Ensemble` (:mod:`.ensemble`) -- K same-shaped networks trained together;
  :class:`EnsembleTrainer` (:mod:`.ensemble_training`) holds their training state;
* :class:`Sweep` (:mod:`.sweep`) -- a base configuration and axes, one run per
  combination, trained in ensembles on ``dask.distributed`` (:mod:`.execution`,
  :mod:`.worker`) and recorded in a :class:`Registry` (:mod:`.registry`);
  :class:`RunSpec` (:mod:`.config`) is one run, :class:`SweepExecution` one pass.

Layering (DESIGN §2): above training and analysis, below the panels (a test holds it there).
"""
from .._lazy import lazy_names

_PUBLIC = {
    "Ensemble": "psychrnn_widgets.sweeps.ensemble",
    "EnsembleTrainer": "psychrnn_widgets.sweeps.ensemble_training",
    "Sweep": "psychrnn_widgets.sweeps.sweep",
    "SweepExecution": "psychrnn_widgets.sweeps.execution",
    "RunState": "psychrnn_widgets.sweeps.execution",
    "RunSpec": "psychrnn_widgets.sweeps.config",
    "Registry": "psychrnn_widgets.sweeps.registry",
    "train_group": "psychrnn_widgets.sweeps.worker",
}

__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
