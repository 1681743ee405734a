"""Small dynamical systems with known fixed-point structure, for the DSA tests and benchmarks/dsa_reference.py.

``latent('line', seed)``: a line attractor in 2-D (x1 kept, x2 decays); ``latent('bistable',
seed)``: a pair of point attractors (x1 -> +-1 through the saddle at 0, x2 decays), started
near the saddle so the trials cross the nonlinear region.  ``observe(z, seed)``: ten tanh
units reading the latent state (a small population of neurons).
"""
import numpy as np


def latent(kind, seed, trials=40, T=40, dt=0.3, noise=0.0):
    """``(trials, T, 2)`` trajectories of the line attractor or of the pair of point attractors."""
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(-1.0, 1.0, trials) if kind == "line" else rng.uniform(-0.5, 0.5, trials)
    x = np.stack([x1, rng.uniform(-1.5, 1.5, trials)], axis=1)
    out = []
    for _ in range(T):
        drift = np.stack([np.zeros(trials) if kind == "line" else x[:, 0] - x[:, 0] ** 3, -x[:, 1]], axis=1)
        x = x + dt * drift + noise * np.sqrt(dt) * rng.standard_normal(x.shape)
        out.append(x.copy())
    return np.stack(out, axis=1)


def observe(z, seed, units=10):
    """``(trials, T, units)``: tanh units with random read-out weights and offsets (seeded)."""
    rng = np.random.default_rng(seed)
    return np.tanh(z @ rng.standard_normal((2, units)) + 0.3 * rng.standard_normal(units))
