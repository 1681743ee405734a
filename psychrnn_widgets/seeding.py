"""Independent random streams from one seed (NumPy only).

A seed is used by several consumers: a task draws its batches, a model its initial
weights and its recurrent noise, an ensemble or a sweep its members.  Feeding them all
``numpy.random.default_rng(seed)`` would make them draw *the same numbers*: with the
same integer seed for a task and a network, the first initial weights would equal the
first trial parameters, and trained networks were seen to share a bias.  Here each
consumer gets its own stream, derived with :class:`numpy.random.SeedSequence` and a
spawn key of its own:

=============  =============================================  ========================
consumer       stream                                         used by
=============  =============================================  ========================
``'task'``     ``default_rng(seed)`` (unchanged, so a task's  ``Task(seed=...)``
               batches for a seed stay what they always were)
``'init'``     ``SeedSequence(seed, spawn_key=(1,))``         initial weights
``'noise'``    ``SeedSequence(seed, spawn_key=(2,))``         recurrent noise (model, simulator)
``'ensemble'`` ``SeedSequence(seed, spawn_key=(3,))``         seeds of ensemble members / sweep runs
=============  =============================================  ========================

Streams with different spawn keys are statistically independent (that is what spawn keys
are for), so equal seeds for a task and a network are safe.

Without a seed, PsychRNN's users expect ``np.random.seed(...)`` (and
``tf.random.set_seed(...)``) to make runs repeatable, because PsychRNN draws from the
global generators.  :func:`seed_from_global` draws the missing seed from NumPy's global
generator, so a globally seeded program is reproducible and an unseeded one is not.
"""
import numbers

import numpy as np

__all__ = ["STREAMS", "rng", "integer_seed", "seed_from_global", "spawn_seeds"]

#: spawn key of each consumer (``'task'`` uses the seed itself)
STREAMS = {"task": None, "init": 1, "noise": 2, "ensemble": 3}


def seed_from_global():
    """A fresh seed drawn from NumPy's global generator (honours ``np.random.seed``)."""
    return int(np.random.randint(0, 2**63 - 1, dtype=np.int64))


def _sequence(seed, consumer):
    if consumer not in STREAMS:
        raise ValueError(f"unknown random stream {consumer!r}; known: {', '.join(STREAMS)}")
    if seed is None:
        seed = seed_from_global()
    key = STREAMS[consumer]
    if isinstance(seed, np.random.SeedSequence):
        if key is None:
            return seed
        return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (key,),
                                      pool_size=seed.pool_size)
    if key is None:
        return seed
    return np.random.SeedSequence(seed, spawn_key=(key,))


def rng(seed, consumer):
    """The :class:`numpy.random.Generator` of ``consumer`` for ``seed``.

    Args:
        seed: None (drawn from NumPy's global generator), a non-negative int, a
            ``SeedSequence``, or a ``Generator`` (used as it is, shared: the caller chose it).
        consumer: a key of :data:`STREAMS`.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_sequence(seed, consumer))


def integer_seed(seed, consumer):
    """A non-negative 63-bit integer seed for ``consumer`` (e.g. for TensorFlow's counter-based noise).

    ``seed`` as in :func:`rng`; a Generator gives one draw from it.
    """
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    sequence = _sequence(seed, consumer)
    if isinstance(sequence, numbers.Integral):
        sequence = np.random.SeedSequence(int(sequence))
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


def spawn_seeds(seed, n):
    """``n`` independent integer seeds derived from ``seed`` (for ensemble members, sweep runs)."""
    sequence = _sequence(seed, "ensemble")
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in sequence.spawn(n)]
