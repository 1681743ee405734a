"""Principal components of hidden states (NumPy SVD): the one PCA of the package.

The live trajectory view, the lesion comparison and the fixed-point plot all project
states with :func:`pca`: fit once on a reference set of states, then project anything
else (perturbed trajectories, fixed points, their unstable directions) on the same axes.
"""
from dataclasses import dataclass

import numpy as np

from ._inputs import array, declared

__all__ = ["PCA", "pca", "pca_project"]


@dataclass
class PCA:
    """A fitted projection on principal components.

    Attributes:
        mean (N,): the mean state subtracted before projecting.
        components (k, N): unit-norm principal axes (rows), largest variance first.
        explained (k,): fraction of the total variance along each axis.
    """

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    @property
    def n_components(self):
        return self.components.shape[0]

    def transform(self, states):
        """Project states ``(..., N)`` -> ``(..., k)`` (float64)."""
        states = np.asarray(states, dtype=np.float64)
        return (states - self.mean) @ self.components.T

    def transform_direction(self, vectors):
        """Project directions ``(..., N)`` (no centring) -> ``(..., k)``."""
        return np.asarray(vectors, dtype=np.float64) @ self.components.T


def pca(states, n_components=3, previous=None):
    """Fit principal components to states ``(..., N)`` (all leading axes are samples).

    ``states``: finite, at least one sample and one unit.  ``n_components``: 1 to 1000.
    A component's sign follows ``previous`` (a ``(k, N)`` array of earlier components of
    the same shape) when given, else its largest loading is positive; a ``previous`` of
    another shape is ignored (the view it came from changed size).  When fewer than
    ``n_components`` components exist (N or the number of samples is smaller), the rest
    are zero rows with zero explained variance.

    Returns:
        :class:`PCA`.
    """
    return _pca(states, n_components, previous, "pca")


def _pca(states, n_components, previous, where):
    states = array(states, "states", where, min_ndim=1)
    n_components = declared(where, n_components=n_components)
    if previous is not None:
        previous = array(previous, "previous", where, min_ndim=1, allow_empty=True)
    N = states.shape[-1]
    flat = states.reshape(-1, N)
    mean = flat.mean(axis=0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(int(n_components), vt.shape[0])
    comps = vt[:k].copy()
    for i in range(k):
        if previous is not None and np.shape(previous) == comps.shape:
            if comps[i] @ previous[i] < 0:
                comps[i] *= -1
        elif comps[i][np.argmax(np.abs(comps[i]))] < 0:
            comps[i] *= -1
    total = float(np.sum(s ** 2))
    explained = (s[:k] ** 2 / total) if total > 0 else np.zeros(k)
    missing = int(n_components) - k
    if missing > 0:
        comps = np.concatenate([comps, np.zeros((missing, N))])
        explained = np.concatenate([explained, np.zeros(missing)])
    return PCA(mean=mean, components=comps, explained=explained)


def pca_project(states, n_components=3, previous=None):
    """Project ``states (n, T, N)`` on their first principal components.

    Returns ``(projection (n, T, k) float32, components (k, N), explained (k,))`` (see
    :func:`pca` for the signs and for fewer components than asked).
    """
    states = array(states, "states", "pca_project", shape=("n", "T", "N"))
    fitted = _pca(states, n_components, previous, "pca_project")
    return fitted.transform(states).astype(np.float32), fitted.components, fitted.explained
