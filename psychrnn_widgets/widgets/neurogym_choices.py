"""NeuroGym's environments as choices of the task picker, when NeuroGym is installed (never required).

Whether NeuroGym is installed is asked of the import system (``importlib.util.find_spec``),
which imports nothing.  Importing NeuroGym takes about 3 s (it imports PyTorch), so the
picker first lists a single entry, :data:`LOAD_LABEL`; picking it imports NeuroGym and lists
its environments tagged ``'supervised'`` (those with a ground truth to learn) as
``"NeuroGym · <id>"`` (:data:`PREFIX`).  Each environment is made when it is picked, with the
``dt`` of the task shown before: ``NeuroGymTask(neurogym.make(id, dt=dt), ...)``.  Without
NeuroGym nothing is listed and nothing is imported.

No ipywidgets here: the panel (:mod:`psychrnn_widgets.widgets.task_panel`) shows these choices.
"""
from __future__ import annotations

import importlib
import importlib.util
import warnings

from psychrnn_widgets.tasks.neurogym_adapter import NeuroGymTask

__all__ = ["PREFIX", "LOAD_LABEL", "DEFAULT_ENVIRONMENT", "LOADER", "NeuroGymChoice", "installed",
           "environment_ids", "choices"]

#: how the picker names a NeuroGym environment: PREFIX + its id
PREFIX = "NeuroGym · "
#: the one entry listed until NeuroGym is imported
LOAD_LABEL = "NeuroGym environments…"
#: the environment shown once the list is loaded (when NeuroGym has it)
DEFAULT_ENVIRONMENT = "PerceptualDecisionMaking-v0"


class _Loader:
    """The picker entry :data:`LOAD_LABEL` stands for: picking it loads the environment list."""

    def __repr__(self):
        return "<NeuroGym environments, not loaded yet>"


#: the entry behind :data:`LOAD_LABEL`
LOADER = _Loader()


def installed():
    """True when NeuroGym can be imported (nothing is imported to find out)."""
    try:
        return importlib.util.find_spec("neurogym") is not None
    except (ImportError, ValueError):  # a broken or half-removed installation
        return False


def _neurogym():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's registration warnings about NeuroGym's metadata
        return importlib.import_module("neurogym")


def environment_ids():
    """NeuroGym's native environments tagged ``'supervised'``, sorted (imports NeuroGym)."""
    module = _neurogym()
    all_envs = getattr(module, "all_envs", None)
    if all_envs is None:  # NeuroGym 2.x keeps it in its registration module
        all_envs = importlib.import_module("neurogym.envs.registration").all_envs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sorted(all_envs(tag="supervised"))


class NeuroGymChoice:
    """One NeuroGym environment in the picker; the environment is made when it is first picked.

    Args:
        env_id: NeuroGym's id, e.g. ``'GoNogo-v0'``.

    Attributes:
        env: the environment made by :meth:`build` (None before).
    """

    def __init__(self, env_id):
        self.env_id = env_id
        self.env = None

    def build(self, dt, tau, N_batch, seed=None):
        """A :class:`~psychrnn_widgets.tasks.NeuroGymTask` on a new ``neurogym.make(env_id, dt=dt)``."""
        module = _neurogym()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = module.make(self.env_id, dt=dt)
        task = NeuroGymTask(env, N_batch=N_batch, tau=tau, seed=seed)
        self.env = env
        return task

    def owns(self, task):
        """Whether ``task`` draws its trials from this choice's environment (its controls rebuilt it)."""
        return self.env is not None and isinstance(task, NeuroGymTask) and task.env is self.env

    def __repr__(self):
        return f"NeuroGymChoice({self.env_id!r})"


def choices():
    """``{PREFIX + id: NeuroGymChoice(id)}`` for every supervised NeuroGym environment (imports NeuroGym)."""
    return {PREFIX + env_id: NeuroGymChoice(env_id) for env_id in environment_ids()}
