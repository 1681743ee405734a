"""Describing a batch of trials: periods, inputs, targets, masks and noise, vectorised over trials.

A task's :meth:`~psychrnn_widgets.tasks.task.Task.describe_trials` receives a
:class:`Trials` object holding the trial parameters of a whole batch (one value per
trial) and says, in NeuroGym's vocabulary but for all trials at once:

* **periods** -- named time windows in ms, one start and end per trial
  (:meth:`Trials.period`); consecutive periods follow each other by default;
* **inputs** added during a period on some channels (:meth:`Trials.add_input`);
* **targets** and **mask** values set during a period (:meth:`Trials.set_target`,
  :meth:`Trials.set_mask`; the mask is 0 wherever nothing sets it);
* **input noise**: Gaussian, drawn per time step and channel (:meth:`Trials.add_noise`);
* **metadata** for analysis, e.g. the correct choice (:meth:`Trials.note`).

Nothing is drawn at random while describing: the trial parameters were sampled before
(:meth:`~psychrnn_widgets.tasks.task.Task.sample_trials`) and the noise is drawn when the
description is rendered.  The same description therefore gives the batch (every step
of every trial at once) and PsychRNN's ``trial_function(time, params)`` (one trial at
one time): both are rendered from it by :meth:`Trials.render`.

Values (``value`` arguments) are given per trial and per channel, as one of

* a number -- every trial, every selected channel;
* an array ``(n,)`` -- one value per trial, the same on every selected channel;
* an array ``(n, C)`` -- per trial and per selected channel (``C`` channels selected);
* an array ``(1, C)`` -- per channel, the same for every trial;
* an array ``(n, S, C)`` -- a time series per trial: ``[:, s]`` holds step ``s`` (time
  ``s * dt`` ms); steps past ``S`` get nothing (e.g. recorded NeuroGym observations).

A ``period`` argument is a period name, a list of names (the value applies in each;
they should not overlap for :meth:`Trials.add_input`) or None (the whole trial).  A
``channel`` argument is None (every channel), an int or a sequence of ints.

NumPy only.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from psychrnn_widgets.errors import ParameterError

__all__ = ["Period", "Trials", "one_hot"]

#: edge conventions of a period: which of its ends belong to it (pandas' names)
CLOSED = ("left", "right", "both", "neither")


class Period(NamedTuple):
    """A named time window per trial: ``start`` and ``end`` arrays (n,) in ms, ``closed`` in :data:`CLOSED`.

    ``closed='left'`` (the default) is ``start <= t < end``, ``'right'`` is
    ``start < t <= end``, ``'both'`` and ``'neither'`` as they say.  ``end`` may be
    ``inf`` (until the trial ends).
    """

    start: np.ndarray
    end: np.ndarray
    closed: str = "left"

    def window(self, times):
        """Boolean (n, len(times)): whether each step time (ms) lies in the period."""
        s, e = self.start[:, None], self.end[:, None]
        left = (s <= times) if self.closed in ("left", "both") else (s < times)
        right = (times <= e) if self.closed in ("right", "both") else (times < e)
        return left & right


def one_hot(index, n_channels, on=1.0, off=0.0):
    """Per-trial values (n, n_channels): ``on`` at channel ``index[i]`` of trial ``i``, ``off`` elsewhere.

    ``on`` may be a number or an array (n,).  Returns float64.
    """
    index = np.asarray(index).astype(np.intp).reshape(-1)
    values = np.full((index.size, int(n_channels)), float(off))
    values[np.arange(index.size), index] = on
    return values


class _Op(NamedTuple):
    array: str          # 'x', 'y' or 'mask'
    add: bool           # True: add; False: set
    rows: np.ndarray    # root rows (None: all)
    period: Period      # None: whole trial
    channels: tuple
    values: np.ndarray  # (m, len(channels)) float64


_WHOLE_TRIAL = None


class Trials:
    """A batch of ``n`` trials being described (see the module docstring).

    Attributes:
        task: the task describing them.
        n (int): number of trials.
        times (ndarray): the step times in ms (N_steps,) (one time for ``trial_function``).
        dt, T (float): the task's time step and trial length (ms).
        periods (dict): name -> :class:`Period`, in the order they were added.
        notes (dict): name -> per-trial metadata array (n,).
    """

    def __init__(self, task, params, times, *, rows=None, root=None):
        self.task = task
        self._params = params
        self._columns = {}
        self.times = np.asarray(times, dtype=np.float64)
        if isinstance(params, dict):
            lengths = {np.shape(v)[0] if np.ndim(v) else 1 for v in params.values()}
            self.n = max(lengths) if lengths else 0
        else:
            self.n = len(params)
        self.dt = float(task.dt)
        self.T = float(task.T)
        self.periods = {}
        self.notes = {}
        self._cursor = np.zeros(self.n)
        self._rows = rows
        self._root = self if root is None else root
        if root is None:
            self._ops = []
            self._noise = None
            self._tables = [self]
        else:
            root._tables.append(self)

    # ------------------------------------------------------------ parameters
    def __getitem__(self, key):
        """The trial parameter ``key`` as an array (n,) (or (n, ...) for list-valued parameters)."""
        column = self._columns.get(key)
        if column is None:
            try:
                if isinstance(self._params, dict):
                    column = np.asarray(self._params[key])
                else:
                    column = np.asarray([p[key] for p in self._params])
            except KeyError:
                raise ParameterError(f"{type(self.task).__name__} trial params need the key {key!r}",
                                     parameter=key) from None
            self._columns[key] = column
        return column

    def __contains__(self, key):
        if isinstance(self._params, dict):
            return key in self._params
        return all(key in p for p in self._params)

    def get(self, key, default=None):
        """``self[key]``, or ``default`` (broadcast to (n,)) when the trials do not have it."""
        if key in self:
            return self[key]
        return np.full(self.n, default)

    # ------------------------------------------------------------ periods
    def _per_trial(self, value, what):
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 0:
            return np.full(self.n, float(value))
        if value.shape != (self.n,):
            raise ValueError(f"{type(self.task).__name__}: {what} must be a number or an array of shape "
                             f"({self.n},) (one per trial), got shape {value.shape}")
        return value

    def period(self, name, duration=None, *, start=None, end=None, closed="left"):
        """Add the period ``name`` and return it.

        Args:
            name (str): a new period name ('fixation', 'stimulus', 'delay', 'decision'...).
            duration: ms, a number or (n,); or give ``end`` instead.
            start: ms, a number or (n,); default the end of the previously added period
                (0 for the first one), so consecutive calls lay periods end to end.
            end: ms, a number or (n,) (``inf``: until the trial ends).
            closed: which ends belong to the period, one of :data:`CLOSED`.

        Returns:
            Period
        """
        if name in self.periods:
            raise ValueError(f"{type(self.task).__name__}: period {name!r} is defined twice")
        if closed not in CLOSED:
            raise ValueError(f"closed must be one of {CLOSED}, got {closed!r}")
        if (duration is None) == (end is None):
            raise ValueError(f"period {name!r}: give exactly one of duration and end")
        start = self._cursor if start is None else self._per_trial(start, f"start of period {name!r}")
        if duration is not None:
            end = start + self._per_trial(duration, f"duration of period {name!r}")
        else:
            end = self._per_trial(end, f"end of period {name!r}")
        period = Period(start, end, closed)
        self.periods[name] = period
        self._cursor = end
        return period

    def periods_in_sequence(self, durations, start=None):
        """Add consecutive periods from ``{name: duration}`` (ms, numbers or (n,) arrays)."""
        if start is not None:
            self._cursor = self._per_trial(start, "start")
        return [self.period(name, duration) for name, duration in durations.items()]

    def window(self, period):
        """Boolean (n, N_steps): steps inside ``period`` (a name, a list of names or None)."""
        on = np.zeros((self.n, self.times.size), dtype=bool)
        for p in self._resolve(period):
            on |= True if p is _WHOLE_TRIAL else p.window(self.times)
        return on

    def _resolve(self, period):
        if period is None:
            return [_WHOLE_TRIAL]
        if isinstance(period, Period):
            return [period]
        names = [period] if isinstance(period, str) else list(period)
        try:
            return [self.periods[name] for name in names]
        except KeyError as err:
            raise ValueError(f"{type(self.task).__name__}: unknown period {err.args[0]!r}; defined: "
                             f"{', '.join(self.periods) or 'none'}") from None

    # ------------------------------------------------------------ channels and values
    def _channels(self, channel, size, what):
        """The channels named by ``channel`` (None, an int or a set of distinct ints), as a tuple.

        A channel argument names *which channels* a value goes to, the same for every
        trial.  Per-trial channels (an array with one entry per trial, e.g. ``trials['choice']``)
        and repeated channels are refused: they used to be read as a set of channels and
        silently set every trial's target on all of them.
        """
        name = type(self.task).__name__
        per_trial = ("to set one channel per trial, give per-trial values over all channels instead, e.g. "
                     f"trials.set_target(one_hot(trials['choice'], {size}), period) (one_hot is in "
                     "psychrnn_widgets.tasks)")
        if channel is None:
            return tuple(range(size))
        if isinstance(channel, (numbers.Integral, np.integer)) and not isinstance(channel, bool):
            channels = (int(channel),)
        else:
            if isinstance(channel, np.ndarray) and channel.ndim == 1 and channel.size == self.n and self.n > 1:
                raise ParameterError(f"{name}: the {what} channel argument is an array with one entry per trial "
                                     f"({self.n}); channel names the same channels for every trial. "
                                     + per_trial, parameter="channel", value=channel)
            try:
                items = list(channel)
            except TypeError:
                raise ParameterError(f"{name}: {what} channel must be None, an int or a sequence of ints, got "
                                     f"{type(channel).__name__}", parameter="channel", value=channel) from None
            if not items or any(isinstance(c, (bool, np.bool_)) or not isinstance(c, (numbers.Integral, np.integer))
                                for c in items):
                raise ParameterError(f"{name}: {what} channel must be None, an int or a non-empty sequence of "
                                     f"ints, got {channel!r}", parameter="channel", value=channel)
            channels = tuple(int(c) for c in items)
            if len(set(channels)) != len(channels):
                raise ParameterError(f"{name}: {what} channel {channels} names a channel more than once; channel is "
                                     "a set of distinct channels, the same for every trial. " + per_trial,
                                     parameter="channel", value=channel)
        bad = [c for c in channels if not 0 <= c < size]
        if bad:
            raise ValueError(f"{name}: {what} channel {bad[0]} is out of range (the task has {size})")
        return channels

    def _values(self, value, n_channels, what):
        value = np.asarray(value, dtype=np.float64)
        n = self.n
        if value.ndim == 0:
            return np.full((n, n_channels), float(value))
        if value.ndim == 1 and value.shape[0] == n:
            return np.repeat(value[:, None], n_channels, axis=1)
        if value.ndim == 2 and value.shape[1] == n_channels and value.shape[0] in (1, n):
            return np.broadcast_to(value, (n, n_channels))
        if value.ndim == 3 and value.shape[2] == n_channels and value.shape[0] in (1, n):
            return np.broadcast_to(value, (n,) + value.shape[1:])
        raise ValueError(
            f"{type(self.task).__name__}: {what} values must have shape (), ({n},), ({n}, {n_channels}), "
            f"(1, {n_channels}) or ({n}, steps, {n_channels}) for {n} trials and {n_channels} channels, got shape "
            f"{value.shape}")

    def _record(self, array, add, value, period, channel, size, what):
        channels = self._channels(channel, size, what)
        values = self._values(value, len(channels), what)
        for p in self._resolve(period):
            self._root._ops.append(_Op(array, add, self._rows, p, channels, values))

    # ------------------------------------------------------------ the description
    def add_input(self, value, period=None, channel=None):
        """Add ``value`` to the input channels ``channel`` during ``period``."""
        self._record("x", True, value, period, channel, self.task.N_in, "input")

    def set_target(self, value, period=None, channel=None):
        """Set the target of output channels ``channel`` to ``value`` during ``period`` (0 elsewhere)."""
        self._record("y", False, value, period, channel, self.task.N_out, "target")

    def set_mask(self, value=1.0, period=None, channel=None):
        """Set the mask (the loss weight, usually 1) during ``period`` (0 wherever nothing sets it)."""
        self._record("mask", False, value, period, channel, self.task.N_out, "mask")

    def add_noise(self, std, channel=None):
        """Gaussian input noise, ``N(0, std**2)`` independently per step, channel and trial.

        ``std`` is a number or an array (n,) (per trial).  Drawn only when the batch is
        rendered with noise; a later call replaces the std of the channels it names.
        """
        channels = self._channels(channel, self.task.N_in, "noise")
        std = self._per_trial(std, "noise std")
        root = self._root
        if root._noise is None:
            root._noise = np.zeros((root.n, root.task.N_in))
        rows = slice(None) if self._rows is None else self._rows
        block = root._noise[rows]
        block[:, list(channels)] = std[:, None]
        root._noise[rows] = block

    def note(self, **values):
        """Record per-trial metadata (numbers or arrays (n,)), e.g. ``choice=...``, ``evidence=...``."""
        for name, value in values.items():
            value = np.asarray(value)
            self.notes[name] = np.broadcast_to(value, (self.n,)) if value.ndim == 0 else value

    def subset(self, task, rows, params):
        """A :class:`Trials` for the trials ``rows`` of this batch, described by ``task``.

        For tasks made of other tasks (:class:`~psychrnn_widgets.tasks.multitask.MultiTask`):
        ``task`` describes those trials with its own ``describe_trials``, on the same
        channels (``task.N_in <= self.task.N_in``...), from ``params`` (its own parameters).
        """
        rows = np.asarray(rows, dtype=np.intp)
        root_rows = rows if self._rows is None else self._rows[rows]
        return Trials(task, params, self.times, rows=root_rows, root=self._root)

    # ------------------------------------------------------------ rendering
    def render(self, noise=True, rng=None, one_step=False):
        """``x (n, N_steps, N_in)``, ``y`` and ``mask (n, N_steps, N_out)`` from the description.

        Args:
            noise (bool): draw the input noise (from ``rng``).
            rng (numpy.random.Generator): the task's generator.
            one_step (bool): PsychRNN's per-step rendering (one trial, one time): float64
                arithmetic and noise drawn as ``std * rng.standard_normal(N_in)``, only when
                ``std`` is not 0.  Otherwise float32, with the whole batch's noise drawn at once.
        """
        if self._root is not self:
            raise RuntimeError("render the root Trials, not a subset")
        task = self.task
        n, steps = self.n, self.times.size
        dtype = np.float64 if one_step else np.float32
        std = self._noise if noise else None
        if std is None:
            x = np.zeros((n, steps, task.N_in), dtype=dtype)
        elif one_step:
            x = np.zeros((n, steps, task.N_in), dtype=dtype)
            if np.any(std):
                x[0, 0] += std[0] * rng.standard_normal(task.N_in)
        else:
            x = rng.standard_normal((n, steps, task.N_in), dtype=np.float32)
            x *= std.astype(np.float32)[:, None, :]
        y = np.zeros((n, steps, task.N_out), dtype=dtype)
        mask = np.zeros((n, steps, task.N_out), dtype=dtype)
        arrays = {"x": x, "y": y, "mask": mask}
        windows = {}  # period -> its window, computed once per rendering
        for op in self._ops:
            n_rows = op.values.shape[0]
            key = ("whole trial", n_rows) if op.period is _WHOLE_TRIAL else id(op.period)
            if key not in windows:
                windows[key] = (np.ones((n_rows, self.times.size), dtype=bool) if op.period is _WHOLE_TRIAL
                                else op.period.window(self.times))
            _apply(arrays[op.array], op, windows[key], self.times, self.dt, dtype)
        return x, y, mask

    def metadata(self):
        """Per-trial dicts of the notes and ``'epochs'``: ``{period: (start, end)}`` in ms, clipped to the trial."""
        if self._root is not self:
            raise RuntimeError("ask the root Trials for the metadata")
        out = [{} for _ in range(self.n)]
        t_end = float(self.times.size * self.dt)
        for table in self._tables:
            rows = range(self.n) if table._rows is None else table._rows.tolist()
            for name, values in table.notes.items():
                for r, v in zip(rows, values.tolist()):
                    out[r][name] = v
            epochs = {name: (np.clip(p.start, 0.0, t_end).tolist(), np.clip(p.end, 0.0, t_end).tolist())
                      for name, p in table.periods.items()}
            for i, r in enumerate(rows):
                out[r].setdefault("epochs", {}).update({name: (s[i], e[i]) for name, (s, e) in epochs.items()})
        return out


def _apply(array, op, on, times, dt, dtype):
    """Apply one recorded op to ``array`` (n, steps, C) in place; ``on`` is its period's window (m, steps)."""
    rows = op.rows
    target = array if rows is None else array[rows]
    values = op.values
    if values.ndim == 3:  # a time series: step s of the series at time s * dt
        step = np.rint(times / dt).astype(np.intp)
        inside = step < values.shape[1]
        values = values[:, np.minimum(step, values.shape[1] - 1), :] * inside[None, :, None]
        on = on & inside
    else:
        values = values[:, None, :]
    values = values.astype(dtype)
    if op.add:
        weight = on.astype(dtype)
        for k, c in enumerate(op.channels):
            target[:, :, c] += weight * values[:, :, k]
    else:
        for k, c in enumerate(op.channels):
            np.copyto(target[:, :, c], values[:, :, k], where=on)
    if rows is not None:
        array[rows] = target
