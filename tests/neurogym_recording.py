"""Trials of real NeuroGym environments, replayed without NeuroGym (``tests/data/neurogym_trials.npz``).

The file is written by ``python tools/neurogym_side_by_side.py --record`` in its NeuroGym
venv (its ``notes`` entry says how and with which versions).  :class:`ReplayEnv` serves
the recorded trials through the part of NeuroGym's ``TrialEnv`` that ``NeuroGymTask``
uses: ``seed``, ``new_trial`` and, after it, ``ob``, ``gt``, ``start_t``, ``end_t`` and
``trial``; ``dt``, ``observation_space.shape``, ``action_space.n``.
"""
import json
from pathlib import Path

import numpy as np

RECORDING = Path(__file__).resolve().parent / "data" / "neurogym_trials.npz"


class _Space:
    def __init__(self, shape=None, n=None):
        self.shape, self.n = shape, n


class Recorded:
    """One environment's recorded trials: ``meta`` (dict) and ``trials`` [(ob, gt), ...]."""

    def __init__(self, meta, trials):
        self.meta, self.trials = meta, trials

    @property
    def row(self):
        return self.meta["row"]


def load_recording(path=RECORDING):
    """``(notes, [Recorded, ...])`` in the order they were recorded."""
    with np.load(path, allow_pickle=False) as data:
        notes = str(data["notes"])
        out = []
        index = 0
        while f"env{index}/meta" in data:
            meta = json.loads(str(data[f"env{index}/meta"]))
            trials = []
            i = 0
            while f"env{index}/ob{i}" in data:
                trials.append((data[f"env{index}/ob{i}"], data[f"env{index}/gt{i}"]))
                i += 1
            out.append(Recorded(meta, trials))
            index += 1
    return notes, out


class ReplayEnv:
    """The recorded trials of one environment, in order, from ``seed(recorded seed)`` on (cycling).

    ``seeds`` lists the seeds it was given: NeuroGymTask must hand an integer seed to the
    environment unchanged, or the trials would not be the environment's own for that seed.
    """

    def __init__(self, recorded):
        meta = recorded.meta
        self.recorded = recorded
        self.dt = meta["dt"]
        self.observation_space = _Space(shape=(meta["N_in"],))
        self.action_space = _Space(n=meta["N_out"])
        self.seeds = []
        self._next = 0

    def seed(self, seed=None):
        self.seeds.append(seed)
        self._next = 0
        return [seed]

    def new_trial(self):
        i = self._next % len(self.recorded.trials)
        self._next += 1
        ob, gt = self.recorded.trials[i]
        meta = self.recorded.meta
        self.ob, self.gt = ob.copy(), gt.copy()
        self.start_t = {name: bounds[0] for name, bounds in meta["periods"][i].items()}
        self.end_t = {name: bounds[1] for name, bounds in meta["periods"][i].items()}
        self.trial = dict(meta["info"][i])
        return self.trial
