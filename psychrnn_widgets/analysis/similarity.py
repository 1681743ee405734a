"""How alike two networks' representations are: linear CKA, the Procrustes shape metric, SVCCA.

Each function compares two *sides* on the same trials -- activity arrays ``(trials, time,
units)`` (the unit counts may differ) or networks run on the same noise-free trials of a
task (see :mod:`~psychrnn_widgets.analysis._activity`; rates by default, ``signal='states'``
for the pre-activation states).  Every (trial, time step) is one sample: a side is the
matrix ``X (n = trials * time, units)``, and every measure works on its *centred* columns
(each unit's mean over samples removed), so a constant offset never counts.

* :func:`cka` -- linear centred kernel alignment (Kornblith, Norouzi, Lee & Hinton 2019,
  "Similarity of neural network representations revisited", ICML):
  ``||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)``, in [0, 1], 1 for identical
  representations; unchanged by an orthogonal transform or a uniform scaling of either
  side (not by an arbitrary invertible map).
* :func:`procrustes_distance` -- the shape metric of Williams, Kunz, Kornblith & Linderman
  (2021), "Generalized shape metrics on neural representations" (NeurIPS): the distance
  left after the best rotation/reflection ``Q`` of one side onto the other.  ``'angular'``
  (default): ``arccos(max_Q <X, Y Q> / (||X|| ||Y||))`` in radians, in [0, pi/2], blind to
  scale; ``'euclidean'``: ``min_Q ||X - Y Q||_F / sqrt(n)`` (the size-and-shape distance,
  root-mean-square per sample, in the activity's units).  Both are metrics (symmetric,
  triangle inequality).  *Different unit counts*: the smaller side is padded with zero
  units, as Williams et al. do -- equivalently ``Q`` has orthonormal columns into the larger
  space, and ``max_Q <X, YQ>`` is the nuclear norm of ``X^T Y``.  Their other option,
  projecting both sides onto their first ``k`` principal components first, is
  ``n_pcs=k``.
* :func:`cca_similarity` -- SVCCA (Raghu, Gilmer, Yosinski & Sohl-Dickstein 2017, "SVCCA:
  singular vector canonical correlation analysis", NeurIPS): each side is reduced to the
  principal components that explain ``variance_kept`` (default 0.99) of its variance (or
  its first ``n_pcs``), then canonical correlation analysis between the two; the result is
  the *mean canonical correlation* over the ``min(k_a, k_b)`` pairs, in [0, 1].
  ``variance_kept=1`` is plain CCA of all (non-degenerate) dimensions.

:func:`compare` runs the networks once and returns these and
:func:`~psychrnn_widgets.analysis.dsa_distance` together (a :class:`Comparison`).
"""
from dataclasses import dataclass

import numpy as np

from ._activity import paired_activity
from ._inputs import declared, fail
from ._results import AnalysisResult

__all__ = ["Similarity", "CKA", "ShapeDistance", "CCASimilarity", "Comparison", "cka", "procrustes_distance",
           "cca_similarity", "compare", "centred_samples", "varies"]

#: trials drawn in a result's figure (at most)
FIGURE_TRIALS = 20


def varies(activity):
    """Whether ``activity`` (..., units) varies at all over its samples (some unit not constant, up to rounding)."""
    flat = activity.reshape(-1, activity.shape[-1])
    return bool(np.linalg.norm(flat - flat.mean(axis=0)) > 1e-12 * max(1.0, float(np.abs(flat).max())))


def centred_samples(activity, name, where):
    """``activity`` (trials, time, units) as samples ``(trials * time, units)``, each unit's mean removed.

    Raises ``ParameterError`` naming ``name`` when nothing varies (every unit constant): no
    similarity is defined then.
    """
    flat = activity.reshape(-1, activity.shape[-1])
    centred = flat - flat.mean(axis=0)
    if not varies(activity):
        fail(where, name, f"does not vary: every one of its {activity.shape[-1]} units is constant over the "
             f"{flat.shape[0]} samples (a silent network?), so no similarity is defined", None,
             "activity that varies over trials or time")
    return centred


@dataclass(repr=False)
class Similarity(AnalysisResult):
    """One number comparing two representations, with what it was computed from.

    Attributes:
        metric (str): which measure (``'cka'``, ``'procrustes_angular'``, ...).
        value (float): the measure; ``float(result)`` gives it too.
        n_samples (int): samples compared (trials x time steps).
        n_units_a, n_units_b (int): units of each side.
        trajectories_a, trajectories_b (trials, time, 2): for the figure, side a on its
            first two principal components and side b mapped onto a's units by the
            orthogonal Procrustes map (so matching representations overlap), then projected
            the same way.
    """

    metric: str
    value: float
    n_samples: int
    n_units_a: int
    n_units_b: int
    trajectories_a: np.ndarray
    trajectories_b: np.ndarray

    #: plain-language name of the measure, for figure titles
    label = "similarity"

    def __float__(self):
        return float(self.value)

    def plot(self, ax):
        for i, (line_a, line_b) in enumerate(zip(self.trajectories_a[:FIGURE_TRIALS],
                                                 self.trajectories_b[:FIGURE_TRIALS])):
            ax.plot(line_a[:, 0], line_a[:, 1], color="#1f77b4", lw=0.9, alpha=0.8, label="a" if i == 0 else None)
            ax.plot(line_b[:, 0], line_b[:, 1], color="#d62728", lw=0.9, ls="--", alpha=0.8,
                    label="b (aligned)" if i == 0 else None)
        ax.set_xlabel("PC1 of a")
        ax.set_ylabel("PC2 of a")
        ax.legend(fontsize=7)
        ax.set_title(f"{self.label} = {self.value:.3g}", fontsize=9)


@dataclass(repr=False)
class CKA(Similarity):
    """Linear CKA (see the module docstring): ``value`` in [0, 1]."""

    label = "linear CKA"


@dataclass(repr=False)
class ShapeDistance(Similarity):
    """Procrustes shape distance (see the module docstring).

    Extra attributes: ``distance`` (``'angular'`` radians or ``'euclidean'`` RMS per
    sample), ``n_pcs`` (None: zero padding to the larger unit count; k: both sides first
    projected onto their first k principal components).
    """

    distance: str = "angular"
    n_pcs: int = None

    @property
    def label(self):
        return f"Procrustes ({self.distance})"


@dataclass(repr=False)
class CCASimilarity(Similarity):
    """SVCCA (see the module docstring): ``value`` is the mean of ``correlations``.

    Extra attributes: ``correlations`` (k,) canonical correlations, largest first;
    ``dims_a``, ``dims_b`` the principal components kept of each side; ``variance_kept``.
    """

    correlations: np.ndarray = None
    dims_a: int = 0
    dims_b: int = 0
    variance_kept: float = 0.99
    label = "SVCCA"

    def plot(self, ax):
        k = np.arange(1, len(self.correlations) + 1)
        ax.bar(k, self.correlations, color="0.6", width=0.8)
        ax.axhline(self.value, color="#d62728", lw=1, label=f"mean {self.value:.3f}")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("canonical pair")
        ax.set_ylabel("correlation")
        ax.legend(fontsize=7)
        ax.set_title(f"SVCCA ({self.dims_a} and {self.dims_b} PCs) = {self.value:.3g}", fontsize=9)


def _display(A, X, Y):
    """``(trajectories_a, trajectories_b)`` (B, T, 2): a on its first two PCs, b aligned onto a by Procrustes."""
    B, T = A.shape[:2]
    product = X.T @ Y  # (p, q)
    U, _, Vt = np.linalg.svd(product, full_matrices=False)
    aligned = Y @ (Vt.T @ U.T)  # b in a's unit space, (n, p)
    _, _, components = np.linalg.svd(X, full_matrices=False)
    components = components[:2]
    if components.shape[0] < 2:
        components = np.vstack([components, np.zeros((2 - components.shape[0], X.shape[1]))])
    signs = np.sign(components[np.arange(2), np.argmax(np.abs(components), axis=1)])
    components = components * np.where(signs == 0, 1.0, signs)[:, None]
    return (X @ components.T).reshape(B, T, 2), (aligned @ components.T).reshape(B, T, 2)


def _principal_scores(X, n_pcs, variance_kept, name, where):
    """Orthonormal principal-component scores of centred ``X``: ``(U_k (n, k), k)``."""
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    nonzero = s > s[0] * 1e-10
    U, s = U[:, nonzero], s[nonzero]
    if n_pcs is not None:
        k = min(n_pcs, len(s))
    else:
        explained = np.cumsum(s ** 2) / np.sum(s ** 2)
        k = int(np.searchsorted(explained, variance_kept - 1e-12) + 1)
    return U[:, :k], s[:k], min(k, len(s))


def _prepare(a, b, where, task, x, signal, n_trials, seed):
    A, B_ = paired_activity(a, b, where, task=task, x=x, signal=signal, n_trials=n_trials, seed=seed)
    return A, B_, centred_samples(A, "a", where), centred_samples(B_, "b", where)


def _cka(A, X, Y):
    numerator = np.linalg.norm(X.T @ Y) ** 2
    value = numerator / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))
    return CKA(metric="cka", value=float(np.clip(value, 0.0, 1.0)), n_samples=X.shape[0], n_units_a=X.shape[1],
               n_units_b=Y.shape[1], **dict(zip(("trajectories_a", "trajectories_b"), _display(A, X, Y))))


def cka(a, b, task=None, *, x=None, signal="rates", n_trials=None, seed=0):
    """Linear CKA between two representations (Kornblith et al. 2019; see the module docstring).

    Args:
        a, b: activity arrays (trials, time, units) with the same trials and time steps
            (unit counts may differ), or networks (model, weights dict, weight file,
            simulator) to run on the same trials.
        task: the task whose noise-free trials the networks run (``n_trials`` of them,
            default 100, drawn from a copy seeded with ``seed``); or give ``x``
            (trials, time, N_in), the inputs themselves.
        signal: ``'rates'`` (default) or ``'states'``: what a network contributes.

    Returns:
        :class:`CKA`: ``value`` in [0, 1] (``float(result)``).

    Raises:
        ParameterError: naming the argument (shapes, NaN/inf, empty, mismatched trials,
            a side that does not vary, networks without a task).
    """
    A, _, X, Y = _prepare(a, b, "cka", task, x, signal, n_trials, seed)
    return _cka(A, X, Y)


def _procrustes(A, X, Y, distance, n_pcs, where):
    if n_pcs is not None:
        Ux, sx, _ = _principal_scores(X, n_pcs, None, "a", where)
        Uy, sy, _ = _principal_scores(Y, n_pcs, None, "b", where)
        Xc, Yc = Ux * sx, Uy * sy
    else:
        Xc, Yc = X, Y
    nuclear = float(np.sum(np.linalg.svd(Xc.T @ Yc, compute_uv=False)))
    norm_x, norm_y = np.linalg.norm(Xc), np.linalg.norm(Yc)
    if distance == "angular":
        value = float(np.arccos(np.clip(nuclear / (norm_x * norm_y), -1.0, 1.0)))
    else:
        value = float(np.sqrt(max(norm_x ** 2 + norm_y ** 2 - 2.0 * nuclear, 0.0) / X.shape[0]))
    shown = _display(A, X, Y)
    return ShapeDistance(metric=f"procrustes_{distance}", value=value, n_samples=X.shape[0], n_units_a=X.shape[1],
                         n_units_b=Y.shape[1], trajectories_a=shown[0], trajectories_b=shown[1], distance=distance,
                         n_pcs=n_pcs)


def procrustes_distance(a, b, task=None, *, distance="angular", n_pcs=None, x=None, signal="rates", n_trials=None,
                        seed=0):
    """The Procrustes shape distance of Williams et al. (2021) (see the module docstring).

    Args:
        a, b, task, x, signal, n_trials, seed: as :func:`cka`.
        distance: ``'angular'`` (default; radians in [0, pi/2], scale-free) or
            ``'euclidean'`` (RMS per sample, in the activity's units).
        n_pcs: None (default): pad the side with fewer units with zero units; an integer
            k: first project both sides onto their first k principal components.

    Returns:
        :class:`ShapeDistance`: ``value`` 0 when one side is a rotation/reflection of the
        other (and, for ``'angular'``, a uniform scaling).
    """
    where = "procrustes_distance"
    distance, n_pcs = declared(where, distance=distance, n_pcs=n_pcs)
    A, _, X, Y = _prepare(a, b, where, task, x, signal, n_trials, seed)
    return _procrustes(A, X, Y, distance, n_pcs, where)


def _cca(A, X, Y, variance_kept, n_pcs, where):
    Ux, _, kx = _principal_scores(X, n_pcs, variance_kept, "a", where)
    Uy, _, ky = _principal_scores(Y, n_pcs, variance_kept, "b", where)
    if X.shape[0] <= kx + ky:
        fail(where, "a", f"has {X.shape[0]} samples (trials x time), too few for canonical correlations of "
             f"{kx} and {ky} dimensions: give more trials, or lower variance_kept / n_pcs", None,
             f"more than {kx + ky} samples")
    correlations = np.clip(np.linalg.svd(Ux.T @ Uy, compute_uv=False), 0.0, 1.0)
    shown = _display(A, X, Y)
    return CCASimilarity(metric="svcca", value=float(np.mean(correlations)), n_samples=X.shape[0],
                         n_units_a=X.shape[1], n_units_b=Y.shape[1], trajectories_a=shown[0],
                         trajectories_b=shown[1], correlations=correlations, dims_a=kx, dims_b=ky,
                         variance_kept=float(variance_kept))


def cca_similarity(a, b, task=None, *, variance_kept=0.99, n_pcs=None, x=None, signal="rates", n_trials=None,
                   seed=0):
    """SVCCA: mean canonical correlation of the two sides' leading principal components (Raghu et al. 2017).

    Args:
        a, b, task, x, signal, n_trials, seed: as :func:`cka`.
        variance_kept: keep, of each side, the fewest principal components that explain
            this fraction of its variance (0 < v <= 1; default 0.99 as Raghu et al.).
        n_pcs: keep exactly this many components of each side instead (None: use
            ``variance_kept``).

    Returns:
        :class:`CCASimilarity`: ``value`` the mean canonical correlation in [0, 1],
        ``correlations`` each pair's.
    """
    where = "cca_similarity"
    variance_kept, n_pcs = declared(where, variance_kept=variance_kept, n_pcs=n_pcs)
    A, _, X, Y = _prepare(a, b, where, task, x, signal, n_trials, seed)
    return _cca(A, X, Y, variance_kept, n_pcs, where)


@dataclass(repr=False)
class Comparison(AnalysisResult):
    """Several measures between the same two sides (:func:`compare`); None for a measure not asked for.

    ``values()`` gives ``{metric: value}``; the figure has one panel per measure.
    """

    cka: CKA = None
    procrustes: ShapeDistance = None
    cca: CCASimilarity = None
    dsa: AnalysisResult = None
    figsize = (13.0, 3.4)

    def results(self):
        """``{name: result}`` of the measures computed."""
        return {name: value for name, value in (("cka", self.cka), ("procrustes", self.procrustes),
                                                 ("cca", self.cca), ("dsa", self.dsa)) if value is not None}

    def values(self):
        """``{name: float}`` of the measures computed."""
        return {name: float(result.value) for name, result in self.results().items()}

    def draw(self, figure):
        results = self.results()
        for i, result in enumerate(results.values()):
            result.plot(figure.add_subplot(1, len(results), i + 1))


METRICS = ("cka", "procrustes", "cca", "dsa")


def compare(a, b, task=None, *, metrics=METRICS, x=None, signal="rates", n_trials=None, seed=0, distance="angular",
            dsa_options=None):
    """Compare two sides with several measures at once, running each network only once.

    Args:
        a, b, task, x, signal, n_trials, seed: as :func:`cka`.
        metrics: any of ``'cka'``, ``'procrustes'``, ``'cca'``, ``'dsa'`` (default all).
        distance: the Procrustes distance, ``'angular'`` or ``'euclidean'``.
        dsa_options: keyword arguments for :func:`~psychrnn_widgets.analysis.dsa_distance`
            (``n_delays``, ``rank``...).

    Returns:
        :class:`Comparison`.
    """
    where = "compare"
    if isinstance(metrics, str):
        metrics = (metrics,)
    try:
        metrics = tuple(metrics)
    except TypeError:
        fail(where, "metrics", f"must be names among {METRICS}, got {metrics!r}", metrics, f"names among {METRICS}")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        fail(where, "metrics", f"must be names among {METRICS}, got {unknown[0] if unknown else 'none'!r}", metrics,
             f"names among {METRICS}")
    distance = declared(where, distance=distance)
    if dsa_options is not None and not isinstance(dsa_options, dict):
        fail(where, "dsa_options", f"must be a dict of dsa_distance's keyword arguments, got "
             f"{type(dsa_options).__name__}", dsa_options, "a dict")
    A, B_, X, Y = _prepare(a, b, where, task, x, signal, n_trials, seed)
    found = {}
    if "cka" in metrics:
        found["cka"] = _cka(A, X, Y)
    if "procrustes" in metrics:
        found["procrustes"] = _procrustes(A, X, Y, distance, None, where)
    if "cca" in metrics:
        found["cca"] = _cca(A, X, Y, 0.99, None, where)
    if "dsa" in metrics:
        from .dynamics import dsa_distance

        found["dsa"] = dsa_distance(A, B_, **(dsa_options or {}))
    return Comparison(**found)
