"""Biological constraints: the effective-weight maths, in one place.

Works on NumPy arrays and on TensorFlow tensors alike (only ``*`` and ``abs`` are
used), so the initialisers, the TF model and the analysis code share one definition.

Convention: ``W[post, pre]``.  With Dale's law the first ``int(dale_ratio * N_rec)``
units are excitatory and a presynaptic unit's sign applies to its whole column:

    W_rec_eff = |W_rec * C_rec| * rec_sign[None, :]    rec_sign = +1 (E) / -1 (I)
    W_in_eff  = |W_in  * C_in|
    W_out_eff = |W_out * C_out| * out_gate[None, :]    out_gate = 1 (E) / 0 (I)

Without Dale's law ``W_eff = W * C``.
"""
import numpy as np


def n_excitatory(dale_ratio, N_rec):
    """Number of excitatory units: the first ``int(dale_ratio * N_rec)`` (PsychRNN's rule)."""
    return int(dale_ratio * N_rec)


def dale_vectors(dale_ratio, N_rec):
    """Column factors ``(rec_sign, out_gate)``, each shape (N_rec,), float32.

    Without Dale's law both are ones.
    """
    rec_sign = np.ones(N_rec, dtype=np.float32)
    out_gate = np.ones(N_rec, dtype=np.float32)
    if dale_ratio is not None:
        n_e = n_excitatory(dale_ratio, N_rec)
        rec_sign[n_e:] = -1.0
        out_gate[n_e:] = 0.0
    return rec_sign, out_gate


def dale_matrices(dale_ratio, N_rec):
    """PsychRNN's diagonal ``Dale_rec`` (+1/-1) and ``Dale_out`` (1/0) matrices, (N_rec, N_rec)."""
    rec_sign, out_gate = dale_vectors(dale_ratio, N_rec)
    return np.diag(rec_sign), np.diag(out_gate)


def effective_W_rec(W_rec, C_rec, dale, rec_sign):
    """Recurrent weights the network uses, shape (N_rec, N_rec)."""
    masked = W_rec * C_rec
    return abs(masked) * rec_sign if dale else masked


def effective_W_in(W_in, C_in, dale):
    """Input weights the network uses, shape (N_rec, N_in)."""
    masked = W_in * C_in
    return abs(masked) if dale else masked


def effective_W_out(W_out, C_out, dale, out_gate):
    """Output weights the network uses, shape (N_out, N_rec)."""
    masked = W_out * C_out
    return abs(masked) * out_gate if dale else masked


def spectral_radius(matrix):
    """Largest absolute eigenvalue of a square NumPy matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, dtype=np.float64)))))
