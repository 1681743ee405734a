"""Fixed points across a family of constant inputs, and line attractors (after FixedPointFinder).

A network's fixed points depend on its input: Mante, Sussillo, Shenoy & Newsome (2013)
found, for each context of their task, a line of fixed and slow points (a *line
attractor*, the choice axis) with one slow mode along it and fast decay elsewhere, and the
context input moved and reoriented that line.  :func:`fixed_points_across_inputs` runs
:func:`~psychrnn_widgets.analysis.find_fixed_points` (Sussillo & Barak 2013; the model's
own one-step function in TensorFlow) for every input of a family, the way Golub &
Sussillo's FixedPointFinder (2018, JOSS) does:

1. **Search** from states the network visits (per input, or shared), as
   :func:`~psychrnn_widgets.analysis.find_fixed_points`.
2. **Outlier re-runs**: candidates that did not converge (q still above ``q_tolerance``)
   are started again ``n_restarts`` times from their starting states perturbed by Gaussian
   noise of ``restart_scale`` times the spread of the starting states (the RMS distance
   from their centroid).
3. **Outliers** are discarded: points farther from the starting states' centroid than
   ``outlier_scale`` times that spread (FixedPointFinder's ``outlier_distance_scale``).
4. **Duplicates merged**: points of one input closer than ``unique_tolerance`` are one
   (the lowest-q point is kept).

At each point the Jacobian's eigenvalues, sorted by modulus, give the *modes*: for the
discrete map, a mode with eigenvalue ``lambda`` relaxes with time constant
``tau = -dt / ln|lambda|`` (ms; infinite at |lambda| = 1, negative -- growing -- above).
The *top mode* (largest |lambda|) is the slow direction of a stable point and the most
unstable one of an unstable point; the figure draws it as a short line through the point,
on the principal components of the points (or of trajectories given to draw behind them).

:func:`line_attractor_summary` quantifies a line attractor for a group of inputs (e.g. one
context): the fraction of the variance of the group's fixed points explained by their
first principal component (1 for points on a straight line -- and for two clusters, so
also) the largest gap between neighbouring points along it (small when they fill the
line), the slowest and second time constants at each point and their ratio (one slow
mode: ratio >> 1; the *slow-mode separation*), the spectrum of time constants (each
mode's median over the group's points, slowest first), and the alignment ``|cos|`` of
each point's top mode with that first component (the slow mode runs along the line).
"""
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._inputs import array, declared, fail
from ._results import AnalysisResult
from .fixed_points import as_tf_model, find_fixed_points
from .pca import pca

__all__ = ["FixedPointFamily", "LineAttractorSummary", "fixed_points_across_inputs", "line_attractor_summary",
           "context_integration_inputs", "context_line_attractors"]


def context_integration_inputs(motion=(0.0,), color=(0.0,), contexts=(0, 1), fixation=1.0):
    """The constant inputs of :class:`~psychrnn_widgets.tasks.ContextDependentIntegration` during the stimulus.

    One input (N_in = 5: motion, colour, motion cue, colour cue, fixation) per context x
    motion coherence x colour coherence.  Returns ``(inputs (K, 5), labels {'context',
    'motion', 'color'}: (K,) arrays)``.  The default -- no evidence, fixation on -- is the
    input under which Mante et al. (2013) found the line attractors.
    """
    where = "context_integration_inputs"
    motion = array(motion, "motion", where, shape=("n",))
    color = array(color, "color", where, shape=("n_color",))
    contexts = array(contexts, "contexts", where, shape=("n_contexts",), integer=True)
    if np.any((contexts != 0) & (contexts != 1)):
        fail(where, "contexts", "must hold 0 (motion) and/or 1 (colour)", contexts, "0, 1")
    fixation = array(fixation, "fixation", where, shape=())
    rows = [(c, m, k) for c in contexts for m in motion for k in color]
    inputs = np.zeros((len(rows), 5))
    for i, (c, m, k) in enumerate(rows):
        inputs[i] = (m, k, 1.0 if c == 0 else 0.0, 1.0 if c == 1 else 0.0, float(fixation))
    labels = {"context": np.array([r[0] for r in rows], np.int64), "motion": np.array([r[1] for r in rows]),
              "color": np.array([r[2] for r in rows])}
    return inputs, labels


@dataclass(repr=False)
class FixedPointFamily(AnalysisResult):
    """Fixed points for each input of a family (:func:`fixed_points_across_inputs`).

    Attributes:
        inputs (K, N_in): the constant inputs.
        points (P, N_rec): all points found, of every input; ``input_index`` (P,) which input.
        q (P,): speed at each point; eigenvalues (P, N_rec) complex, largest modulus first;
        top_mode (P, N_rec): the real unit eigenvector of the largest-|lambda| eigenvalue.
        stable (P,) bool.
        time_constants (P, 2): tau of the slowest and the second mode, ms (negative: growing; inf at
            |lambda| = 1; a complex-conjugate pair is one mode; NaN where a point has no second mode).
        dt (float): ms per step.
        restarts (K,): candidates re-run per input; outliers (K,): points discarded as outliers.
        labels (dict of (K,) arrays): what each input is (e.g. context), for colours and groups.
        trajectories (L, T, N_rec) or None: states drawn behind the points.
    """

    inputs: np.ndarray
    points: np.ndarray
    input_index: np.ndarray
    q: np.ndarray
    eigenvalues: np.ndarray
    top_mode: np.ndarray
    stable: np.ndarray
    time_constants: np.ndarray
    dt: float
    restarts: np.ndarray
    outliers: np.ndarray
    labels: dict = field(default_factory=dict)
    trajectories: np.ndarray = None
    color_by: str = None
    figsize = (5.0, 4.5)

    def __len__(self):
        return self.points.shape[0]

    def for_input(self, k):
        """Indices (into ``points``) of the points of input ``k``."""
        return np.flatnonzero(self.input_index == k)

    def to_arrays(self):
        arrays = super().to_arrays()
        value = arrays.pop("eigenvalues")
        arrays["eigenvalues_real"], arrays["eigenvalues_imag"] = value.real, value.imag
        arrays.update({f"labels/{key}": np.asarray(v) for key, v in self.labels.items()})
        return arrays

    def projection(self):
        """The :class:`PCA` (2 components) the figure uses: of the trajectories if given, else of the points."""
        if self.trajectories is not None:
            return pca(self.trajectories, 2)
        return pca(self.points if len(self) > 1 else np.zeros((2, self.points.shape[1])), 2)

    def plot(self, ax, mode_length=None):
        projection = self.projection()
        if self.trajectories is not None:
            for line in projection.transform(self.trajectories[:20]):
                ax.plot(line[:, 0], line[:, 1], color="0.8", lw=0.7)
        key = self.color_by or (next(iter(self.labels)) if self.labels else None)
        values = self.labels[key] if key is not None else np.zeros(len(self.inputs))
        levels = list(dict.fromkeys(np.asarray(values).tolist()))
        xy = projection.transform(self.points) if len(self) else np.zeros((0, 2))
        spread = float(np.ptp(xy, axis=0).max()) if len(self) > 1 else 1.0
        length = mode_length if mode_length is not None else 0.05 * (spread or 1.0)
        ends = projection.transform(np.concatenate([self.points - length * self.top_mode,
                                                    self.points + length * self.top_mode])) if len(self) else xy
        ends = ends.reshape(2, -1, 2) if len(self) else ends
        for i, level in enumerate(levels[:10]):
            chosen = np.isin(self.input_index, np.flatnonzero(np.asarray(values) == level))
            color = f"C{i}"
            for p in np.flatnonzero(chosen):
                ax.plot(ends[:, p, 0], ends[:, p, 1], "-", color=color, lw=1.2, alpha=0.9)
            stable, unstable = chosen & self.stable, chosen & ~self.stable
            ax.plot(xy[stable, 0], xy[stable, 1], "o", color=color, ms=4,
                    label=f"{key} {_level(level)}" if key else None)
            ax.plot(xy[unstable, 0], xy[unstable, 1], "o", mfc="white", mec=color, ms=4)
        ax.set_xlabel("PC1")
        ax.set_ylabel("PC2")
        if key:
            ax.legend(fontsize=7, loc="upper right")
        ax.set_title(f"{len(self)} fixed points over {len(self.inputs)} inputs (filled: stable; lines: top mode)",
                     fontsize=8)


def _level(value):
    """A label value as text: whole numbers without '.0' (labels are stored as floats)."""
    return f"{value:g}" if isinstance(value, float) and value.is_integer() else f"{value}"


def _time_constants(eigenvalues, dt, n_modes=2):
    """tau = -dt / ln|lambda| (ms) of the ``n_modes`` slowest modes at each point, (P, n_modes).

    ``eigenvalues`` (P, N_rec), largest modulus first.  A complex-conjugate pair is one
    (oscillating) mode: its member with negative imaginary part is dropped.  tau is
    positive for a decaying mode, negative for a growing one, inf at |lambda| = 1; NaN
    where a point has fewer modes.
    """
    out = np.full((eigenvalues.shape[0], n_modes), np.nan)
    for i, values in enumerate(eigenvalues):
        modes = values[values.imag >= 0][:n_modes]
        with np.errstate(divide="ignore"):
            logs = np.log(np.abs(modes))
            out[i, :len(modes)] = np.where(logs == 0, np.inf, -dt / np.where(logs == 0, 1.0, logs))
    return out


def _per_input_states(initial_states, K, N, where):
    states = array(initial_states, "initial_states", where, min_ndim=2)
    if states.ndim == 2 and states.shape[1] == N:
        return [states] * K
    if states.ndim == 3 and states.shape[0] == K and states.shape[2] == N:
        return list(states)
    fail(where, "initial_states", f"must have shape (M, N_rec={N}) (shared) or (K={K}, M, N_rec={N}) (per input), "
         f"got {states.shape}", None, f"(M, {N}) or ({K}, M, {N})")


def fixed_points_across_inputs(model, inputs, initial_states, *, labels=None, q_tolerance=1e-8,
                               unique_tolerance=1e-3, n_restarts=2, restart_scale=0.1, outlier_scale=10.0,
                               max_iterations=5000, learning_rate=0.01, newton_steps=8, seed=0, trajectories=None,
                               progress=None, should_stop=None):
    """Fixed points of ``model`` for every constant input of a family (see the module docstring).

    Args:
        model: a model with ``next_state``, or a weights dict / weight file.
        inputs: (K, N_in) constant inputs, finite (e.g. :func:`context_integration_inputs`).
        initial_states: (M, N_rec) starting states for every input, or (K, M, N_rec) one set
            per input (e.g. states visited under that input).
        labels: ``{name: (K,) values}`` describing the inputs (colours, groups).
        q_tolerance, unique_tolerance, max_iterations, learning_rate, newton_steps: as
            :func:`~psychrnn_widgets.analysis.find_fixed_points`.
        n_restarts: rounds of re-runs of non-converged candidates (0: none; default 2).
        restart_scale: their perturbation, times the starting states' spread (default 0.1).
        outlier_scale: points farther than this times the spread from the starting states'
            centroid are discarded (default 10).
        seed: of the perturbations.
        trajectories: (L, T, N_rec) states to draw behind the points (optional).
        progress: ``progress(fraction, message)``; should_stop: ``should_stop() -> bool``
            (checked between inputs and inside each search).

    Returns:
        :class:`FixedPointFamily`.
    """
    where = "fixed_points_across_inputs"
    (q_tolerance, unique_tolerance, n_restarts, restart_scale, outlier_scale, max_iterations, learning_rate,
     newton_steps, seed, progress, should_stop) = declared(
        where, q_tolerance=q_tolerance, unique_tolerance=unique_tolerance, n_restarts=n_restarts,
        restart_scale=restart_scale, outlier_scale=outlier_scale, max_iterations=max_iterations,
        learning_rate=learning_rate, newton_steps=newton_steps, seed=seed, progress=progress,
        should_stop=should_stop)
    model = as_tf_model(model)
    inputs = array(inputs, "inputs", where, shape=("K", f"N_in={model.N_in}"))
    K, N = inputs.shape[0], model.N_rec
    starts = _per_input_states(initial_states, K, N, where)
    labels = {} if labels is None else labels
    if not isinstance(labels, dict):
        fail(where, "labels", f"must be a dict of (K,) arrays, got {type(labels).__name__}", labels, "a dict")
    labels = {str(name): np.asarray(array(values, f"labels[{name!r}]", where, shape=(f"K={K}",)))
              for name, values in labels.items()}
    if trajectories is not None:
        trajectories = array(trajectories, "trajectories", where, shape=("L", "T", f"N_rec={N}"))
    report = progress or (lambda fraction, message: None)
    stop = should_stop or (lambda: False)
    rng = np.random.default_rng(seed)
    dt = float(getattr(model, "dt", None) or 1.0)
    found, restarts, outliers = [], np.zeros(K, np.int64), np.zeros(K, np.int64)
    options = dict(q_tolerance=q_tolerance, unique_tolerance=unique_tolerance, max_iterations=max_iterations,
                   learning_rate=learning_rate, newton_steps=newton_steps)
    for k in range(K):
        if stop():
            break
        x0 = starts[k]
        centroid = x0.mean(axis=0)
        spread = float(np.sqrt(np.mean(np.sum((x0 - centroid) ** 2, axis=1)))) or 1.0

        def inner_progress(fraction, message, k=k):
            report((k + fraction) / K, f"input {k + 1} of {K}: {message}")

        parts = [find_fixed_points(model, x0, inputs[k], progress=inner_progress, should_stop=stop, **options)]
        for _ in range(n_restarts):
            failed = parts[-1].initial_states[parts[-1].candidate_q >= q_tolerance]
            if not len(failed) or stop():
                break
            restarts[k] += len(failed)
            perturbed = failed + restart_scale * spread * rng.standard_normal(failed.shape)
            parts.append(find_fixed_points(model, perturbed, inputs[k], should_stop=stop, **options))
        points = np.concatenate([p.points for p in parts])
        keep = np.linalg.norm(points - centroid, axis=1) <= outlier_scale * spread
        outliers[k] = int(np.sum(~keep))
        q = np.concatenate([p.q for p in parts])
        values = np.concatenate([p.eigenvalues for p in parts])
        vectors = np.concatenate([p.eigenvectors for p in parts])
        stable = np.concatenate([p.stable for p in parts])
        unique = []
        for i in np.flatnonzero(keep)[np.argsort(q[keep], kind="stable")]:
            if all(np.linalg.norm(points[i] - points[j]) >= unique_tolerance for j in unique):
                unique.append(i)
        unique = np.asarray(unique, np.int64)
        top = np.real(vectors[unique, :, 0]) if len(unique) else np.zeros((0, N))
        norms = np.linalg.norm(top, axis=1, keepdims=True)
        found.append((points[unique], q[unique], values[unique], top / np.where(norms > 0, norms, 1.0),
                      stable[unique], np.full(len(unique), k)))
    if found:
        points, q, values, top, stable, index = (np.concatenate(parts) for parts in zip(*found))
    else:
        points, q, values = np.zeros((0, N)), np.zeros(0), np.zeros((0, N), complex)
        top, stable, index = np.zeros((0, N)), np.zeros(0, bool), np.zeros(0, np.int64)
    report(1.0, f"{len(points)} fixed points over {K} inputs")
    return FixedPointFamily(inputs=inputs, points=points, input_index=index.astype(np.int64), q=q,
                            eigenvalues=values, top_mode=top, stable=stable.astype(bool),
                            time_constants=_time_constants(values, dt), dt=dt, restarts=restarts, outliers=outliers,
                            labels=labels, trajectories=trajectories)


@dataclass(repr=False)
class LineAttractorSummary(AnalysisResult):
    """How line-like each group's fixed points are (:func:`line_attractor_summary`).

    Per group (G of them, named ``groups``):
        n_points (G,): fixed points in the group.
        pc1_fraction (G,): variance of the group's points explained by their first PC.
        extent (G,): their spread along that PC (max - min, state units).
        largest_gap (G,): the largest gap between neighbouring points along that PC, as a
            fraction of the extent (small for points filling a line; near 1 for two clusters
            at its ends, i.e. a pair of point attractors).
        slow_tau, second_tau (G,): median over the group's points of |tau| of the slowest and
            of the second mode (ms; a slow mode may grow -- a marginally unstable point on the
            line -- or decay).
        tau_ratio (G,): median over the group's points of |tau_1| / |tau_2|, the separation
            of the slow mode from the next (dimensionless; one slow mode: >> 1; e.g. 3 means
            the slow mode relaxes 3 times more slowly than any other).
        spectrum (G, N_rec): median over the group's points of |tau| of the k-th mode (ms),
            slowest first (a complex-conjugate pair is one mode, so the last columns are NaN
            where pairs are; columns 0 and 1 are ``slow_tau`` and ``second_tau``) -- one
            slow mode: one value far above the rest.
        unstable_fraction (G,): fraction of the points with an unstable top mode.
        alignment (G,): median |cos| between each point's top mode and the group's PC1.
        directions (G, N_rec): each group's PC1.
    """

    groups: np.ndarray
    n_points: np.ndarray
    pc1_fraction: np.ndarray
    extent: np.ndarray
    largest_gap: np.ndarray
    slow_tau: np.ndarray
    second_tau: np.ndarray
    tau_ratio: np.ndarray
    alignment: np.ndarray
    unstable_fraction: np.ndarray
    directions: np.ndarray
    spectrum: np.ndarray = None
    group_by: str = ""
    figsize = (9.0, 3.8)

    def draw(self, figure):
        """Two panels: the line measures per group (:meth:`plot`) and the time constants (:meth:`plot_spectrum`)."""
        self.plot(figure.add_subplot(1, 2, 1))
        self.plot_spectrum(figure.add_subplot(1, 2, 2))

    def plot_spectrum(self, ax, n_modes=10):
        """Each group's median |tau| of its ``n_modes`` slowest modes (log scale): one slow mode stands alone."""
        if self.spectrum is None:
            ax.set_axis_off()
            return
        shown = self.spectrum[:, :n_modes]
        rank = np.arange(1, shown.shape[1] + 1)
        for i, g in enumerate(self.groups):
            ax.plot(rank, shown[i], "o-", color=f"C{i}", ms=4, lw=1.2,
                    label=f"{self.group_by} {_level(g)}: tau1/tau2 {self.tau_ratio[i]:.1f}")
        ax.set_yscale("log")
        ax.set_xticks(rank)
        ax.set_xlabel("mode (slowest first)")
        ax.set_ylabel("time constant |tau| (ms), median over points")
        ax.legend(fontsize=7, loc="upper right")
        ax.set_title("linearised time constants at the fixed points", fontsize=9)

    def plot(self, ax):
        x = np.arange(len(self.groups))
        ax.bar(x - 0.2, self.pc1_fraction, width=0.4, label="PC1 variance fraction")
        ax.bar(x + 0.2, self.alignment, width=0.4, label="|cos| top mode vs PC1")
        for i, ratio in enumerate(self.tau_ratio):
            ax.text(i, 1.02, f"|tau1/tau2| {ratio:.1f}, gap {self.largest_gap[i]:.2f}", ha="center", fontsize=7)
        ax.set_xticks(x, [f"{self.group_by} {_level(g)}" for g in self.groups])
        ax.set_ylim(0, 1.15)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title("line attractor per group", fontsize=9)


def line_attractor_summary(family, group_by=None):
    """Quantify the line attractor of each group of inputs of a :class:`FixedPointFamily`.

    ``group_by``: a key of ``family.labels`` (default its first label; without labels all
    inputs are one group).  Groups with fewer than 2 points get NaN for the line measures.

    The time constants are those of the network's one-step map linearised at each point,
    ``|tau| = dt / |ln|lambda||`` in ms (``family.dt`` per step); ``tau_ratio`` -- the
    median over the points of the slowest over the second -- is the slow-mode separation.
    """
    where = "line_attractor_summary"
    if not isinstance(family, FixedPointFamily):
        fail(where, "family", f"must be a FixedPointFamily, got {type(family).__name__}", family, "a FixedPointFamily")
    if group_by is None:
        group_by = next(iter(family.labels), None)
    if group_by is not None and group_by not in family.labels:
        fail(where, "group_by", f"must be one of the family's labels {sorted(family.labels)}, got {group_by!r}",
             group_by, "a label name")
    per_input = family.labels[group_by] if group_by is not None else np.zeros(len(family.inputs))
    groups = np.array(list(dict.fromkeys(np.asarray(per_input).tolist())))
    N = family.points.shape[1]
    modes = np.abs(_time_constants(family.eigenvalues, family.dt, N))  # column 0, 1: |family.time_constants|
    rows = {key: [] for key in ("n_points", "pc1_fraction", "extent", "largest_gap", "slow_tau", "second_tau",
                                "tau_ratio", "alignment", "unstable_fraction", "directions", "spectrum")}
    for g in groups:
        chosen = np.isin(family.input_index, np.flatnonzero(np.asarray(per_input) == g))
        points = family.points[chosen]
        rows["n_points"].append(len(points))
        tau = np.abs(family.time_constants[chosen])
        rows["slow_tau"].append(float(np.median(tau[:, 0])) if len(points) else np.nan)
        rows["second_tau"].append(float(np.median(tau[:, 1])) if len(points) else np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            rows["tau_ratio"].append(float(np.median(tau[:, 0] / tau[:, 1])) if len(points) else np.nan)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: points with fewer modes than N_rec
            rows["spectrum"].append(np.nanmedian(modes[chosen], axis=0) if len(points) else np.full(N, np.nan))
        rows["unstable_fraction"].append(float(np.mean(np.abs(family.eigenvalues[chosen, 0]) > 1.0))
                                         if len(points) else np.nan)
        if len(points) < 2:
            rows["pc1_fraction"].append(np.nan)
            rows["extent"].append(np.nan)
            rows["largest_gap"].append(np.nan)
            rows["alignment"].append(np.nan)
            rows["directions"].append(np.full(N, np.nan))
            continue
        fitted = pca(points, 1)
        direction = fitted.components[0]
        variance = np.sum((points - points.mean(axis=0)) ** 2)
        rows["pc1_fraction"].append(float(fitted.explained[0]) if variance > 0 else np.nan)
        along = np.sort(points @ direction)
        extent = float(along[-1] - along[0])
        rows["extent"].append(extent)
        rows["largest_gap"].append(float(np.max(np.diff(along)) / extent) if extent > 0 else np.nan)
        rows["alignment"].append(float(np.median(np.abs(family.top_mode[chosen] @ direction))))
        rows["directions"].append(direction)
    arrays = {key: np.asarray(value, np.int64 if key == "n_points" else np.float64) for key, value in rows.items()}
    return LineAttractorSummary(groups=groups, group_by=group_by or "", **arrays)


def context_line_attractors(source, *, n_trials=40, n_starts=256, q_tolerance=1e-4, newton_steps=0, seed=0,
                            progress=None, should_stop=None):
    """Mante et al.'s analysis of a :class:`~psychrnn_widgets.tasks.ContextDependentIntegration` network.

    For each context: ``n_trials`` noise-free trials of that context (all coherences, the
    task's default timing with a 300 ms delay, seeded), ``n_starts`` starting states drawn
    from the states of their stimulus and delay periods (from 200 ms to 1250 ms), and a
    search for slow points under that context's input with no evidence (fixation on) --
    :func:`context_integration_inputs`.  Slow points rather than only exact fixed points
    (``q_tolerance`` 1e-4, no Newton polishing, which would pull every point of an
    approximate line to its few exact fixed points), as Mante et al. did.

    Returns:
        :class:`FixedPointFamily` labelled by ``context``, with the trials' states as
        ``trajectories`` (10 per context); :func:`line_attractor_summary` quantifies it.
    """
    import warnings

    from ..tasks import ContextDependentIntegration
    from ._source import as_simulator, simulate
    from .fixed_points import sample_states

    where = "context_line_attractors"
    n_trials, n_starts, seed = declared(where, n_trials=n_trials, n_starts=n_starts, seed=seed)
    sim = as_simulator(source)
    if sim.N_in != 5:
        fail(where, "source", f"must be a ContextDependentIntegration network (5 inputs), got {sim.N_in} inputs",
             None, "a network with 5 inputs")
    inputs, labels = context_integration_inputs()
    starts, trajectories = [], []
    for context in (0, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            task = ContextDependentIntegration(dt=sim.dt or 10.0, tau=sim.tau or 100.0, context=context,
                                               delay=300.0, seed=seed + context)
        x, _, _, _ = task.generate_batch(N_batch=n_trials or 40, noise=False)
        _, states, _ = simulate(sim, x, rates=False)
        first, last = int(round(200.0 / task.dt)), int(round(1250.0 / task.dt))
        starts.append(sample_states(states[:, first:last], n_starts, seed=seed + context))
        trajectories.append(states[:10])
    return fixed_points_across_inputs(source, inputs, np.stack(starts), labels=labels, q_tolerance=q_tolerance,
                                      unique_tolerance=1e-2, newton_steps=newton_steps, seed=seed,
                                      trajectories=np.concatenate(trajectories), progress=progress,
                                      should_stop=should_stop)
