"""Connectivity of a network: sorted weight matrices, eigenvalue spectra, Jacobians.

Convention ``W[post, pre]`` (rows receive, columns send).  With Dale's law the first
``n_exc`` units are excitatory (positive columns of ``W_rec``).  The network is the
discrete-time map ``x_{t+1} = F(x_t, u_t)`` of the model's one step; its Jacobian
``dF/dx`` at a state has eigenvalues whose modulus says whether small deviations grow
(> 1) or decay (< 1) per step.  For the leaky rate network with a linear transfer
function the Jacobian is ``(1 - alpha) I + alpha W_rec``; the spectrum of ``W_rec`` itself
is what the initialisers set (its largest modulus is ``spec_rad``).
"""
from dataclasses import dataclass

import numpy as np

from ._inputs import array, declared, fail
from ._results import AnalysisResult
from ._source import as_simulator, excitatory_mask, rate_network
from .units import unit_order

__all__ = ["Connectivity", "connectivity", "Eigenspectrum", "eigenspectrum", "state_jacobian",
           "jacobian_spectrum", "ConnectivityReport", "connectivity_report"]


@dataclass(repr=False)
class Connectivity(AnalysisResult):
    """Effective weights with the units in a chosen order.

    Attributes:
        order (N_rec,): unit index shown at each position (``W_rec[order][:, order]``).
        W_rec (N_rec, N_rec): sorted W_rec_eff, W[post, pre].
        W_in (N_rec, N_in): sorted input weights (a row per unit).
        W_out (N_out, N_rec): sorted output weights (a column per unit).
        excitatory (N_rec,) bool, in the sorted order (all False without Dale's law).
        n_exc (int): excitatory units (N_rec without Dale's law); dale (bool).
    """

    order: np.ndarray
    W_rec: np.ndarray
    W_in: np.ndarray
    W_out: np.ndarray
    excitatory: np.ndarray
    n_exc: int
    dale: bool
    figsize = (11.0, 3.8)

    def plot(self, ax):
        limit = float(np.max(np.abs(self.W_rec))) or 1.0
        image = ax.imshow(self.W_rec, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        if self.dale and 0 < self.n_exc < len(self.order):
            split = np.flatnonzero(~self.excitatory)
            if split.size and np.all(np.diff(split) == 1):  # E and I in two blocks: mark the border
                ax.axvline(split[0] - 0.5, color="k", lw=0.8)
                ax.axhline(split[0] - 0.5, color="k", lw=0.8)
        ax.set_xlabel("presynaptic unit (sorted)")
        ax.set_ylabel("postsynaptic unit (sorted)")
        ax.set_title("W_rec (effective)", fontsize=9)
        return image

    def draw(self, figure):
        grid = figure.add_gridspec(1, 3, width_ratios=(3, 1, 1))
        ax = figure.add_subplot(grid[0])
        figure.colorbar(self.plot(ax), ax=ax)
        units = np.arange(len(self.order))
        for column, (values, title) in enumerate(((self.W_in, "input weights"), (self.W_out.T, "output weights"))):
            sub = figure.add_subplot(grid[column + 1])
            for channel in range(values.shape[1]):
                sub.plot(values[:, channel], units, ".-", ms=3, lw=0.6, label=f"{channel}")
            sub.invert_yaxis()
            sub.set_title(title, fontsize=9)
            sub.legend(fontsize=7, title="channel", title_fontsize=7)


def connectivity(source, by=("ei",), selectivity=None, order=None):
    """W_rec_eff, W_in and W_out with the units sorted.

    Args:
        source: a network (model, weights dict, weight file or simulator).
        by: sort keys for :func:`~psychrnn_widgets.analysis.units.unit_order` (``'ei'``,
            ``'selectivity'`` (needs ``selectivity`` (N_rec,)), ``'index'``).
        order: an explicit permutation (N_rec,) instead of ``by``.

    Returns:
        :class:`Connectivity`.
    """
    sim = rate_network(source, "connectivity")
    excitatory = excitatory_mask(sim)
    dale = sim.dale_ratio is not None
    if order is None:
        order = unit_order(sim.N_rec, by, selectivity, excitatory if dale else None)
    order = array(order, "order", "connectivity", shape=(f"N_rec={sim.N_rec}",), integer=True,
                  what=f"a permutation of 0..{sim.N_rec - 1}")
    if sorted(order.tolist()) != list(range(sim.N_rec)):
        fail("connectivity", "order", f"must be a permutation of 0..{sim.N_rec - 1}", order,
             f"a permutation of 0..{sim.N_rec - 1}")
    order = order.astype(np.intp)
    return Connectivity(order=order, W_rec=sim.W_rec[np.ix_(order, order)], W_in=sim.W_in[order],
                        W_out=sim.W_out[:, order], excitatory=excitatory[order],
                        n_exc=int(excitatory.sum()) if dale else sim.N_rec, dale=dale)


@dataclass(repr=False)
class Eigenspectrum(AnalysisResult):
    """Eigenvalues of a square matrix, shown in the complex plane with the unit circle.

    Attributes:
        eigenvalues (N,) complex, largest modulus first; spectral_radius (float, the largest
        modulus); label (str): what matrix this is.
    """

    eigenvalues: np.ndarray
    spectral_radius: float
    label: str = "W_rec"
    figsize = (4.0, 4.0)

    @property
    def real(self):
        return self.eigenvalues.real

    @property
    def imag(self):
        return self.eigenvalues.imag

    def to_arrays(self):
        arrays = super().to_arrays()
        arrays.pop("eigenvalues")
        arrays.update(eigenvalues_real=self.real, eigenvalues_imag=self.imag)
        return arrays

    def plot(self, ax):
        angle = np.linspace(0, 2 * np.pi, 361)
        ax.plot(np.cos(angle), np.sin(angle), color="0.6", lw=0.8)
        ax.plot(self.real, self.imag, "o", ms=3, color="#1f77b4")
        ax.axhline(0, color="0.85", lw=0.6, zorder=0)
        ax.axvline(0, color="0.85", lw=0.6, zorder=0)
        ax.set_aspect("equal")
        ax.set_xlabel("Re λ")
        ax.set_ylabel("Im λ")
        ax.set_title(f"eigenvalues of {self.label} (max |λ| {self.spectral_radius:.3g})", fontsize=9)


def eigenspectrum(matrix_or_source, label=None):
    """Eigenvalues of a square matrix (N, N), or of a network's W_rec_eff.

    ``matrix_or_source``: a finite square matrix (an array, or nested lists of numbers), or
    a network (anything :func:`~psychrnn_widgets.analysis.as_simulator` takes); ``label``:
    text naming the matrix in the figure.

    Returns:
        :class:`Eigenspectrum` (eigenvalues sorted by decreasing modulus).
    """
    where = "eigenspectrum"
    if label is not None and not isinstance(label, str):
        fail(where, "label", f"must be text or None, got {type(label).__name__}", label, "a string")
    if isinstance(matrix_or_source, (np.ndarray, list, tuple)):
        matrix, default = matrix_or_source, "matrix"
    else:
        matrix, default = rate_network(matrix_or_source, where).W_rec, "W_rec"
    matrix = array(matrix, "matrix_or_source", where, shape=("N", "N"), what="a finite square matrix")
    values = np.linalg.eigvals(matrix)
    values = values[np.argsort(-np.abs(values), kind="stable")]
    radius = float(np.abs(values[0])) if values.size else 0.0
    return Eigenspectrum(eigenvalues=values, spectral_radius=radius, label=label or default)


def state_jacobian(source, state, rnn_in=None, eps=1e-6):
    """Jacobian ``dF/dx`` (S, S) of the network's noiseless step at ``state``, by central differences.

    Uses the NumPy twin's own step (``simulator.next_state``, float64), so it needs no
    TensorFlow; the fixed-point finder computes the same matrix by automatic
    differentiation of the TensorFlow model
    (:func:`~psychrnn_widgets.analysis.fixed_points.jacobians`).  ``S`` is the flat state's
    size: ``N_rec`` for a rate network or a GRU, ``2 N_rec`` for an LSTM (hidden, cell).

    Args:
        state: (S,) flat state, finite (a (1, S) row is accepted): a rate network's
            pre-activation state.
        rnn_in: (N_in,) input held during the step (default zeros), finite.
        eps: finite-difference step in (0, 1].  With a relu, a state component within ``eps``
            of 0 straddles the kink and its column is an average of the two slopes.
    """
    where = "state_jacobian"
    eps = declared(where, eps=eps)
    sim = as_simulator(source)
    size = sim.state_size
    state = _vector(state, "state", where, size, "state_size")
    rnn_in = np.zeros(sim.N_in) if rnn_in is None else _vector(rnn_in, "rnn_in", where, sim.N_in, "N_in")
    shifts = eps * np.eye(size)
    inputs = np.tile(rnn_in, (size, 1))
    plus = sim.next_state(state + shifts, inputs)
    minus = sim.next_state(state - shifts, inputs)
    return ((plus - minus) / (2 * eps)).T  # row i: d F_i / d x_j


def _vector(value, name, where, size, label):
    """A finite vector of ``size`` values ((size,) or (1, size)), or ``ParameterError`` naming ``name``."""
    vector = array(value, name, where, min_ndim=1)
    if vector.ndim > 2 or (vector.ndim == 2 and vector.shape[0] != 1) or vector.shape[-1] != size:
        fail(where, name, f"must have shape ({label}={size},), got shape {vector.shape}", value,
             f"an array of shape ({size},)")
    return vector.reshape(size)


def jacobian_spectrum(source, state, rnn_in=None):
    """:class:`Eigenspectrum` of :func:`state_jacobian` at ``state`` (N_rec,) with input ``rnn_in`` (N_in,)."""
    return eigenspectrum(state_jacobian(source, state, rnn_in), label="Jacobian")


@dataclass(repr=False)
class ConnectivityReport(AnalysisResult):
    """Sorted weights, the spectrum of W_rec_eff and optionally of a Jacobian, together.

    Attributes: connectivity (:class:`Connectivity`), spectrum (:class:`Eigenspectrum` of
    W_rec_eff), jacobian (:class:`Eigenspectrum` or None), selectivity (N_rec,) or None.
    """

    connectivity: Connectivity
    spectrum: Eigenspectrum
    jacobian: Eigenspectrum = None
    selectivity: np.ndarray = None
    figsize = (12.0, 3.8)

    def draw(self, figure):
        axes = figure.subplots(1, 3)
        figure.colorbar(self.connectivity.plot(axes[0]), ax=axes[0])
        self.spectrum.plot(axes[1])
        if self.jacobian is not None:
            self.jacobian.plot(axes[2])
        else:
            units = np.arange(len(self.connectivity.order))
            for channel in range(self.connectivity.W_in.shape[1]):
                axes[2].plot(units, self.connectivity.W_in[:, channel], ".-", ms=3, lw=0.6, label=f"in {channel}")
            for channel in range(self.connectivity.W_out.shape[0]):
                axes[2].plot(units, self.connectivity.W_out[channel], ".--", ms=3, lw=0.6, label=f"out {channel}")
            axes[2].set_xlabel("unit (sorted)")
            axes[2].set_title("input and output weights", fontsize=9)
            axes[2].legend(fontsize=7)


def connectivity_report(source, by=("ei",), selectivity=None, state=None, rnn_in=None):
    """:class:`ConnectivityReport`: :func:`connectivity`, :func:`eigenspectrum` of W_rec_eff and,
    when ``state`` (N_rec,) is given, :func:`jacobian_spectrum` there (input ``rnn_in`` (N_in,))."""
    sim = rate_network(source, "connectivity_report")
    if selectivity is not None:
        selectivity = array(selectivity, "selectivity", "connectivity_report", shape=(f"N_rec={sim.N_rec}",))
    jacobian = None if state is None else jacobian_spectrum(sim, state, rnn_in)
    return ConnectivityReport(connectivity=connectivity(sim, by, selectivity), spectrum=eigenspectrum(sim),
                              jacobian=jacobian, selectivity=selectivity)
