"""Lesions and perturbations: choose units, silence, clamp or kick them, compare before and after.

Everything runs through the NumPy simulator's perturbations
(:mod:`psychrnn_widgets.simulation.perturbations`) on the *same* trials before and
after (seeded batches, recurrent noise off), so the difference is the perturbation's
alone, and an empty lesion gives results identical to the intact network's.

Kinds: ``'silence'`` (the units send nothing: ``Silence``), ``'clamp'`` (their state held
at ``value``: ``Clamp``), ``'kick'`` (``delta`` added to their state once, at step
``step``: ``Kick``).  Times are steps; ``start``/``stop`` bound silence and clamp windows.
"""
from dataclasses import dataclass

import numpy as np

from ..params import ANALYSIS_PARAMS
from ..simulation.perturbations import Clamp, Kick, Silence
from ._inputs import array, declared, fail, indices
from ._results import AnalysisResult, level_colors
from ._source import as_simulator, excitatory_mask
from .behaviour import Behaviour, behaviour_and_states
from .conditions import condition_batch
from .pca import PCA, pca
from .units import condition_average

__all__ = ["KINDS", "select_units", "perturbations_for", "Lesion", "lesion"]

KINDS = ANALYSIS_PARAMS["kind"].choices  # ("silence", "clamp", "kick")


def select_units(source, by="index", units=None, selectivity=None, n=None, sign=1):
    """Unit indices (sorted int array) chosen by index, by E/I type or by selectivity.

    Args:
        source: a network (for N_rec and the E/I split).
        by: ``'index'`` (``units`` as given), ``'excitatory'``, ``'inhibitory'`` (all units of
            that type; none without Dale's law), ``'selectivity'`` (the ``n`` units with the
            largest ``sign * selectivity``: ``sign=1`` the choice-1-preferring ones, ``-1``
            the choice-0 ones; ``'abs'`` the most selective either way).
        units: indices in ``[0, N_rec)`` for ``by='index'`` (whole numbers).
        selectivity: (N_rec,) finite values for ``by='selectivity'``.
        n: how many units for ``by='selectivity'``, 1 to N_rec (default 10 % of N_rec, at
            least 1).
        sign: 1, -1 or ``'abs'`` (see ``by``).
    """
    where = "select_units"
    n, sign = declared(where, n=n, sign=sign)
    if by not in ("index", "excitatory", "inhibitory", "selectivity"):
        fail(where, "by", f"must be 'index', 'excitatory', 'inhibitory' or 'selectivity', got {by!r}", by,
             "'index', 'excitatory', 'inhibitory' or 'selectivity'")
    sim = as_simulator(source)
    if by == "index":
        return np.unique(indices([] if units is None else units, "units", where, sim.N_rec, "unit indices"))
    if by in ("excitatory", "inhibitory"):
        excitatory = excitatory_mask(sim)
        if sim.dale_ratio is None:
            return np.zeros(0, dtype=np.intp)
        return np.flatnonzero(excitatory if by == "excitatory" else ~excitatory)
    if by == "selectivity":
        if selectivity is None:
            fail(where, "selectivity", "is needed to choose units by selectivity (see unit_activity or "
                 "choice_selectivity)", None, "(N_rec,) values")
        values = array(selectivity, "selectivity", where, shape=(f"N_rec={sim.N_rec}",))
        values = np.abs(values) if sign == "abs" else float(sign) * values
        if n is not None and n > sim.N_rec:
            fail(where, "n", f"must be at most the network's {sim.N_rec} units, got {n}", n, f"1..{sim.N_rec}")
        count = max(1, sim.N_rec // 10) if n is None else n
        return np.sort(np.argsort(-values, kind="stable")[:count])


def perturbations_for(units, kind="silence", value=0.0, delta=1.0, step=0, start=0, stop=None):
    """The simulator perturbations for a lesion: a list (empty when ``units`` is empty).

    ``units``: whole numbers >= 0 (checked against the network when the trials run);
    ``kind``: ``'silence'``, ``'clamp'`` (state held at ``value``) or ``'kick'`` (``delta``
    added to the state at ``step``); ``start < stop`` bound silence and clamp (steps).
    """
    units = _units(units, "perturbations_for")
    return _perturbations(units, kind, value, delta, step, start, stop, "perturbations_for")


def _units(units, where, n_rec=None):
    """Unit indices (U,) int, whole numbers >= 0 (and < ``n_rec`` when given)."""
    if n_rec is not None:
        return indices(units, "units", where, n_rec, "unit indices")
    checked = array(np.atleast_1d(units) if np.ndim(units) == 0 and not isinstance(units, (str, bytes)) else units,
                    "units", where, shape=(None,), allow_empty=True, integer=True, what="unit indices >= 0")
    if np.any(checked < 0):
        fail(where, "units", f"must be unit indices >= 0, got {int(checked.min())}", units, "unit indices >= 0")
    return checked


def _perturbations(units, kind, value, delta, step, start, stop, where):
    kind, value, delta, step, start, stop = declared(where, kind=kind, value=value, delta=delta, step=step,
                                                     start=start, stop=stop)
    if stop is not None and stop <= start:
        fail(where, "stop", f"must be after start ({start}), got {stop}", stop, f"a step > {start} or None")
    units = units.astype(np.intp)
    if units.size == 0:
        return []
    if kind == "silence":
        return [Silence(units, start=start, stop=stop)]
    if kind == "clamp":
        return [Clamp(units, value=value, start=start, stop=stop)]
    return [Kick(step, delta, units=units)]


@dataclass(repr=False)
class Lesion(AnalysisResult):
    """The network's behaviour and trajectories before and after a perturbation.

    Attributes:
        units (U,): perturbed units; kind (str); perturbations (list of simulator objects).
        before, after: :class:`~psychrnn_widgets.analysis.behaviour.Behaviour`.
        accuracy_before, accuracy_after (float): fraction of correct choices over the
            curve's trials (every level, zero evidence included, so below 1 for a perfect
            network when the levels include zero or near-zero evidence).
        trajectories_before, trajectories_after (L, T, k): condition-averaged states on the
            principal components of the intact network's (``pca``).
        pca: :class:`~psychrnn_widgets.analysis.pca.PCA`.
    """

    units: np.ndarray
    kind: str
    perturbations: list
    before: Behaviour
    after: Behaviour
    accuracy_before: float
    accuracy_after: float
    trajectories_before: np.ndarray
    trajectories_after: np.ndarray
    pca: PCA
    figsize = (12.0, 3.6)

    def draw(self, figure):
        axes = figure.subplots(1, 3)
        self.before.psychometric.plot(axes[0], color="k", label=f"intact ({self.accuracy_before:.2f})")
        self.after.psychometric.plot(axes[0], color="#d62728", label=f"{self.kind} ({self.accuracy_after:.2f})")
        axes[0].legend(fontsize=7, title="accuracy", title_fontsize=7)
        axes[0].set_title(f"{self.kind} {len(self.units)} units", fontsize=9)
        self.before.traces.plot(axes[1], channel=1)
        self.after.traces.plot(axes[1], channel=1, linestyle="--")
        axes[1].set_title("output 1 (dashed: after)", fontsize=9)
        colors = level_colors(self.before.traces.levels)
        for trajectories, style in ((self.trajectories_before, "-"), (self.trajectories_after, "--")):
            for line, color in zip(trajectories, colors):
                axes[2].plot(line[:, 0], line[:, 1], style, lw=0.8, color=color)
        axes[2].set_xlabel("PC1")
        axes[2].set_ylabel("PC2")
        axes[2].set_title("trajectories (dashed: after)", fontsize=9)


def _averaged_states(states, batch):
    return condition_average(states, batch.level_index, len(batch.levels))[0]


def lesion(source, task=None, units=(), kind="silence", *, value=0.0, delta=1.0, step=0, start=0, stop=None,
           batch=None, trace_batch=None, levels=None, n_per_level=100, seed=0, n_components=3, baseline=None):
    """Compare the network before and after perturbing ``units``.

    Args:
        source: a network (model, weights dict, weight file or simulator).
        task: the task (or give ``batch`` with the task's timing for the curves and
            ``trace_batch`` with fixed timing for traces and trajectories).
        units: unit indices (see :func:`select_units`); empty: no perturbation.
        kind, value, delta, step, start, stop: see :func:`perturbations_for`.
        baseline: a previous :class:`Lesion` of the same network and trials whose ``before``
            is reused (the panel keeps one so that each new lesion runs once).

    Returns:
        :class:`Lesion`.  With no units, ``after`` is ``before`` (identical values).
    """
    where = "lesion"
    n_per_level, seed, n_components = declared(where, n_per_level=n_per_level, seed=seed, n_components=n_components)
    if baseline is not None and not isinstance(baseline, Lesion):
        fail(where, "baseline", f"must be a Lesion of the same network and trials or None, got "
             f"{type(baseline).__name__}", baseline, "a Lesion or None")
    sim = as_simulator(source)
    units = np.unique(_units(units, where, sim.N_rec))
    perturbations = _perturbations(units, kind, value, delta, step, start, stop, where)
    if batch is None:
        batch = condition_batch(task, levels=levels, n_per_level=n_per_level, seed=seed)
    if trace_batch is None:
        trace_batch = condition_batch(task, levels=batch.levels, n_per_level=max(1, n_per_level // 5), seed=seed,
                                      fixed_timing=True)
    if baseline is not None:
        before, fitted, trajectories_before = baseline.before, baseline.pca, baseline.trajectories_before
    else:
        before, run = behaviour_and_states(sim, batch=batch, trace_batch=trace_batch)
        states = _averaged_states(run[1], trace_batch)
        fitted = pca(states, n_components)
        trajectories_before = fitted.transform(states)
    if perturbations:
        after, run = behaviour_and_states(sim, batch=batch, trace_batch=trace_batch, perturbations=perturbations)
        trajectories_after = fitted.transform(_averaged_states(run[1], trace_batch))
    else:
        after, trajectories_after = before, trajectories_before
    return Lesion(units=units, kind=kind, perturbations=perturbations, before=before, after=after,
                  accuracy_before=before.psychometric.accuracy, accuracy_after=after.psychometric.accuracy,
                  trajectories_before=trajectories_before, trajectories_after=trajectories_after, pca=fitted)
