"""Checkpoints kept while training: a network's weights every N steps, bounded in number (NumPy only).

Opt-in through three ``train_params`` keys (declared in :data:`~psychrnn_widgets.params.TRAIN_PARAMS`):

``checkpoint_every``   (steps, None = off) take a checkpoint after every step whose number --
                       the trainer's optimiser steps over every ``train`` call -- is a multiple
                       of this; also one of the weights a call starts from and one of those it
                       ends with (after the final check), so the first and the final network
                       are always there.
``keep_checkpoints``   (count, >= 2, default 20) the most checkpoints kept at any moment.
``checkpoint_path``    None (default): the weights stay in memory; a folder: each checkpoint is
                       one weight file ``checkpoint_<step>.npz`` in it (written atomically by
                       :func:`~psychrnn_widgets.io.weight_files.save_weights`; no weights stay
                       in memory), and a checkpoint that is dropped has its file removed
                       once its successor's file is complete.  Use one folder per trainer:
                       files of the same step are replaced; other files are left alone.

**Which are kept: evenly spaced over the whole of training, plus the newest.**  The store
keeps the checkpoints whose step is a multiple of a *spacing* -- at first
``checkpoint_every`` -- and the newest one.  When a new checkpoint would make more than
``keep_checkpoints``, the spacing doubles (as often as needed) and the older checkpoints
off the new grid are dropped; the spacing never shrinks again.  So the checkpoints always
cover the run from its first step (step 0 is on every grid) to its last, evenly spaced,
between ``keep_checkpoints / 2`` and ``keep_checkpoints`` of them once thinning has begun.
(Keeping only the last N would lose the early network, which is the point of looking
across training.)  The newest is kept whatever its step; once a newer one arrives it stays
only if it is on the grid.  With ``every = 5`` and ``keep = 6``, 100 steps leave steps 0,
20, 40, 60, 80 and 100.  A second ``train`` call continues the same store (its steps
continue the count); a call with another ``checkpoint_every`` starts the spacing again
from it, and a smaller ``keep_checkpoints`` thins at once.  The grid counts steps from 0,
so the first network of a call that starts off the grid (a run continued from a loaded
record) lasts until the next checkpoint only.

A checkpoint is a :class:`Checkpoint`: the step and trial count and the weights as a plain
dict of NumPy arrays (``model.get_weights()``; loaded from its file when it is on disk).
The store is :attr:`Trainer.checkpoints <psychrnn_widgets.training.trainer.Trainer>`; reading
it from another thread while training runs is safe (readers get a copy of the list).
Analyses read checkpoints (``analysis.dynamics_over_training``); this module imports no
analysis.
"""
import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Checkpoint", "CheckpointStore", "checkpoint_file"]


def checkpoint_file(folder, epoch):
    """The weight file of the checkpoint of step ``epoch`` in ``folder``: ``<folder>/checkpoint_<epoch>.npz``.

    The name is made from the step number only, so it always lies inside ``folder``.
    """
    return Path(folder) / f"checkpoint_{int(epoch):09d}.npz"


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """The weights of one network at one moment of training.

    Attributes:
        epoch (int): the trainer's optimiser steps when it was taken (over every ``train`` call).
        trials (int): trials trained on by then.
        path (Path or None): its weight file, when checkpoints go to a folder.
    """

    epoch: int
    trials: int
    path: Path = None
    _weights: dict = field(default=None, repr=False)

    @property
    def step(self):
        """The same as :attr:`epoch` (optimiser steps)."""
        return self.epoch

    @property
    def weights(self):
        """The weights as ``model.get_weights()`` gave them: a dict of NumPy arrays (read from the file if on disk)."""
        if self._weights is not None:
            return dict(self._weights)
        from ..io.weight_files import load_weights

        return load_weights(self.path)

    def __repr__(self):
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return f"Checkpoint(epoch={self.epoch}, trials={self.trials}{where})"


class CheckpointStore:
    """The checkpoints of one trainer: at most ``keep`` of them, evenly spaced (see the module docstring).

    Behaves as a read-only sequence of :class:`Checkpoint` (oldest first): ``len``, indexing,
    iteration (over a copy).  ``epochs`` and ``trials`` give their counts as arrays.
    """

    def __init__(self):
        self._items = []
        self._lock = threading.Lock()
        self.every = None  # steps between checkpoints while a run takes them; None: off
        self.keep = 20
        self.folder = None
        self._base = None  # the last `every` used
        self._spacing = None  # steps between the checkpoints kept (a multiple of _base; only grows)

    # ------------------------------------------------------------- settings
    def configure(self, every, keep, folder):
        """Settings of a ``train`` call (validated ``train_params``); thins what is kept to ``keep``."""
        self.every = every
        if every is None:
            return
        if every != self._base:
            self._spacing = int(every)
        self.keep, self._base = int(keep), int(every)
        self.folder = None if folder is None else Path(os.fspath(folder))
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._remove(self._thinned(self._items))

    def due(self, epoch):
        """True when a run that takes checkpoints should take one after step ``epoch``."""
        return self.every is not None and epoch % self.every == 0

    # ------------------------------------------------------------- taking and dropping
    def take(self, epoch, trials, weights):
        """Keep ``weights`` (a dict of arrays) as the checkpoint of step ``epoch``; returns it.

        A checkpoint of the same step replaces the one there.  On disk the new file is
        written first (atomically: a reader sees the old file or the whole new one), then
        the checkpoints thinned away are removed, so a write that fails (a full disk)
        raises and leaves the store and its files as they were; the folder holds one file
        more than ``keep`` only while a new one is being written.
        """
        epoch, trials = int(epoch), int(trials)
        path = None if self.folder is None else checkpoint_file(self.folder, epoch)
        new = Checkpoint(epoch=epoch, trials=trials, path=path, _weights=None if path is not None else dict(weights))
        with self._lock:
            if path is not None:
                from ..io.weight_files import save_weights

                save_weights(path, weights)
            items = [c for c in self._items if c.epoch != epoch] + [new]
            self._remove(self._thinned(items), keep_path=path)
        return new

    def has(self, epoch):
        """Whether a checkpoint of step ``epoch`` is kept."""
        with self._lock:
            return any(c.epoch == epoch for c in self._items)

    def discard_after(self, epoch):
        """Drop the checkpoints taken after step ``epoch`` (the trainer rolled its weights back to it)."""
        with self._lock:
            self._remove([c for c in self._items if c.epoch > epoch])

    def clear(self):
        """Drop every checkpoint (and remove the files of those on disk)."""
        with self._lock:
            self._remove(list(self._items))
            self._spacing = self._base

    def _thinned(self, items):
        """Set ``self._items`` to ``items`` thinned (the grid, doubled until they fit, and the newest); returns
        the ones dropped."""
        kept = sorted(items, key=lambda c: c.epoch)
        if kept and self._spacing:
            newest, older = kept[-1], kept[:-1]
            while sum(c.epoch % self._spacing == 0 for c in older) > self.keep - 1:
                self._spacing *= 2
            kept = [c for c in older if c.epoch % self._spacing == 0] + [newest]
        dropped = [c for c in self._items if c not in kept]
        self._items = kept
        return dropped

    def _remove(self, dropped, keep_path=None):
        for checkpoint in dropped:
            if checkpoint in self._items:
                self._items.remove(checkpoint)
            if checkpoint.path is not None and checkpoint.path != keep_path:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(checkpoint.path)

    # ------------------------------------------------------------- reading
    def list(self):
        """A copy of the checkpoints, oldest first."""
        with self._lock:
            return list(self._items)

    def __len__(self):
        with self._lock:
            return len(self._items)

    def __iter__(self):
        return iter(self.list())

    def __getitem__(self, index):
        return self.list()[index]

    @property
    def epochs(self):
        """Steps of the checkpoints kept, (C,) int."""
        return np.array([c.epoch for c in self.list()], np.int64)

    @property
    def trials(self):
        """Trials trained on at each checkpoint kept, (C,) int."""
        return np.array([c.trials for c in self.list()], np.int64)

    def __repr__(self):
        where = "memory" if self.folder is None else str(self.folder)
        return f"CheckpointStore({len(self)} of at most {self.keep}, every {self.every} steps, in {where})"
