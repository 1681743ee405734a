"""NumPy simulation of trained networks, with perturbations (never imports TensorFlow).

* :class:`BasicSimulator` — the leaky rate network (``Basic``), ``run_trials`` with
  ``t_connectivity``, recurrent noise and perturbations;
* :class:`LSTMSimulator`, :class:`GRUSimulator` — the gated models, written as one step
  on a :class:`SteppedSimulator` (the base of a new model's NumPy twin too);
* :class:`Silence`, :class:`Clamp`, :class:`Kick`, :class:`InputPerturbation` — what
  every simulator's ``run_trials(..., perturbations=[...])`` accepts.

Weights come from a model, a weight file or a weights dict; see
:mod:`psychrnn_widgets.simulation.base` for the constructor rules.
"""
from .base import Simulator
from .basic import BasicSimulator
from .gru import GRUSimulator
from .lstm import LSTMSimulator
from .perturbations import Clamp, InputPerturbation, Kick, Silence
from .stepping import SteppedSimulator

__all__ = ["Simulator", "SteppedSimulator", "BasicSimulator", "LSTMSimulator", "GRUSimulator",
           "Silence", "Clamp", "Kick", "InputPerturbation"]
