"""Perturbations of a simulated trial: silence, clamp or kick units, perturb the inputs.

Small, declarative objects passed to
:meth:`~psychrnn_widgets.simulation.basic.BasicSimulator.run_trials` as
``perturbations=[...]`` (NumPy only).  None of this exists in PsychRNN (its issue #7 asks
for the state kick).

Time is counted in **steps** (integers), the index of ``run_trials``' time axis: step
``k`` integrates the input ``trial_input[:, k]`` (sampled at ``k * dt`` ms) and produces
``states[:, k]`` and ``outputs[:, k]``.  A window ``start, stop`` covers steps
``start <= k < stop`` (Python slice rules; ``stop=None`` means the end of the trial).
To convert from ms use ``simulator.step_of(time_ms)`` (``floor(time_ms / dt)``).

Effect on the steps ``k`` of a perturbation's window:

* ``Silence(units, start=0, stop=None)`` -- a lesion: the units send nothing.  Their
  firing rate counts as 0 in the recurrent input of update ``k`` and in
  ``outputs[:, k]`` (whatever the transfer function), and ``states[:, k, units]`` is set
  to 0.  After the window they restart from state 0.
* ``Clamp(units, value=None, start=0, stop=None)`` -- ``states[:, k, units] = value``;
  their rate ``f(value)`` drives the next update and the output.  ``value=None`` holds
  the state each trial's units had just before ``start``.
* ``Kick(step, delta, units=None)`` -- ``delta`` is added to ``states[:, step]`` once
  (after the noise); the network then evolves freely (PsychRNN issue #7).
* ``InputPerturbation(value, mode='add', start=0, stop=None, channels=None)`` --
  ``trial_input[:, k, channels]`` gets ``value`` added (``'add'``) or is replaced by it
  (``'replace'``) before the run; ``value`` may be a callable of the selected inputs.

Within one step, the new state is computed (with recurrent noise), then kicks are added,
then clamps set, then silences applied: a silenced unit stays silent whatever else is
asked of it.  Kicks, clamps and silences leave the states and outputs of every step
before their first one bit-identical to an unperturbed run with the same noise.

Units are an int, a sequence of ints in ``[0, N_rec)`` or a boolean mask of shape
``(N_rec,)``.  Everything is checked against the trial when ``run_trials`` is called; a
unit, step, window, channel or shape that does not fit raises
:class:`~psychrnn_widgets.errors.ParameterError` naming the perturbation and the problem.
"""
import operator

import numpy as np

from ..errors import ParameterError

__all__ = ["Silence", "Clamp", "Kick", "InputPerturbation", "PerturbationPlan"]

_TIME_HINT = "times are steps; convert ms with simulator.step_of(time_ms)"


# ----------------------------------------------------------------------------- checks
def _step_number(value, what, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{what} must be an integer step, got {value!r} ({_TIME_HINT})")
    try:
        value = operator.index(value)
    except TypeError:
        raise ParameterError(f"{what} must be an integer step, got {value!r} ({_TIME_HINT})") from None
    if value < 0:
        raise ParameterError(f"{what} must be >= 0, got {value} ({_TIME_HINT})")
    return int(value)


def _indices(values, size, what, noun):
    """Sorted unique indices in ``[0, size)`` from an int, a sequence of ints or a bool mask."""
    array = np.asarray(values)
    if array.dtype == np.bool_:
        if array.shape != (size,):
            raise ParameterError(f"{what}: a boolean {noun} mask must have shape ({size},), got {array.shape}")
        return np.flatnonzero(array)
    array = array.reshape(-1)
    if array.size == 0:
        return np.zeros(0, dtype=np.intp)
    if array.dtype.kind not in "iu":
        raise ParameterError(f"{what}: {noun}s must be integers or a boolean mask, got {values!r}")
    bad = array[(array < 0) | (array >= size)]
    if bad.size:
        raise ParameterError(f"{what}: {noun} {bad.tolist()} out of range; valid {noun}s are 0..{size - 1}")
    return np.unique(array).astype(np.intp)


def _fit_window(start, stop, n_steps, what):
    stop = n_steps if stop is None else stop
    if not start < stop <= n_steps:
        raise ParameterError(
            f"{what}: window start={start}, stop={stop} does not fit a trial of {n_steps} steps "
            f"(need 0 <= start < stop <= {n_steps}; {_TIME_HINT})"
        )
    return start, stop


def _broadcast(value, shape, what, dtype):
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ParameterError(f"{what} must be numeric, got {value!r}") from None
    if not np.isfinite(array).all():
        raise ParameterError(f"{what} must be finite, got {value!r}")
    try:
        return np.broadcast_to(array, shape)
    except ValueError:
        raise ParameterError(f"{what} has shape {array.shape}, which does not broadcast to {shape}") from None


# ------------------------------------------------------------------------ the objects
class _Windowed:
    def __init__(self, start, stop):
        name = type(self).__name__
        self.start = _step_number(start, f"{name}: start")
        self.stop = _step_number(stop, f"{name}: stop", allow_none=True)
        if self.stop is not None and self.stop <= self.start:
            raise ParameterError(f"{name}: stop={self.stop} must be > start={self.start} ({_TIME_HINT})")

    def _window_repr(self):
        return "" if self.start == 0 and self.stop is None else f", start={self.start}, stop={self.stop}"


class Silence(_Windowed):
    """Silence (lesion) ``units`` during steps ``[start, stop)`` (the whole trial by default).

    Their firing rate counts as 0 (they send nothing, whatever the transfer function) and
    their state reads 0 in that window.  ``units``: int, ints in ``[0, N_rec)`` or a bool
    mask ``(N_rec,)``.
    """

    def __init__(self, units, start=0, stop=None):
        super().__init__(start, stop)
        self.units = units

    def __repr__(self):
        return f"Silence(units={self.units!r}{self._window_repr()})"


class Clamp(_Windowed):
    """Hold ``units``' state at ``value`` during steps ``[start, stop)``.

    ``value``: a number, ``(n_units,)`` or ``(batch, n_units)`` (per trial); ``None``
    holds each trial's state just before ``start`` (``init_state`` when ``start == 0``).
    """

    def __init__(self, units, value=None, start=0, stop=None):
        super().__init__(start, stop)
        self.units = units
        self.value = value

    def __repr__(self):
        return f"Clamp(units={self.units!r}, value={self.value!r}{self._window_repr()})"


class Kick:
    """Add ``delta`` to the state at one step (``states[:, step] += delta``).

    ``delta``: ``(N_rec,)`` or ``(batch, N_rec)`` when ``units`` is None; a number,
    ``(n_units,)`` or ``(batch, n_units)`` when ``units`` selects some units.
    """

    def __init__(self, step, delta, units=None):
        self.step = _step_number(step, "Kick: step")
        self.delta = delta
        self.units = units

    def __repr__(self):
        units = "" if self.units is None else f", units={self.units!r}"
        return f"Kick(step={self.step}, delta=<{np.shape(self.delta)}>{units})"


class InputPerturbation(_Windowed):
    """Add to (``mode='add'``) or replace (``mode='replace'``) the inputs of steps ``[start, stop)``.

    ``value``: a number, an array broadcastable to ``(batch, stop - start, n_channels)``,
    or a callable receiving that slice of the inputs (a copy) and returning such an
    array.  ``channels``: input channels (ints in ``[0, N_in)`` or a bool mask), all by
    default.
    """

    def __init__(self, value, mode="add", start=0, stop=None, channels=None):
        super().__init__(start, stop)
        if mode not in ("add", "replace"):
            raise ParameterError(f"InputPerturbation: mode must be 'add' or 'replace', got {mode!r}")
        self.value, self.mode, self.channels = value, mode, channels

    def __repr__(self):
        channels = "" if self.channels is None else f", channels={self.channels!r}"
        value = "<callable>" if callable(self.value) else f"<{np.shape(self.value)}>"
        return f"InputPerturbation({value}, mode={self.mode!r}{self._window_repr()}{channels})"


_KINDS = (Silence, Clamp, Kick, InputPerturbation)


# --------------------------------------------------------------------------- the plan
class _ClampAt:
    """A clamp resolved for one run (remembers the held value when ``value`` is None)."""

    def __init__(self, units, value, start):
        self.units, self.value, self.start = units, value, start

    def apply(self, step, new_state, previous_state):
        if self.value is None and step == self.start:
            self.value = previous_state[:, self.units].copy()
        new_state[:, self.units] = self.value


class PerturbationPlan:
    """Perturbations resolved for one run of ``n_steps`` steps, ``batch`` trials.

    Attributes:
        silenced: bool ``(n_steps, n_rec)`` (or None): units whose rate is 0 at each step.
        rate_masks: list of ``(n_rec,)`` 1/0 arrays (dtype ``dtype``), the distinct
            non-trivial ``~silenced`` rows; ``rate_mask_index`` ``(n_steps,)`` points into it
            (-1: nothing silenced at that step).
        acts: bool ``(n_steps,)``: whether :meth:`after_step` changes anything at a step.
    """

    def __init__(self, perturbations, n_steps, n_rec, n_in, batch, dtype=np.float32):
        if perturbations is None:
            perturbations = []
        elif isinstance(perturbations, _KINDS):
            perturbations = [perturbations]
        perturbations = list(perturbations)
        for item in perturbations:
            if not isinstance(item, _KINDS):
                raise ParameterError(
                    "perturbations must be Silence, Clamp, Kick or InputPerturbation objects, "
                    f"got {type(item).__name__}: {item!r}"
                )
        self.n_steps, self.n_rec, self.n_in, self.batch, self.dtype = n_steps, n_rec, n_in, batch, np.dtype(dtype)
        self._inputs = []
        self._kicks = {}
        self._clamps = {}
        silenced = np.zeros((n_steps, n_rec), dtype=bool)
        for item in perturbations:
            name = repr(item)
            if isinstance(item, Silence):
                units = _indices(item.units, n_rec, name, "unit")
                start, stop = _fit_window(item.start, item.stop, n_steps, name)
                silenced[start:stop, units] = True
            elif isinstance(item, Clamp):
                units = _indices(item.units, n_rec, name, "unit")
                start, stop = _fit_window(item.start, item.stop, n_steps, name)
                value = None if item.value is None else _broadcast(
                    item.value, (batch, units.size), f"{name}: value", self.dtype)
                clamp = _ClampAt(units, value, start)
                for step in range(start, stop):
                    self._clamps.setdefault(step, []).append(clamp)
            elif isinstance(item, Kick):
                if item.step >= n_steps:
                    raise ParameterError(f"{name}: step {item.step} is outside a trial of {n_steps} steps "
                                         f"(0..{n_steps - 1}; {_TIME_HINT})")
                units = None if item.units is None else _indices(item.units, n_rec, name, "unit")
                shape = (batch, n_rec if units is None else units.size)
                delta = _broadcast(item.delta, shape, f"{name}: delta", self.dtype)
                self._kicks.setdefault(item.step, []).append((units, delta))
            else:
                channels = (np.arange(n_in) if item.channels is None
                            else _indices(item.channels, n_in, name, "channel"))
                start, stop = _fit_window(item.start, item.stop, n_steps, name)
                self._inputs.append((item, channels, start, stop, name))

        self.silenced = silenced if silenced.any() else None
        self.rate_masks = []
        self.rate_mask_index = np.full(n_steps, -1, dtype=np.intp)
        self._silenced_units = {}
        if self.silenced is not None:
            rows, inverse = np.unique(silenced, axis=0, return_inverse=True)
            inverse = np.asarray(inverse).reshape(-1)
            for row_index, row in enumerate(rows):
                if row.any():
                    steps = np.flatnonzero(inverse == row_index)
                    self.rate_mask_index[steps] = len(self.rate_masks)
                    self.rate_masks.append((~row).astype(self.dtype))
                    units = np.flatnonzero(row)
                    for step in steps:
                        self._silenced_units[int(step)] = units
        self.acts = np.zeros(n_steps, dtype=bool)
        for step in list(self._kicks) + list(self._clamps) + list(self._silenced_units):
            self.acts[step] = True

    @property
    def keep_rates(self):
        """``(n_steps, n_rec)`` 1/0 multiplier of the firing rates (None when nothing is silenced)."""
        return None if self.silenced is None else (~self.silenced).astype(self.dtype)

    def perturb_inputs(self, trial_input):
        """The inputs ``(batch, n_steps, n_in)`` with the input perturbations applied (a copy if any)."""
        if not self._inputs:
            return trial_input
        x = np.array(trial_input, dtype=self.dtype, copy=True)
        for item, channels, start, stop, name in self._inputs:
            selected = x[:, start:stop][:, :, channels]
            shape = selected.shape
            value = item.value(selected.copy()) if callable(item.value) else item.value
            value = _broadcast(value, shape, f"{name}: value", self.dtype)
            x[:, start:stop, channels] = selected + value if item.mode == "add" else value
        return x

    def after_step(self, step, new_state, previous_state):
        """Apply kicks, clamps and silences of ``step`` to ``new_state`` (B, N_rec), in place."""
        for units, delta in self._kicks.get(step, ()):
            if units is None:
                new_state += delta
            else:
                new_state[:, units] += delta
        for clamp in self._clamps.get(step, ()):
            clamp.apply(step, new_state, previous_state)
        units = self._silenced_units.get(step)
        if units is not None:
            new_state[:, units] = 0
        return new_state
