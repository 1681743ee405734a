"""How alike two systems' *dynamics* are: dynamical similarity analysis (DSA).

Ostrow, Eisen, Kozachkov & Fiete (2023), "Beyond geometry: comparing the temporal
structure of computation in neural circuits with dynamical similarity analysis"
(NeurIPS).  Two systems can trace similar shapes with different dynamics, and the same
dynamics can look different in state space; DSA compares the linear operators that
advance each system in time, up to a change of coordinates.  Three steps per side (each
side an activity array ``(trials, time, units)`` or a network run on the same trials: see
:mod:`~psychrnn_widgets.analysis._activity`):

1. **Delay embedding** (:func:`delay_embedding`): each time step becomes the row
   ``[x_t, x_{t-s}, ..., x_{t-(d-1)s}]`` (``d = n_delays``, ``s = delay_interval``), a
   Hankel matrix of ``trials * (T - (d-1) s)`` rows and ``units * d`` columns, so that a
   linear map can follow nonlinear and partly observed dynamics (Takens; the HAVOK
   construction of Brunton et al. 2017).
2. **Reduced-rank DMD** (:func:`havok_dmd`): the Hankel matrix's singular value
   decomposition ``H = U S V^T``; the first ``rank`` columns of ``U`` are the *eigen-time-
   delay coordinates* ``v_t`` (unit-norm columns; each column's sign fixed so that its
   largest entry is positive, which makes the result independent of the units' basis).
   DMD is the least-squares (ridge ``ridge``) operator ``A (rank, rank)`` with
   ``v_{t+1} ~ A v_t`` over consecutive steps within each trial.  The data are not
   centred (as Ostrow et al.), so an offset is part of the dynamics.
3. **Procrustes over vector fields** (:func:`similarity_transform_distance`): with both
   operators scaled to unit Frobenius norm (a smaller one padded with zero rows and
   columns), the best orthogonal change of coordinates ``C`` (rotations *and*
   reflections) maximises ``<A, C B C^T>``; the **angular** distance (default) is
   ``arccos(<A, C B C^T>)`` in radians, in [0, pi]; the **euclidean** one
   ``||A - C B C^T||_F``, in [0, 2].  0: one system's dynamics are the other's in rotated
   coordinates.

The optimisation over the orthogonal group: Ostrow et al. run Adam on a Cayley
parametrisation from the identity (and one reflected start).  Here each start ``C0`` is
refined by L-BFGS (``scipy.optimize.minimize``) over ``C = C0 cayley(S)``, ``S``
skew-symmetric, with the exact gradient, re-centred at the optimum until it stops
improving (the Cayley chart is exact -- ``C`` stays orthogonal -- and covers all of
``SO(n)`` near ``C0``).  The objective has local optima, so ``n_starts`` starts are
tried and the best kept: the identity, a reflection (the other component of ``O(n)``),
the map that aligns the eigenvectors of the operators' symmetric parts, the Procrustes
alignment of the two eigen-time-delay coordinate sets when both sides ran on the same
trials (then exactly the map between a system and its rotated copy), and random
orthogonal matrices (seeded).  Alternating Procrustes would not do: it solves the
two-sided problem ``C1 B C2^T`` whose two maps need not agree.  ``benchmarks/
dsa_reference.py`` compares the distances with the authors' ``dsa-metric`` package.

Scale: with small steps (``dt / tau = 0.1`` for the built-in tasks) every operator is close
to the identity, so distances are small in absolute terms (0.015-0.07 in
``benchmarks/dsa_reference.py``); read them against each other -- e.g. against two networks
that should match -- rather than against an absolute scale, or compare at a coarser step
(``delay_interval``, or activity subsampled in time).

Defaults and their meaning (all declared in ``psychrnn_widgets.params.ANALYSIS_PARAMS``):
``n_delays=10`` delays, ``delay_interval=1`` step, ``rank=10`` DMD dimensions (at most
``units * n_delays``), ``ridge=0`` (no regularisation of the DMD fit),
``distance='angular'``, ``n_starts=10``, ``n_iterations=500`` L-BFGS iterations per start and chart.
"""
from dataclasses import dataclass

import numpy as np

from ._activity import paired_activity
from ._inputs import array, declared, fail
from ._results import AnalysisResult

__all__ = ["DMD", "DSADistance", "delay_embedding", "havok_dmd", "similarity_transform_distance", "dsa_distance"]


def delay_embedding(activity, n_delays=10, delay_interval=1):
    """The delay embedding ``(trials, T - (n_delays-1)*delay_interval, units * n_delays)`` of ``activity``.

    ``activity`` (trials, time, units), finite.  Row ``t`` of a trial holds
    ``[x_t, x_{t-s}, ..., x_{t-(d-1)s}]`` (most recent first).  Raises ``ParameterError``
    naming ``n_delays`` when the trials are too short for the delays.
    """
    where = "delay_embedding"
    activity = array(activity, "activity", where, shape=("trials", "time", "units"))
    n_delays, delay_interval = declared(where, n_delays=n_delays, delay_interval=delay_interval)
    return _embed(activity, n_delays, delay_interval, where)


def _embed(activity, n_delays, delay_interval, where):
    span = (n_delays - 1) * delay_interval
    T = activity.shape[1]
    if T - span < 2:
        fail(where, "n_delays", f"x delay_interval spans {span} steps, too many for trials of {T} steps (at least "
             "2 embedded steps are needed)", n_delays, f"(n_delays - 1) * delay_interval <= {T - 2}")
    blocks = [activity[:, span - k * delay_interval:T - k * delay_interval] for k in range(n_delays)]
    return np.concatenate(blocks, axis=2)


@dataclass(repr=False)
class DMD(AnalysisResult):
    """A reduced-rank DMD fit of one system (:func:`havok_dmd`).

    Attributes:
        operator (rank, rank): ``A`` with ``v_{t+1} ~ A v_t`` in eigen-time-delay coordinates.
        eigenvalues (rank,) complex: of ``A``, largest modulus first (a discrete-time map:
            modulus 1 is a mode that neither grows nor decays).
        singular_values (K,): of the Hankel matrix (all of them, largest first).
        coordinates (trials, T', rank): the eigen-time-delay coordinates ``v_t``.
        n_delays, delay_interval, rank (int); ridge (float).
    """

    operator: np.ndarray
    eigenvalues: np.ndarray
    singular_values: np.ndarray
    coordinates: np.ndarray
    n_delays: int
    delay_interval: int
    rank: int
    ridge: float

    def to_arrays(self):
        arrays = super().to_arrays()
        value = arrays.pop("eigenvalues")
        arrays["eigenvalues_real"], arrays["eigenvalues_imag"] = value.real, value.imag
        return arrays

    def plot(self, ax):
        _eigen_plot(ax, [(self.eigenvalues, "DMD", "#1f77b4", "o")])
        ax.set_title(f"DMD eigenvalues (rank {self.rank}, {self.n_delays} delays)", fontsize=9)


def _eigen_plot(ax, sets):
    """Eigenvalues on the complex plane with the unit circle, zoomed onto where they lie."""
    angle = np.linspace(0, 2 * np.pi, 2000)
    ax.plot(np.cos(angle), np.sin(angle), color="0.75", lw=0.8)
    every = np.concatenate([values for values, _, _, _ in sets])
    for values, label, color, marker in sets:
        ax.plot(values.real, values.imag, marker, mfc="none", mec=color, ms=6, ls="none", label=label)
    if every.size:
        centre = np.array([(every.real.max() + every.real.min()) / 2, (every.imag.max() + every.imag.min()) / 2])
        half = 0.6 * max(np.ptp(every.real), np.ptp(every.imag), 0.05)
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_aspect("equal")
    ax.set_xlabel("Re")
    ax.set_ylabel("Im")
    ax.legend(fontsize=7)


def havok_dmd(activity, n_delays=10, delay_interval=1, rank=10, ridge=0.0):
    """Reduced-rank DMD on the delay embedding of ``activity`` (see the module docstring, steps 1-2).

    Args:
        activity: (trials, time, units), finite.
        n_delays, delay_interval: the delay embedding (:func:`delay_embedding`).
        rank: eigen-time-delay coordinates kept, at most ``units * n_delays`` and the
            number of embedded samples.
        ridge: ridge penalty of the least-squares fit (>= 0; the coordinates have unit
            norm, so it is relative to 1).

    Returns:
        :class:`DMD`.
    """
    where = "havok_dmd"
    activity = array(activity, "activity", where, shape=("trials", "time", "units"))
    n_delays, delay_interval, rank, ridge = declared(where, n_delays=n_delays, delay_interval=delay_interval,
                                                     rank=rank, ridge=ridge)
    return _dmd(activity, n_delays, delay_interval, rank, ridge, where, "activity")


def _dmd(activity, n_delays, delay_interval, rank, ridge, where, name):
    embedded = _embed(activity, n_delays, delay_interval, where)
    trials, steps, width = embedded.shape
    if rank > min(width, trials * steps):
        fail(where, "rank", f"must be at most {min(width, trials * steps)} for {name} (units x n_delays = {width}, "
             f"{trials * steps} embedded samples), got {rank}", rank,
             f"an integer in [1, {min(width, trials * steps)}]")
    U, s, _ = np.linalg.svd(embedded.reshape(-1, width), full_matrices=False)
    if s[0] <= 0 or s[rank - 1] <= s[0] * 1e-12:
        fail(where, name, f"has fewer than rank={rank} independent delay coordinates (the singular values fall to "
             f"{s[rank - 1]:.3g} of {s[0]:.3g}): lower rank, or give activity that varies more", None,
             "activity with at least rank independent directions")
    coordinates = U[:, :rank]
    largest = coordinates[np.argmax(np.abs(coordinates), axis=0), np.arange(rank)]
    coordinates = coordinates * np.where(largest < 0, -1.0, 1.0)
    coordinates = coordinates.reshape(trials, steps, rank)
    before = coordinates[:, :-1].reshape(-1, rank)
    after = coordinates[:, 1:].reshape(-1, rank)
    gram = before.T @ before + ridge * np.eye(rank)
    operator = np.linalg.solve(gram, before.T @ after).T
    eigenvalues = np.linalg.eigvals(operator)
    eigenvalues = eigenvalues[np.argsort(-np.abs(eigenvalues), kind="stable")]
    return DMD(operator=operator, eigenvalues=eigenvalues, singular_values=s, coordinates=coordinates,
               n_delays=n_delays, delay_interval=delay_interval, rank=rank, ridge=float(ridge))


# --------------------------------------------------------------- Procrustes over vector fields
def _skew(params, n, upper):
    S = np.zeros((n, n))
    S[upper] = params
    return S - S.T


def _refine(A, B, C0, n_iterations, upper):
    """Maximise ``<A, C B C^T>`` over ``C = C0 cayley(S)`` from ``S = 0``; returns ``(C, value)``."""
    from scipy.optimize import minimize

    n = A.shape[0]
    eye = np.eye(n)

    def objective(params):
        S = _skew(params, n, upper)
        inverse = np.linalg.inv(eye - S)
        K = inverse @ (eye + S)
        C = C0 @ K
        CBt = C @ B.T
        value = np.sum(A * (C @ B @ C.T))
        G = A @ CBt + A.T @ C @ B  # d value / dC
        P = inverse.T @ (C0.T @ G) @ (eye + K).T  # d value / dS (unconstrained)
        gradient = (P - P.T)[upper]
        return -value, -gradient

    result = minimize(objective, np.zeros(len(upper[0])), jac=True, method="L-BFGS-B",
                      options={"maxiter": n_iterations, "maxcor": 30, "gtol": 1e-10, "ftol": 1e-15})
    S = _skew(result.x, n, upper)
    C = C0 @ np.linalg.solve(eye - S, eye + S)
    return C, float(np.sum(A * (C @ B @ C.T)))


def _starts(A, B, n_starts, rng, coordinates):
    n = A.shape[0]
    eye = np.eye(n)
    reflection = eye.copy()
    reflection[0, 0] = -1.0
    starts = [eye, reflection]
    if coordinates is not None:
        from scipy.linalg import orthogonal_procrustes

        R, _ = orthogonal_procrustes(coordinates[1], coordinates[0])  # coordinates_b @ R ~ coordinates_a
        starts.insert(0, R.T)
    _, vectors_a = np.linalg.eigh(0.5 * (A + A.T))
    _, vectors_b = np.linalg.eigh(0.5 * (B + B.T))
    starts.append(vectors_a @ vectors_b.T)
    while len(starts) < max(n_starts, 1):
        Q, R = np.linalg.qr(rng.standard_normal((n, n)))
        starts.append(Q * np.sign(np.diag(R)))
    return starts[:max(n_starts, 1)]


def _pad(A, n):
    padded = np.zeros((n, n))
    padded[:A.shape[0], :A.shape[1]] = A
    return padded


def _transform_distance(A, B, distance, n_starts, n_iterations, seed, coordinates=None):
    n = max(A.shape[0], B.shape[0])
    if coordinates is not None and (A.shape != B.shape or coordinates[0].shape != coordinates[1].shape):
        coordinates = None
    A, B = _pad(A, n) / np.linalg.norm(A), _pad(B, n) / np.linalg.norm(B)
    upper = np.triu_indices(n, 1)
    rng = np.random.default_rng(seed)
    best_C, best = np.eye(n), -np.inf
    for C0 in _starts(A, B, n_starts, rng, coordinates):
        value = np.sum(A * (C0 @ B @ C0.T))
        C = C0
        for _ in range(10):  # re-centre the chart at the optimum until it stops improving
            C_new, new = _refine(A, B, C, n_iterations, upper) if n > 1 else (C, value)
            if new <= value + 1e-10:
                break
            C, value = C_new, new
        if value > best:
            best_C, best = C, value
    cosine = float(np.clip(best, -1.0, 1.0))
    if distance == "angular":
        return float(np.arccos(cosine)), best_C
    return float(np.sqrt(max(2.0 - 2.0 * cosine, 0.0))), best_C


def similarity_transform_distance(A, B, distance="angular", n_starts=10, n_iterations=500, seed=0):
    """Procrustes over vector fields between two square operators (see the module docstring, step 3).

    Args:
        A, B: square matrices (n_a, n_a) and (n_b, n_b), finite and not zero; the smaller is
            padded with zeros.
        distance: ``'angular'`` (radians, [0, pi]) or ``'euclidean'`` ([0, 2]), of the
            unit-norm operators.
        n_starts: starting points of the optimisation (at least 1).
        n_iterations: most L-BFGS iterations per start and chart.
        seed: of the random starts.

    Returns:
        ``(distance, C)``: the distance and the orthogonal ``C`` (n, n) that brings ``B`` to
        ``A`` (``A ~ C B C^T`` up to scale).
    """
    where = "similarity_transform_distance"
    A = array(A, "A", where, shape=("n_a", "n_a"))
    B = array(B, "B", where, shape=("n_b", "n_b"))
    for name, M in (("A", A), ("B", B)):
        if not np.any(M):
            fail(where, name, "is all zeros: no dynamics to compare", None, "a non-zero matrix")
    distance, n_starts, n_iterations, seed = declared(where, distance=distance, n_starts=n_starts,
                                                      n_iterations=n_iterations, seed=seed)
    return _transform_distance(A, B, distance, n_starts, n_iterations, seed)


@dataclass(repr=False)
class DSADistance(AnalysisResult):
    """The DSA distance between two systems (:func:`dsa_distance`).

    Attributes:
        value (float): the distance (``float(result)`` too); ``distance`` its kind.
        dmd_a, dmd_b: each side's :class:`DMD` fit.
        transform (n, n): the orthogonal ``C`` found (``A ~ C B C^T``).
        n_delays, delay_interval, rank, ridge, n_starts: the method's parameters.
    """

    value: float
    distance: str
    dmd_a: DMD
    dmd_b: DMD
    transform: np.ndarray
    n_delays: int
    delay_interval: int
    rank: int
    ridge: float
    n_starts: int
    metric = "dsa"

    def __float__(self):
        return float(self.value)

    def plot(self, ax):
        _eigen_plot(ax, [(self.dmd_a.eigenvalues, "a", "#1f77b4", "o"), (self.dmd_b.eigenvalues, "b", "#d62728", "s")])
        ax.set_title(f"DSA ({self.distance}) = {self.value:.3g}", fontsize=9)


def dsa_distance(a, b, task=None, *, n_delays=10, delay_interval=1, rank=10, ridge=0.0, distance="angular",
                 n_starts=10, n_iterations=500, x=None, signal="rates", n_trials=None, seed=0):
    """Dynamical similarity analysis between two systems (Ostrow et al. 2023; see the module docstring).

    Args:
        a, b: activity arrays (trials, time, units) -- the trial and time counts may differ
            here, the unit counts too -- or networks (model, weights dict, weight file,
            simulator) run on the same noise-free trials of ``task`` (``n_trials``, default
            100, seed ``seed``) or on the inputs ``x``.
        n_delays: delays of the embedding (default 10); ``delay_interval``: steps between
            them (default 1).
        rank: DMD dimensions kept (default 10; at most units x n_delays).
        ridge: ridge penalty of the DMD fit (default 0).
        distance: ``'angular'`` (default, radians in [0, pi]) or ``'euclidean'`` ([0, 2]).
        n_starts, n_iterations: of the orthogonal optimisation (defaults 10 and 500).
        signal: ``'rates'`` (default) or ``'states'``, what a network contributes.
        seed: the trials drawn and the random starts.

    Returns:
        :class:`DSADistance`.

    Raises:
        ParameterError: naming the argument (shapes, NaN/inf, trials too short for the
            delays, a rank above what the data hold, networks without a task).
    """
    where = "dsa_distance"
    (n_delays, delay_interval, rank, ridge, distance, n_starts, n_iterations, signal, seed) = declared(
        where, n_delays=n_delays, delay_interval=delay_interval, rank=rank, ridge=ridge, distance=distance,
        n_starts=n_starts, n_iterations=n_iterations, signal=signal, seed=seed)
    from ._activity import is_activity, side_activity, task_inputs

    if is_activity(a) and is_activity(b):
        first = array(a, "a", where, shape=("trials", "time", "units"))
        second = array(b, "b", where, shape=("trials", "time", "units"))
    elif x is None and task is None:
        first, second = paired_activity(a, b, where, signal=signal)  # refuses a network without trials
    else:
        if x is not None:
            x = array(x, "x", where, shape=("trials", "time", "N_in"))
        else:
            x, _ = task_inputs(task, n_trials, seed, where)
        first, second = side_activity(a, "a", where, x, signal), side_activity(b, "b", where, x, signal)
    dmd_a = _dmd(first, n_delays, delay_interval, rank, ridge, where, "a")
    dmd_b = _dmd(second, n_delays, delay_interval, rank, ridge, where, "b")
    for name, fit in (("a", dmd_a), ("b", dmd_b)):
        if not np.any(fit.operator):
            fail(where, name, "gives a zero DMD operator: no dynamics to compare", None, "activity that changes")
    same_trials = first.shape[:2] == second.shape[:2]
    coordinates = ((dmd_a.coordinates.reshape(-1, rank), dmd_b.coordinates.reshape(-1, rank))
                   if same_trials else None)
    value, C = _transform_distance(dmd_a.operator, dmd_b.operator, distance, n_starts, n_iterations, seed,
                                   coordinates)
    return DSADistance(value=value, distance=distance, dmd_a=dmd_a, dmd_b=dmd_b, transform=C, n_delays=n_delays,
                       delay_interval=delay_interval, rank=rank, ridge=float(ridge), n_starts=n_starts)
