"""What the units do: firing rates by condition (PSTHs), choice selectivity, unit orderings.

Rates are ``f(state)`` (the transfer function of the pre-activation state), in the
network's own units (dimensionless; relu rates are >= 0); times in ms.  Conditions are
the evidence levels of a :class:`~psychrnn_widgets.analysis.conditions.ConditionBatch`
(fixed trial timing, so that averages over trials line up).

**Choice selectivity** of a unit: the d' of its time-mean rate between trials the
network answered 1 and trials it answered 0,
``(mean_1 - mean_0) / sqrt((var_1 + var_0) / 2)`` (0 when both variances are 0), over a
window (default: from stimulus onset to the end).  Positive: the unit prefers choice 1.
It needs trials of both choices: with one choice only d' is undefined
(:func:`choice_selectivity` refuses such data; :func:`unit_activity` reports NaN).
"""
from dataclasses import dataclass

import numpy as np

from ._inputs import array, declared, fail, indices
from ._results import AnalysisResult, level_colors
from ._source import as_simulator, excitatory_mask
from .behaviour import run_batch
from .conditions import condition_batch

__all__ = ["condition_average", "choice_selectivity", "both_choices", "unit_order", "UnitActivity", "unit_activity",
           "psth"]


def condition_average(values, group, n_groups=None):
    """Mean and standard error of ``values`` (B, ...) over the trials of each group.

    ``values`` (B, ...) finite; ``group`` (B,) whole numbers in ``[0, n_groups)``
    (``n_groups`` default ``max(group) + 1``).  Returns ``(mean (G, ...), sem (G, ...),
    count (G,))``; NaN for groups without trials, sem 0 for one trial.
    """
    return _condition_average(values, group, n_groups, "condition_average", "values")


def _condition_average(values, group, n_groups, where, name):
    values = array(values, name, where, min_ndim=1)
    group = array(group, "group", where, shape=(f"B={values.shape[0]}",), integer=True)
    n_groups = declared(where, n_groups=n_groups)
    G = int(n_groups if n_groups is not None else group.max() + 1)
    if group.min() < 0 or group.max() >= G:
        fail(where, "group", f"must be condition indices in 0..{G - 1}, got {int(group.min())}..{int(group.max())}",
             group, f"whole numbers in 0..{G - 1}")
    shape = (G,) + values.shape[1:]
    mean, sem = np.full(shape, np.nan), np.full(shape, np.nan)
    count = np.bincount(group, minlength=G)[:G]
    for g in range(G):
        chosen = values[group == g]
        if chosen.shape[0]:
            mean[g] = chosen.mean(axis=0)
            sem[g] = chosen.std(axis=0, ddof=1) / np.sqrt(chosen.shape[0]) if chosen.shape[0] > 1 else 0.0
    return mean, sem, count


def psth(rates, group, units=None, n_groups=None):
    """Peri-stimulus time histograms: mean rate per group, ``(mean (G, T, U), sem (G, T, U), count (G,))``.

    ``rates`` (B, T, N_rec) finite; ``group`` (B,) condition index (whole numbers in
    ``[0, n_groups)``); ``units`` the unit indices in ``[0, N_rec)`` (default all, in order).
    """
    rates = array(rates, "rates", "psth", shape=("B", "T", "N_rec"))
    if units is not None:
        rates = rates[:, :, indices(units, "units", "psth", rates.shape[2], "unit indices")]
    return _condition_average(rates, group, n_groups, "psth", "rates")


def both_choices(choices):
    """Whether ``choices`` (B,) holds trials of choice 0 and of choice 1 (what :func:`choice_selectivity` needs)."""
    choices = np.asarray(choices)
    return bool(np.any(choices == 0) and np.any(choices == 1))


def choice_selectivity(rates, choices, window=None):
    """Choice d' of every unit (see the module docstring), float (N_rec,).

    ``rates`` (B, T, N_rec) finite; ``choices`` (B,) whole numbers, trials of choice 0 and
    of choice 1 both present (others, e.g. -1 for undecided, are left out); ``window`` a
    ``(start, stop)`` step range within the trial.

    Raises:
        ParameterError: naming the argument; also when ``choices`` holds one choice only
            (d' compares the two: use :func:`both_choices` to check first).
    """
    where = "choice_selectivity"
    rates = array(rates, "rates", where, shape=("B", "T", "N_rec"))
    choices = array(choices, "choices", where, shape=(f"B={rates.shape[0]}",), integer=True)
    window = declared(where, window=window)
    if window is not None:
        if window[1] > rates.shape[1]:
            fail(where, "window", f"must end within the trial's {rates.shape[1]} steps, got {window}", window,
                 f"(start, stop) with stop <= {rates.shape[1]}")
        rates = rates[:, slice(*window)]
    if not both_choices(choices):
        only = np.unique(choices[(choices == 0) | (choices == 1)])
        said = f"only choice {int(only[0])}" if only.size else "neither choice 0 nor choice 1"
        fail(where, "choices", f"must hold trials of choice 0 and of choice 1 (d' compares them), got {said} in "
             f"{choices.size} trials", choices, "both choices")
    mean_rate = rates.mean(axis=1)  # (B, N)
    one, zero = mean_rate[choices == 1], mean_rate[choices == 0]
    spread = np.sqrt(0.5 * (one.var(axis=0) + zero.var(axis=0)))
    difference = one.mean(axis=0) - zero.mean(axis=0)
    return np.where(spread > 1e-12, difference / np.where(spread > 1e-12, spread, 1.0), 0.0)


def unit_order(n_rec, by=("ei", "selectivity"), selectivity=None, excitatory=None):
    """A permutation of the units (N_rec,) sorted by the keys in ``by``, in order of priority.

    Keys: ``'index'`` (as they are), ``'ei'`` (excitatory first, when ``excitatory`` (N_rec,)
    0/1 or bool is given), ``'selectivity'`` (most choice-1-preferring first; needs
    ``selectivity`` (N_rec,), finite).  Ties keep index order.
    """
    where = "unit_order"
    n_rec = declared(where, n_rec=n_rec)
    if isinstance(by, str):
        by = (by,)
    try:
        by = tuple(by)
    except TypeError:
        fail(where, "by", f"must be a sort key or a sequence of them ('index', 'ei', 'selectivity'), got {by!r}", by,
             "'index', 'ei', 'selectivity'")
    keys = [np.arange(n_rec)]  # np.lexsort: the last key is the primary one, index order breaks ties
    for key in reversed(by):
        if key == "index":
            continue
        if key == "ei":
            if excitatory is not None:
                excitatory = array(excitatory, "excitatory", where, shape=(f"N_rec={n_rec}",), integer=True)
                if not np.isin(excitatory, (0, 1)).all():
                    fail(where, "excitatory", "must hold True/False (or 1/0) per unit", excitatory, "booleans")
                keys.append(excitatory == 0)
        elif key == "selectivity":
            if selectivity is None:
                fail(where, "selectivity", "is needed to sort by selectivity (see choice_selectivity)", None,
                     "(N_rec,) values")
            keys.append(-array(selectivity, "selectivity", where, shape=(f"N_rec={n_rec}",)))
        else:
            fail(where, "by", f"holds an unknown sort key {key!r}: use 'index', 'ei' or 'selectivity'", key,
                 "'index', 'ei', 'selectivity'")
    return np.lexsort(keys)


@dataclass(repr=False)
class UnitActivity(AnalysisResult):
    """Rates of every unit averaged by evidence level, with selectivity and E/I.

    Attributes:
        times (T,) ms; levels (L,) signed evidence; mean_rates (L, T, N_rec), sem_rates
        (L, T, N_rec); n_trials (L,); selectivity (N_rec,) choice d' (NaN when the network
        made one choice only on these trials: d' is undefined); excitatory (N_rec,)
        bool (all False without Dale's law); dale (bool); window (2,) steps used for the
        selectivity.
    """

    times: np.ndarray
    levels: np.ndarray
    mean_rates: np.ndarray
    sem_rates: np.ndarray
    n_trials: np.ndarray
    selectivity: np.ndarray
    excitatory: np.ndarray
    dale: bool
    window: np.ndarray
    figsize = (10.0, 3.8)

    @property
    def n_rec(self):
        return self.mean_rates.shape[2]

    def order(self, by=("ei", "selectivity")):
        """Units sorted by ``by`` (see :func:`unit_order`), (N_rec,); an undefined (NaN) selectivity sorts by index."""
        selectivity = self.selectivity
        if selectivity is not None and not np.all(np.isfinite(selectivity)):
            selectivity = np.zeros(self.n_rec)  # one choice only: no selectivity order, index order instead
        return unit_order(self.n_rec, by, selectivity, self.excitatory if self.dale else None)

    def heatmap(self, level_index, by=("ei", "selectivity")):
        """``(rates (N_rec, T) of one level, units order (N_rec,))``: rows in the order ``by``."""
        order = self.order(by)
        return self.mean_rates[level_index].T[order], order

    def psth(self, units):
        """Mean rates of ``units`` per level, (L, T, U)."""
        return self.mean_rates[:, :, np.asarray(units, dtype=np.intp)]

    def plot_psth(self, ax, units):
        styles = ("-", "--", ":", "-.")
        colors = level_colors(self.levels)
        for j, unit in enumerate(np.atleast_1d(units)):
            for i, color in enumerate(colors):
                ax.plot(self.times, self.mean_rates[i, :, unit], styles[j % 4], color=color, lw=1)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("rate")
        ax.set_title("units " + ", ".join(str(int(u)) for u in np.atleast_1d(units)), fontsize=9)

    def plot_heatmap(self, ax, level_index, by=("ei", "selectivity")):
        rates, order = self.heatmap(level_index, by)
        extent = (self.times[0], self.times[-1], len(order) - 0.5, -0.5)
        image = ax.imshow(rates, aspect="auto", extent=extent, cmap="viridis", interpolation="nearest")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("unit (sorted)")
        ax.set_title(f"evidence {self.levels[level_index]:.3g}", fontsize=9)
        return image

    def draw(self, figure):
        left, right = figure.subplots(1, 2)
        top_units = self.order(("selectivity",))[[0, -1]]
        self.plot_psth(left, top_units)
        image = self.plot_heatmap(right, len(self.levels) - 1)
        figure.colorbar(image, ax=right, label="rate")


def unit_activity(source, task=None, *, batch=None, levels=None, n_per_level=20, seed=0, perturbations=None,
                  window=None):
    """PSTHs of all units by evidence level, their choice selectivity and E/I type.

    Args:
        source: a network (model, weights dict, weight file or simulator).
        task / batch: the trials (a fixed-timing, noise-on :func:`condition_batch` is drawn
            from ``task`` when ``batch`` is not given).
        window: ``(start, stop)`` steps for the selectivity, within the trial (default from
            the stimulus onset of the first trial, or the whole trial, to the end).
        n_per_level, seed: trials per level (1 to 10,000) and their seed.
        perturbations: simulator perturbations applied to every trial.

    Returns:
        :class:`UnitActivity` (its selectivity NaN when the network made one choice only).
    """
    where = "unit_activity"
    n_per_level, seed, window = declared(where, n_per_level=n_per_level, seed=seed, window=window)
    sim = as_simulator(source)
    if batch is None:
        batch = condition_batch(task, levels=levels, n_per_level=n_per_level, seed=seed, fixed_timing=True)
    _, _, rates, chosen = run_batch(sim, batch, perturbations)
    mean, sem, count = psth(rates, batch.level_index, n_groups=len(batch.levels))
    if window is None:
        start = 0 if batch.onset is None else int(np.min(batch.onset) // batch.dt)
        window = (min(start, rates.shape[1] - 1), rates.shape[1])
    elif window[1] > rates.shape[1]:
        fail(where, "window", f"must end within the trial's {rates.shape[1]} steps, got {window}", window,
             f"(start, stop) with stop <= {rates.shape[1]}")
    selectivity = (choice_selectivity(rates, chosen, window) if both_choices(chosen)
                   else np.full(rates.shape[2], np.nan))
    return UnitActivity(times=batch.times, levels=batch.levels, mean_rates=mean, sem_rates=sem, n_trials=count,
                        selectivity=selectivity, excitatory=excitatory_mask(sim),
                        dale=sim.dale_ratio is not None, window=np.asarray(window))
