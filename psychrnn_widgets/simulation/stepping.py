"""``SteppedSimulator``: a NumPy twin written as one step on a flat state (NumPy only).

A model's NumPy twin (DESIGN §8: the model class names it in its ``simulator``
attribute) writes the maths of one step; this base runs the trials around it -- the time
loop, the perturbations of :mod:`~psychrnn_widgets.simulation.perturbations`, the
checkpoints a background analysis uses to abandon a run -- so every twin offers the
analyses the same :meth:`SteppedSimulator.run_trials`.  The gated twins
(:class:`~psychrnn_widgets.simulation.lstm.LSTMSimulator`,
:class:`~psychrnn_widgets.simulation.gru.GRUSimulator`) are written this way; so is a
user's twin of a new model (``docs/new_model.md``).  ``BasicSimulator`` keeps its own,
faster loop (with ``t_connectivity`` and recurrent noise) and offers the same interface.

**The state.**  ``state_parts`` names the parts of the dynamical state, each
``(B, N_rec)``, kept side by side in one flat array ``(B, state_size)``,
``state_size = len(state_parts) * N_rec``, in the order of the TF model's
:meth:`~psychrnn_widgets.models.rnn.RNN.flatten_state`.  The first part is the units'
*activity*: what ``run_trials`` returns as ``states``, what the readout reads, and what
perturbations act on (``Silence`` sets it to 0 -- the unit sends nothing --, ``Clamp``
holds it, ``Kick`` adds to it).  For an LSTM the parts are ``('hidden', 'cell')``.

**To write a twin**, subclass and implement:

* ``_load_weights(cls, weights)``: read the arrays (``self._array(cls, weights, key, shape)``
  checks presence and shape) and set ``N_in``, ``N_rec``, ``N_out``;
* ``flat_initial_state(batch)`` -> ``(batch, state_size)``;
* ``step(state, drive)`` -> the next flat state, ``(B, state_size)``, given the step's
  ``drive`` (what :meth:`input_drive` made of the input; by default the input itself);
* ``readout(activity)``: ``(..., N_rec)`` -> ``(..., N_out)``;

and optionally ``input_drive(rnn_in)`` (state-independent work hoisted out of the loop,
``(..., N_in) -> (..., D)``) and ``rates(states)`` (what a unit transmits; default the
activity itself).
"""
import numpy as np

from ..errors import ParameterError
from .base import Simulator
from .perturbations import PerturbationPlan

__all__ = ["SteppedSimulator"]


class SteppedSimulator(Simulator):
    """Base of the NumPy twins written as one step (see the module docstring)."""

    #: time steps between two calls of ``run_trials``'s ``checkpoint``
    CHECKPOINT_EVERY = 25

    # ---------------------------------------------------------------- to write
    def flat_initial_state(self, batch_size):  # pragma: no cover - subclasses implement
        """The starting state of ``batch_size`` trials, (batch_size, state_size)."""
        raise NotImplementedError(f"{type(self).__name__} must implement flat_initial_state(batch_size)")

    def step(self, state, drive):  # pragma: no cover - subclasses implement
        """One noiseless step: flat ``state`` (B, state_size) and the step's ``drive`` -> (B, state_size)."""
        raise NotImplementedError(f"{type(self).__name__} must implement step(state, drive)")

    def readout(self, activity):  # pragma: no cover - subclasses implement
        """Outputs from the units' activity, (..., N_rec) -> (..., N_out)."""
        raise NotImplementedError(f"{type(self).__name__} must implement readout(activity)")

    def input_drive(self, rnn_in):
        """State-independent part of a step, computed for every step before the loop; default the input itself."""
        return rnn_in

    def rates(self, states):
        """What the units transmit, from ``states`` (..., N_rec): the activity itself."""
        return states

    def _next_state(self, state, rnn_in):
        return self.step(state, self.input_drive(rnn_in))

    # ---------------------------------------------------------------- the loop
    def run_trials(self, trial_input, noise=True, perturbations=None, checkpoint=None, full_state=False):
        """Run a batch of trials: ``(outputs (B, T, N_out), states (B, T, N_rec))``, ``dtype`` arrays.

        Args:
            trial_input: (B, T, N_in) inputs, any B and T.
            noise: accepted so that code can run every simulator alike; these twins have no
                recurrent noise, so it changes nothing.
            perturbations: ``Silence``, ``Clamp``, ``Kick``, ``InputPerturbation`` objects (or
                a list), acting on the units' activity (see the module docstring).
            checkpoint: optional ``checkpoint()`` called every ``CHECKPOINT_EVERY`` steps;
                raising from it abandons the run.
            full_state: return the whole flat state ``(B, T, state_size)`` as ``states``
                (an LSTM's hidden and cell side by side) instead of the activity.

        Returns:
            ``outputs`` read from the activity after each step, and ``states`` (see
            ``full_state``): ``states[:, k]`` is the state after step ``k``.
        """
        if checkpoint is not None and not callable(checkpoint):
            raise ParameterError(f"checkpoint must be None or a function taking no arguments, got "
                                 f"{type(checkpoint).__name__}", parameter="checkpoint", value=checkpoint)
        x = self.as_input_batch(trial_input)
        batch, n_steps, _ = x.shape
        n_rec = self.N_rec
        plan = PerturbationPlan(perturbations, n_steps, n_rec, self.N_in, batch, self.dtype)
        x = plan.perturb_inputs(x)
        drive = self.input_drive(np.ascontiguousarray(x.transpose(1, 0, 2)))  # (T, B, ...)
        state = np.asarray(self.flat_initial_state(batch), dtype=self.dtype)
        width = state.shape[1] if full_state else n_rec
        states = np.empty((n_steps, batch, width), dtype=self.dtype)
        for step in range(n_steps):
            if checkpoint is not None and step % self.CHECKPOINT_EVERY == 0:
                checkpoint()
            new_state = self.step(state, drive[step])
            if plan.acts[step]:
                plan.after_step(step, new_state[:, :n_rec], state[:, :n_rec])  # views: in place
            states[step] = new_state if full_state else new_state[:, :n_rec]
            state = new_state
        states = np.ascontiguousarray(states.transpose(1, 0, 2))
        return self.readout(states[..., :n_rec]), states
