"""Behaviour of a network: psychometric and chronometric curves, condition-averaged outputs.

Units: evidence in the task's units (coherence for perceptual discrimination, signed:
positive favours choice 1), times and reaction times in ms, probabilities in [0, 1].

**Psychometric function** (4 parameters, lapses at both ends)::

    P(choice 1 | x) = guess + (1 - guess - lapse) / (1 + exp(-(x - bias) * slope))

fitted by maximum likelihood on per-level counts (binomial likelihood,
``scipy.optimize.minimize`` with L-BFGS-B from several starts).  ``bias`` is the point
of subjective equality (for ``guess == lapse``), ``slope`` the steepness (1/evidence
units; positive when more evidence for choice 1 means more choices 1).  Bounds:
``guess, lapse`` in [0, 0.5]; ``bias`` within the level range widened by its width on
each side; ``|slope| <= 40 / (smallest gap between levels)`` (a perfectly separated data
set has no finite maximum: the bound makes it a step between two levels).
Confidence intervals (95 % by default):

* ``ci='hessian'`` (default): Wald intervals ``estimate ± z·se`` with ``se`` from the
  inverse of the observed information (the numerical Hessian of the negative
  log-likelihood at the estimate), clipped to the parameter's bounds.  A parameter at a
  bound has no Wald interval: NaN.
* ``ci='bootstrap'``: parametric bootstrap (counts redrawn from the fitted curve, refit,
  percentile interval), ``n_bootstrap`` refits; defined at bounds too.

**Reaction time** (where the task defines a stimulus onset): the *commitment time*, the
first time at or after onset from which the output difference ``d = out[..., 1] -
out[..., 0]`` stays at least ``threshold`` (default 0.4, half the distance between the
tasks' ``hi = 1.0`` and ``lo = 0.2`` targets) on the side of the trial's final choice
until the end of the trial, minus the onset.  Unlike the first crossing, it is not fooled
by an output that crosses and comes back, nor by outputs that rest apart before the
stimulus (PsychRNN's tasks do not train the pre-stimulus output).  ``rule='first'``
gives the first crossing instead.  Trials that do not end beyond the threshold: NaN.
"""
from dataclasses import dataclass

import numpy as np

try:
    from scipy import optimize, special, stats
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("psychrnn_widgets.analysis needs SciPy for the psychometric fit: "
                      "pip install 'psychrnn_widgets[analysis]'") from error

from ..params import TASK_CORE_PARAMS
from ._inputs import array, declared, fail
from ._results import AnalysisResult, level_colors
from ._source import as_simulator, checkpoint, simulate
from .conditions import ConditionBatch, chosen_channel, condition_batch

__all__ = ["logistic_with_lapses", "fit_psychometric", "psychometric_data", "psychometric_curve",
           "reaction_times", "chronometric_curve", "output_traces", "behaviour", "PsychometricFit",
           "PsychometricCurve", "ChronometricCurve", "ConditionTraces", "Behaviour", "behaviour_and_states",
           "run_batch"]

PARAMETERS = ("bias", "slope", "guess", "lapse")
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e")


def logistic_with_lapses(x, bias, slope, guess=0.0, lapse=0.0):
    """``guess + (1 - guess - lapse) * expit((x - bias) * slope)`` elementwise (x in evidence units).

    ``x``: finite evidence values, any shape (the result has it).  ``bias``, ``slope``:
    finite numbers; ``guess``, ``lapse``: probabilities with ``guess + lapse <= 1``.

    >>> from psychrnn_widgets.analysis import logistic_with_lapses
    >>> float(logistic_with_lapses(0.0, bias=0.0, slope=10.0, guess=0.1, lapse=0.1))   # at the bias: halfway
    0.5
    >>> round(float(logistic_with_lapses(1.0, bias=0.0, slope=10.0, guess=0.1, lapse=0.1)), 4)
    0.9
    """
    where = "logistic_with_lapses"
    x = array(x, "x", where, allow_empty=True)
    bias, slope, guess, lapse = declared(where, bias=bias, slope=slope, guess=guess, lapse=lapse)
    if guess + lapse > 1.0:
        fail(where, "lapse", f"plus guess must be at most 1 (P(choice 1) stays in [0, 1]), got guess {guess:g} + "
             f"lapse {lapse:g}", lapse, "guess + lapse <= 1")
    return _logistic(x, bias, slope, guess, lapse)


def _logistic(x, bias, slope, guess, lapse):
    """:func:`logistic_with_lapses` without the checks (the fit evaluates it thousands of times)."""
    return guess + (1.0 - guess - lapse) * special.expit((np.asarray(x, dtype=np.float64) - bias) * slope)


# --------------------------------------------------------------------------- the fit
@dataclass(repr=False)
class PsychometricFit(AnalysisResult):
    """Maximum-likelihood fit of :func:`logistic_with_lapses`.

    Attributes:
        bias (evidence units), slope (1/evidence units), guess, lapse (probabilities).
        se (4,): standard errors of ``(bias, slope, guess, lapse)`` (Hessian; NaN at bounds
            or when fixed; for ``ci='bootstrap'`` the bootstrap standard deviation).
        ci (4, 2): lower and upper confidence limits, same order.
        ci_level (float), ci_method ('hessian' or 'bootstrap').
        log_likelihood (float), converged (bool), fixed (tuple of parameter names held fixed).
        levels (L,), n_trials (L,), n_choice1 (L,): the data fitted.
    """

    bias: float
    slope: float
    guess: float
    lapse: float
    se: np.ndarray
    ci: np.ndarray
    ci_level: float
    ci_method: str
    log_likelihood: float
    converged: bool
    fixed: tuple
    levels: np.ndarray
    n_trials: np.ndarray
    n_choice1: np.ndarray

    @property
    def params(self):
        """``(bias, slope, guess, lapse)`` as an array (4,)."""
        return np.array([self.bias, self.slope, self.guess, self.lapse])

    def predict(self, x):
        """Fitted P(choice 1) at evidence ``x`` (any shape)."""
        return _logistic(array(x, "x", "PsychometricFit.predict", allow_empty=True), self.bias, self.slope,
                         self.guess, self.lapse)

    def curve(self, n=200):
        """``(x (n,), P (n,))``: the fitted curve over the level range."""
        x = np.linspace(float(np.min(self.levels)), float(np.max(self.levels)), n)
        return x, self.predict(x)

    def summary(self):
        """One line: each parameter with its confidence interval."""
        parts = []
        for i, name in enumerate(PARAMETERS):
            lo, hi = self.ci[i]
            interval = "" if not np.all(np.isfinite(self.ci[i])) else f" [{lo:.3g}, {hi:.3g}]"
            parts.append(f"{name} {self.params[i]:.3g}{interval}")
        return ", ".join(parts) + f" ({100 * self.ci_level:.0f}% CI, {self.ci_method})"

    def plot(self, ax):
        p = np.where(self.n_trials > 0, self.n_choice1 / np.maximum(self.n_trials, 1), np.nan)
        ax.plot(self.levels, p, "o", color="k", label="data")
        ax.plot(*self.curve(), "-", color=_COLORS[0], label="fit")
        ax.set_xlabel("signed evidence")
        ax.set_ylabel("P(choice 1)")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"bias {self.bias:.3g}, slope {self.slope:.3g}", fontsize=9)


def _negative_log_likelihood(theta, levels, n, k):
    p = np.clip(_logistic(levels, *theta), 1e-12, 1 - 1e-12)
    return -float(np.sum(k * np.log(p) + (n - k) * np.log1p(-p)))


def _bounds(levels, lapses):
    lo, hi = float(np.min(levels)), float(np.max(levels))
    span = max(hi - lo, 1e-12)
    gaps = np.diff(np.unique(levels))
    slope_max = 40.0 / (float(np.min(gaps)) if gaps.size else span)
    lapse_bound = (0.0, 0.5) if lapses else (0.0, 0.0)
    return [(lo - span, hi + span), (-slope_max, slope_max), lapse_bound, lapse_bound]


def _maximise(levels, n, k, bounds, starts):
    best = None
    for start in starts:
        checkpoint()
        start = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
        result = optimize.minimize(_negative_log_likelihood, start, args=(levels, n, k), method="L-BFGS-B",
                                   bounds=bounds)
        if best is None or result.fun < best.fun:
            best = result
    return best


def _starts(levels, n, k, lapses):
    """Starting points: the 0.5 crossing (or the middle) as bias, three steepnesses, the data's sign."""
    p = k / np.maximum(n, 1)
    lo, hi = float(np.min(levels)), float(np.max(levels))
    span = max(hi - lo, 1e-12)
    covariance = np.mean((levels - levels.mean()) * (p - p.mean()))
    direction = -1.0 if covariance < 0 else 1.0
    order = np.argsort(direction * levels)
    crossing = float(np.interp(0.5, p[order], levels[order])) if np.ptp(p) > 0 else 0.5 * (lo + hi)
    lapse = 0.02 if lapses else 0.0
    return [np.array([bias, direction * steep / span, lapse, lapse])
            for bias in (crossing, 0.5 * (lo + hi)) for steep in (4.0, 16.0, 64.0)]


def _hessian(fun, theta, steps):
    """Central-difference Hessian of ``fun`` at ``theta`` with per-parameter ``steps``."""
    m = len(theta)
    H = np.empty((m, m))
    for i in range(m):
        for j in range(i, m):
            def shifted(si, sj):
                t = theta.copy()
                t[i] += si * steps[i]
                t[j] += sj * steps[j]
                return fun(t)
            value = (shifted(1, 1) - shifted(1, -1) - shifted(-1, 1) + shifted(-1, -1)) / (4 * steps[i] * steps[j])
            H[i, j] = H[j, i] = value
    return H


def fit_psychometric(levels, n_trials, n_choice1, lapses=True, ci="hessian", ci_level=0.95, n_bootstrap=200,
                     seed=0):
    """Fit the 4-parameter psychometric function to per-level counts by maximum likelihood.

    Args:
        levels: signed evidence levels (L,), finite.
        n_trials: trials per level (L,), whole numbers >= 0.
        n_choice1: trials per level that chose 1 (L,), whole numbers in ``[0, n_trials]``.
        lapses: fit ``guess`` and ``lapse`` (True) or hold them at 0 (2-parameter logistic).
        ci: ``'hessian'`` or ``'bootstrap'`` (see the module docstring).
        ci_level: coverage of the intervals, in (0, 1).
        n_bootstrap, seed: bootstrap refits (>= 2) and their random seed.

    Returns:
        :class:`PsychometricFit`.

    Raises:
        ParameterError: naming the argument: wrong shapes, NaN, counts that are not whole
            numbers or exceed ``n_trials``, fewer than two levels with trials, or data with
            one choice only (every trial chose 1, or none did: the curve has no midpoint or
            slope to estimate, any "fit" would be the bounds').
    """
    where = "fit_psychometric"
    levels = array(levels, "levels", where, shape=("L",))
    n = array(n_trials, "n_trials", where, shape=(f"L={levels.size}",), integer=True).astype(np.float64)
    k = array(n_choice1, "n_choice1", where, shape=(f"L={levels.size}",), integer=True).astype(np.float64)
    lapses, ci, ci_level, n_bootstrap, seed = declared(where, lapses=lapses, ci=ci, ci_level=ci_level,
                                                       n_bootstrap=n_bootstrap, seed=seed)
    if np.any(n < 0):
        fail(where, "n_trials", f"must be counts >= 0, got {n.min():g}", n_trials, "whole numbers >= 0")
    if np.any(k > n) or np.any(k < 0):
        fail(where, "n_choice1", "must lie between 0 and n_trials at every level", n_choice1,
             "0 <= n_choice1 <= n_trials")
    used = n > 0
    if np.unique(levels[used]).size < 2:
        fail(where, "n_trials", "must have trials at two or more evidence levels for a psychometric fit",
             n_trials, "trials at two or more levels")
    if k.sum() in (0.0, n.sum()):
        every = "chose 1" if k.sum() else "chose 0"
        fail(where, "n_choice1", f"shows one choice only (every one of the {int(n.sum())} trials {every}): a "
             "psychometric function has no midpoint or slope to fit; give trials with both choices",
             n_choice1, "trials with both choices")
    fit_levels, fit_n, fit_k = levels[used], n[used], k[used]
    bounds = _bounds(fit_levels, lapses)
    best = _maximise(fit_levels, fit_n, fit_k, bounds, _starts(fit_levels, fit_n, fit_k, lapses))
    theta = best.x
    fixed = () if lapses else ("guess", "lapse")
    z = stats.norm.ppf(0.5 + ci_level / 2)
    se = np.full(4, np.nan)
    interval = np.full((4, 2), np.nan)
    free = [i for i, name in enumerate(PARAMETERS) if name not in fixed]
    if ci == "hessian":
        span = bounds[0][1] - bounds[0][0]
        at_bound = [i for i in free if min(abs(theta[i] - bounds[i][0]), abs(theta[i] - bounds[i][1]))
                    <= 1e-6 * max(1.0, abs(bounds[i][1] - bounds[i][0]))]
        inner = [i for i in free if i not in at_bound]
        scales = np.array([span, max(abs(theta[1]), 1.0 / span), 1.0, 1.0])
        steps = 1e-4 * scales[inner]
        if inner:
            def restricted(values):
                full = theta.copy()
                full[inner] = values
                return _negative_log_likelihood(full, fit_levels, fit_n, fit_k)

            H = _hessian(restricted, theta[inner], steps)
            try:
                cov = np.linalg.inv(H)
                variances = np.diag(cov)
                se[inner] = np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
            except np.linalg.LinAlgError:
                pass
        interval[:, 0], interval[:, 1] = theta - z * se, theta + z * se
        lower, upper = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
        interval = np.where(np.isnan(interval), np.nan, np.clip(interval, lower[:, None], upper[:, None]))
    else:
        rng = np.random.default_rng(seed)
        p_hat = _logistic(fit_levels, *theta)
        draws = []
        for _ in range(int(n_bootstrap)):
            k_b = rng.binomial(fit_n.astype(np.int64), p_hat)
            draws.append(_maximise(fit_levels, fit_n, k_b, bounds, [theta]).x)
        draws = np.array(draws)
        tail = 100 * (1 - ci_level) / 2
        interval = np.percentile(draws, [tail, 100 - tail], axis=0).T
        se = draws.std(axis=0, ddof=1)
        for i, name in enumerate(PARAMETERS):
            if name in fixed:
                interval[i] = np.nan
                se[i] = np.nan
    return PsychometricFit(bias=float(theta[0]), slope=float(theta[1]), guess=float(theta[2]),
                           lapse=float(theta[3]), se=se, ci=interval, ci_level=float(ci_level), ci_method=ci,
                           log_likelihood=-float(best.fun), converged=bool(best.success), fixed=fixed,
                           levels=levels, n_trials=n.astype(np.int64), n_choice1=k.astype(np.int64))


# -------------------------------------------------------------------------- the data
def psychometric_data(evidence, choices, levels=None):
    """Counts per evidence level from per-trial arrays.

    Args:
        evidence: signed evidence per trial (B,), finite.
        choices: choice per trial (B,), whole numbers (the chosen channel; 1 counts as
            "choice 1", -1 marks an undecided trial).
        levels: the levels to count (L,), finite; default the distinct values of
            ``evidence``.  Returned sorted, without repeats; trials at other values are not
            counted.

    Returns:
        ``(levels (L,), n_trials (L,) int, n_choice1 (L,) int)``.
    """
    where = "psychometric_data"
    evidence = array(evidence, "evidence", where, shape=("B",))
    choices = array(choices, "choices", where, shape=(f"B={evidence.size}",), integer=True)
    levels = np.unique(evidence if levels is None else array(levels, "levels", where, shape=("L",)))
    index = np.searchsorted(levels, evidence)
    inside = (index < len(levels)) & (levels[np.minimum(index, len(levels) - 1)] == evidence)
    n = np.bincount(index[inside], minlength=len(levels))
    k = np.bincount(index[inside], weights=(choices[inside] == 1).astype(float), minlength=len(levels))
    return levels, n.astype(np.int64), k.astype(np.int64)


@dataclass(repr=False)
class PsychometricCurve(AnalysisResult):
    """P(choice 1) against signed evidence, with its fit.

    Attributes:
        levels (L,): signed evidence levels; n_trials (L,), n_choice1 (L,): counts;
        p_choice1 (L,): ``n_choice1 / n_trials`` (NaN where no trials).
        fit: :class:`PsychometricFit` or None: not fitted (``fit=False``), trials at fewer
            than two levels, or one choice only (every trial chose 1, or none did: there is
            no curve to fit, see :func:`fit_psychometric`).
        accuracy (float or None): fraction of correct choices over the trials (None when
            the correct choice is not known).
    """

    levels: np.ndarray
    n_trials: np.ndarray
    n_choice1: np.ndarray
    p_choice1: np.ndarray
    fit: PsychometricFit = None
    accuracy: float = None

    def plot(self, ax, color="k", label=None):
        ax.plot(self.levels, self.p_choice1, "o", color=color, label=label)
        if self.fit is not None:
            ax.plot(*self.fit.curve(), "-", color=color)
        ax.axhline(0.5, color="0.8", lw=0.8, zorder=0)
        ax.set_xlabel("signed evidence")
        ax.set_ylabel("P(choice 1)")
        ax.set_ylim(-0.03, 1.03)
        if self.fit is not None:
            ax.set_title(f"bias {self.fit.bias:.3g}, slope {self.fit.slope:.3g}", fontsize=9)


def run_batch(source, batch, perturbations=None, rates=True):
    """Simulate a :class:`ConditionBatch`: ``(outputs, states, rates, choices)`` (noise-free recurrence).

    ``rates=False``: rates None (see :func:`~psychrnn_widgets.analysis.simulate`).
    """
    outputs, states, rates = simulate(source, batch.x, perturbations, rates=rates)
    return outputs, states, rates, chosen_channel(outputs, batch.mask)


def _curve(evidence, choices, correct, levels, fit, ci, where="psychometric_curve"):
    levels, n, k = psychometric_data(evidence, choices, levels)
    if correct is not None:
        correct = array(correct, "correct", where, shape=(f"B={np.size(choices)}",), integer=True)
    p = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    fitted = None
    if fit and np.count_nonzero(n) >= 2 and 0 < k.sum() < n.sum():
        fitted = fit_psychometric(levels, n, k, ci=ci)
    accuracy = None if correct is None else float(np.mean(np.asarray(choices) == correct))
    return PsychometricCurve(levels=levels, n_trials=n, n_choice1=k, p_choice1=p, fit=fitted, accuracy=accuracy)


def psychometric_curve(source=None, task=None, *, evidence=None, choices=None, correct=None, batch=None,
                       levels=None, n_per_level=100, seed=0, perturbations=None, fit=True, ci="hessian"):
    """P(choice 1) per signed evidence level, with a fitted psychometric function.

    Either give per-trial arrays ``evidence`` (B,) and ``choices`` (B,) (and optionally the
    ``correct`` choices (B,) for the accuracy), or a network ``source`` (model, weights
    dict, weight file or simulator) and a ``task`` (or a prepared ``batch`` from
    :func:`~psychrnn_widgets.analysis.conditions.condition_batch`): then ``n_per_level``
    trials per level are drawn with the task's input noise (seeded, so the same trials
    before and after a lesion), run without recurrent noise, and the choice of a trial is
    the channel with the largest time-mean masked output.

    Args:
        levels: signed evidence levels (default: the task's; see conditions).
        n_per_level, seed: trials per level (1 to 10,000) and their seed.
        perturbations: simulator perturbations (``Silence``, ``Clamp``, ``Kick``...) applied
            to every trial.
        fit: fit :func:`fit_psychometric` (needs two levels or more and both choices);
            ``ci`` its interval method.

    Returns:
        :class:`PsychometricCurve`.
    """
    where = "psychometric_curve"
    n_per_level, seed, fit, ci = declared(where, n_per_level=n_per_level, seed=seed, fit=fit, ci=ci)
    if evidence is not None or choices is not None:
        if evidence is None or choices is None:
            fail(where, "choices" if choices is None else "evidence", "is needed too: give both evidence and "
                 "choices (per-trial arrays)", None, "an array (B,)")
        return _curve(evidence, choices, correct, levels, fit, ci)
    if source is None:
        fail(where, "source", "is needed (a network) unless evidence and choices arrays are given", None,
             "a model, weights, a weight file or a simulator")
    if task is None and batch is None:
        fail(where, "task", "is needed (or a batch) to draw the trials", None, "a Task")
    if batch is not None:
        _check_batch(batch, where)
    if batch is None:
        batch = condition_batch(task, levels=levels, n_per_level=n_per_level, seed=seed)
    _, _, _, chosen = run_batch(as_simulator(source), batch, perturbations, rates=False)
    return _curve(batch.evidence, chosen, batch.choice, batch.levels, fit, ci)


# ------------------------------------------------------------------ reaction times
def reaction_times(outputs, onset, dt, threshold=0.4, channels=(0, 1), rule="commit"):
    """Reaction time and choice of each trial from its outputs.

    Args:
        outputs: (B, T, N_out) network outputs; ``outputs[:, k]`` is at ``k * dt`` ms.
        onset: stimulus onset per trial, ms (B,) (or a number).
        dt: ms per step.
        threshold: size of the output difference ``d = outputs[..., channels[1]] -
            outputs[..., channels[0]]`` that marks a decision.
        channels: the two output channels compared (choice 0, choice 1).
        rule: ``'commit'`` (from when ``|d|`` stays beyond the threshold on the final
            choice's side to the end) or ``'first'`` (first time ``|d| >= threshold``).

    Returns:
        ``(rt (B,) float ms from onset, NaN when undecided; choice (B,) int, -1 when undecided)``.
    """
    where = "reaction_times"
    threshold, channels, rule = declared(where, threshold=threshold, channels=channels, rule=rule)
    dt = TASK_CORE_PARAMS["dt"].validate(dt, where)
    outputs = array(outputs, "outputs", where, shape=("B", "T", "N_out"))
    if max(channels) >= outputs.shape[2]:
        fail(where, "channels", f"must be output channels in 0..{outputs.shape[2] - 1}, got {channels}", channels,
             f"two channels in 0..{outputs.shape[2] - 1}")
    onset = array(onset, "onset", where)
    if onset.ndim > 1 or onset.size not in (1, outputs.shape[0]) or np.any(onset < 0):
        fail(where, "onset", f"must be a time in ms >= 0, or one per trial (B={outputs.shape[0]},), got shape "
             f"{onset.shape}{'' if np.all(onset >= 0) else ' with negative times'}", onset, "ms >= 0, (B,) or one")
    diff = outputs[..., channels[1]] - outputs[..., channels[0]]
    times = np.arange(outputs.shape[1]) * float(dt)
    onset = np.broadcast_to(onset.reshape(-1), diff.shape[:1])
    after = times[None, :] >= onset[:, None] - 1e-9
    if rule == "first":
        decided = (np.abs(diff) >= threshold) & after
        side = diff
    else:
        final = np.sign(diff[:, -1:])
        beyond = (diff * final >= threshold) & after
        # True at k when every step from k to the end is beyond the threshold
        decided = np.flip(np.logical_and.accumulate(np.flip(beyond, axis=1), axis=1), axis=1)
        side = np.broadcast_to(final, diff.shape)
    found = decided.any(axis=1)
    first = np.argmax(decided, axis=1)
    rows = np.arange(len(first))
    rt = np.where(found, times[first] - onset, np.nan)
    choice = np.where(found, (side[rows, first] > 0).astype(int), -1)
    return rt, choice


@dataclass(repr=False)
class ChronometricCurve(AnalysisResult):
    """Mean reaction time per signed evidence level.

    Attributes:
        levels (L,); mean_rt (L,) ms (NaN where no trial crossed); sem_rt (L,) ms;
        n_trials (L,): trials averaged (crossed, and correct when ``correct_only``);
        rt (B,) ms and evidence (B,): the per-trial data; threshold; correct_only.
    """

    levels: np.ndarray
    mean_rt: np.ndarray
    sem_rt: np.ndarray
    n_trials: np.ndarray
    rt: np.ndarray
    evidence: np.ndarray
    threshold: float
    correct_only: bool
    rule: str = "commit"

    def plot(self, ax, color="k", label=None):
        ax.errorbar(self.levels, self.mean_rt, yerr=self.sem_rt, fmt="o-", color=color, label=label, ms=4)
        ax.set_xlabel("signed evidence")
        ax.set_ylabel("reaction time (ms)")


def chronometric_curve(source=None, task=None, *, outputs=None, batch=None, levels=None, n_per_level=100, seed=0,
                       threshold=0.4, correct_only=True, perturbations=None, rule="commit"):
    """Mean reaction time (ms after stimulus onset) against signed evidence.

    From a ``source`` and a ``task`` (or ``batch``), or from given ``outputs`` (B, T, N_out)
    with their ``batch``.  Returns None when the task defines no stimulus onset.
    See :func:`reaction_times` for the definition.

    Returns:
        :class:`ChronometricCurve` or None.
    """
    where = "chronometric_curve"
    n_per_level, seed, threshold, correct_only, rule = declared(
        where, n_per_level=n_per_level, seed=seed, threshold=threshold, correct_only=correct_only, rule=rule)
    if batch is None:
        if task is None:
            fail(where, "task", "is needed (or a batch): chronometric_curve needs trials to time", task, "a Task")
        batch = condition_batch(task, levels=levels, n_per_level=n_per_level, seed=seed)
    _check_batch(batch, where)
    if batch.onset is None:
        return None
    if outputs is None:
        outputs = run_batch(source, batch, perturbations, rates=False)[0]
    outputs = _batch_outputs(outputs, batch, where)
    rt, choice = reaction_times(outputs, batch.onset, batch.dt, threshold, rule=rule)
    keep = np.isfinite(rt)
    if correct_only:
        keep &= (choice == batch.choice) | (batch.evidence == 0)
    L = len(batch.levels)
    mean, sem, count = np.full(L, np.nan), np.full(L, np.nan), np.zeros(L, np.int64)
    for i in range(L):
        values = rt[keep & (batch.level_index == i)]
        count[i] = values.size
        if values.size:
            mean[i] = values.mean()
            sem[i] = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
    return ChronometricCurve(levels=batch.levels, mean_rt=mean, sem_rt=sem, n_trials=count, rt=rt,
                             evidence=batch.evidence, threshold=float(threshold), correct_only=bool(correct_only),
                             rule=rule)


# ------------------------------------------------------------------- output traces
@dataclass(repr=False)
class ConditionTraces(AnalysisResult):
    """Outputs and targets averaged over the trials of each evidence level.

    Attributes:
        times (T,) ms; levels (L,); outputs (L, T, N_out) mean output; targets (L, T, N_out)
        mean target; masks (L, T, N_out) mean mask; n_trials (L,).
    """

    times: np.ndarray
    levels: np.ndarray
    outputs: np.ndarray
    targets: np.ndarray
    masks: np.ndarray
    n_trials: np.ndarray
    figsize = (6.0, 3.5)

    def plot(self, ax, channel=None, linestyle="-"):
        channels = range(self.outputs.shape[2]) if channel is None else [channel]
        for i, color in enumerate(level_colors(self.levels)):
            for c in channels:
                ax.plot(self.times, self.outputs[i, :, c], linestyle, color=color, lw=1.2 if c else 0.8)
                ax.plot(self.times, self.targets[i, :, c], ":", color=color, lw=0.8)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("output (dotted: target)")


def output_traces(source=None, task=None, *, batch=None, outputs=None, levels=None, n_per_level=20, seed=0,
                  perturbations=None):
    """Outputs and targets averaged by evidence level (fixed trial timing, so averages line up).

    From a ``source`` and a ``task`` (a fixed-timing batch is drawn) or a prepared ``batch``
    (optionally with its ``outputs`` (B, T, N_out)).

    Returns:
        :class:`ConditionTraces`.
    """
    where = "output_traces"
    n_per_level, seed = declared(where, n_per_level=n_per_level, seed=seed)
    if batch is None:
        if task is None:
            fail(where, "task", "is needed (or a batch): output_traces needs trials to average", task, "a Task")
        batch = condition_batch(task, levels=levels, n_per_level=n_per_level, seed=seed, fixed_timing=True)
    _check_batch(batch, where)
    if outputs is None:
        outputs = run_batch(source, batch, perturbations, rates=False)[0]
    outputs = _batch_outputs(outputs, batch, where)
    L = len(batch.levels)
    onehot = np.zeros((L, len(batch)))
    onehot[batch.level_index, np.arange(len(batch))] = 1.0
    counts = onehot.sum(axis=1)
    weights = onehot / np.maximum(counts, 1)[:, None]

    def average(values):
        return np.einsum("lb,bto->lto", weights, np.asarray(values, dtype=np.float64))

    return ConditionTraces(times=batch.times, levels=batch.levels, outputs=average(outputs),
                           targets=average(batch.y), masks=average(batch.mask), n_trials=counts.astype(np.int64))


# ------------------------------------------------------------------- all at once
@dataclass(repr=False)
class Behaviour(AnalysisResult):
    """Psychometric, chronometric (or None) and output traces of one network."""

    psychometric: PsychometricCurve
    chronometric: ChronometricCurve
    traces: ConditionTraces
    figsize = (12.0, 3.5)

    def draw(self, figure):
        axes = figure.subplots(1, 3)
        self.psychometric.plot(axes[0])
        if self.chronometric is not None:
            self.chronometric.plot(axes[1])
        else:
            axes[1].set_axis_off()
        self.traces.plot(axes[2])


def behaviour(source, task=None, *, batch=None, trace_batch=None, levels=None, n_per_level=100, seed=0,
              threshold=0.4, perturbations=None, ci="hessian"):
    """Psychometric curve, chronometric curve and output traces from one simulation each.

    ``batch`` (the task's timing) feeds the curves, ``trace_batch`` (fixed timing) the
    traces; both are drawn from ``task`` (seeded) when not given.  Returns :class:`Behaviour`.
    """
    return behaviour_and_states(source, task, batch=batch, trace_batch=trace_batch, levels=levels,
                                n_per_level=n_per_level, seed=seed, threshold=threshold,
                                perturbations=perturbations, ci=ci)[0]


def behaviour_and_states(source, task=None, *, batch=None, trace_batch=None, levels=None, n_per_level=100, seed=0,
                         threshold=0.4, perturbations=None, ci="hessian"):
    """:func:`behaviour` and the simulation of ``trace_batch``: ``(Behaviour, (outputs, states, rates))``."""
    n_per_level, seed, threshold, ci = declared("behaviour", n_per_level=n_per_level, seed=seed, threshold=threshold,
                                                ci=ci)
    if batch is None:
        batch = condition_batch(task, levels=levels, n_per_level=n_per_level, seed=seed)
    if trace_batch is None:
        trace_batch = condition_batch(task, levels=batch.levels, n_per_level=max(1, n_per_level // 5), seed=seed,
                                      fixed_timing=True)
    outputs, _, _, chosen = run_batch(source, batch, perturbations, rates=False)
    psychometric = _curve(batch.evidence, chosen, batch.choice, batch.levels, True, ci)
    chronometric = chronometric_curve(batch=batch, outputs=outputs, threshold=threshold)
    trace_run = simulate(source, trace_batch.x, perturbations)
    traces = output_traces(batch=trace_batch, outputs=trace_run[0])
    return Behaviour(psychometric=psychometric, chronometric=chronometric, traces=traces), trace_run


def _check_batch(batch, where, name="batch"):
    """``batch`` must be a :class:`ConditionBatch` (from :func:`condition_batch`)."""
    if not isinstance(batch, ConditionBatch):
        fail(where, name, f"must be a ConditionBatch from condition_batch(task, ...), got {type(batch).__name__}",
             batch, "a ConditionBatch")


def _batch_outputs(outputs, batch, where):
    """``outputs`` (B, T, N_out) of ``batch``'s trials, checked (finite, matching B and T)."""
    B, T = batch.x.shape[:2]
    return array(outputs, "outputs", where, shape=(f"B={B}", f"T={T}", "N_out"))
