"""How the example scripts turn a trained network into synthetic "recordings" (spike counts); NumPy only.

Shared by ``tools/make_cdi_example.py`` and ``tools/make_flipflop_example.py`` (they import
it from their own folder), so both data sets are made the same way:

1. run the network on the trials' inputs ``x`` with recurrent noise (a new draw per trial);
2. choose ``n_neurons`` of its units at random (the recorded ones);
3. scale each recorded unit's rate by a gain drawn per trial and unit (log-normal, sd
   ``gain_sd``): the trial-to-trial variability on top of the noise;
4. average the rates over ``bin_ms`` bins and draw Poisson spike counts with mean
   ``rate * peak_hz * bin_ms / 1000`` (a rate of 1 in the network's units is ``peak_hz``).
"""
import numpy as np

__all__ = ["spike_counts"]


def spike_counts(weights, x, n_neurons, rng, *, rec_noise, gain_sd, bin_ms, peak_hz):
    """Poisson spike counts of ``n_neurons`` random units of the network ``weights`` on inputs ``x``.

    Args:
        weights: a weights dict (``load_weights``) of a rate network with ``dt``.
        x: (trials, steps, N_in) inputs, one row per recorded trial.
        n_neurons: how many units are recorded.
        rng: a ``numpy.random.Generator``; the draws are, in order: the recurrent noise's
            seed, the units, the gains, the spikes (the scripts' files depend on that order).
        rec_noise: recurrent noise while recording; gain_sd: sd of the log gain;
        bin_ms: bin width (ms, a multiple of the network's dt); peak_hz: spikes/s at rate 1.

    Returns:
        ``(counts (trials, bins, n_neurons) uint8, units (n_neurons,) int64 sorted)``.
    """
    from psychrnn_widgets.simulation.basic import BasicSimulator

    sim = BasicSimulator(weights=weights, params={"rec_noise": rec_noise}, dtype=np.float64)
    _, states = sim.run_trials(x, noise=True, rng=int(rng.integers(2**31)))
    rates = sim.transfer_function(states)
    units = np.sort(rng.choice(sim.N_rec, size=n_neurons, replace=False))
    gain = np.exp(gain_sd * rng.standard_normal((len(x), 1, n_neurons)))
    step = int(round(bin_ms / sim.dt))
    n_bins = rates.shape[1] // step
    binned = rates[:, :n_bins * step, units].reshape(len(x), n_bins, step, n_neurons).mean(axis=2)
    counts = rng.poisson(binned * gain * peak_hz * bin_ms / 1000.0)
    if counts.max() > np.iinfo(np.uint8).max:
        raise RuntimeError(f"a bin holds {counts.max()} spikes, more than uint8 stores: lower peak_hz")
    return counts.astype(np.uint8), units.astype(np.int64)
