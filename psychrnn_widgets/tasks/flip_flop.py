"""The N-bit flip-flop memory task (Sussillo & Barak 2013).

Source: Sussillo & Barak (2013), "Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks", Neural Comput. 25:626 (the 3-bit flip-flop,
their first example).  Each of N input channels receives occasional brief pulses of +1
or -1; the matching output must be the last pulse's value (+1 or -1) and hold it until
the next pulse on that channel, whatever happens on the others.  A trained network stores
the 2**N memories as stable fixed points (the corners of a cube), which is what the
fixed-point analysis looks for.
"""
from __future__ import annotations

import numpy as np

from psychrnn_widgets.params import Parameter
from psychrnn_widgets.tasks.declarations import probability_parameter
from psychrnn_widgets.tasks.task import Task, TaskParameter, sized_by

__all__ = ["FlipFlop"]



class FlipFlop(Task):
    """Hold the sign of the last ±1 pulse on each of ``n_bits`` channels.

    ``n_bits`` inputs and outputs.  Time is cut into slots of ``interval`` ms; at the
    start of every slot each bit independently receives, with probability
    ``pulse_probability``, a pulse of +1 or -1 (equally likely) lasting ``pulse_duration``
    ms.  From a pulse's onset until the next pulse on the same bit, that bit's target is
    the pulse's sign.  Before a bit's first pulse there is nothing to remember: its mask
    is 0 there and 1 afterwards (to the end of the trial).  No input noise.

    Periods: ``pulse_k`` (the pulse window of slot ``k``) and ``slot_k`` (slot ``k``, the
    last one running to the end of the trial), ``k = 0 .. T // interval - 1``.

    Scoring: the output of each bit must *be* the stored value, not just share its sign: a
    trial is correct when, for every bit, the output lies within ``tolerance`` of the target
    (+1 or -1) at every masked step except the first ``settle_time`` ms after the target
    starts or changes (the time to flip).  One step outside, e.g. a memory that sags
    towards 0 or is knocked over by a pulse on another bit, fails the trial.  Chance level
    (:attr:`chance_level`): a constant output per bit is right only when no pulse ever
    disagrees with it, ``(1 - pulse_probability / 2) ** (n_slots * n_bits)`` (0.002 by
    default).

    Args:
        dt, tau, T, N_batch: see :class:`~psychrnn_widgets.tasks.task.Task`.
        n_bits (int): number of bits (inputs = outputs); 3 in the paper's figures.
        interval (float): slot length (ms).
        pulse_duration (float): pulse length (ms), at most ``interval``.
        pulse_probability (float): chance of a pulse per bit and slot.
        tolerance (float): largest accepted distance of an output from its target.
        settle_time (float): ms after a target starts or changes that are not scored.
        seed: makes batches reproducible.

    Trial parameters: ``pulses`` (per slot, per bit: -1, 0 or +1; a list of
    ``T // interval`` lists of ``n_bits``); metadata ``final_state`` (each bit's target
    at the end of the trial, 0 if it never received a pulse) and ``epochs``.
    """

    n_bits = TaskParameter(Parameter("n_bits", "int", 3, low=1, label="Bits", unit="channels", group="size",
                                     help="number of independent memory bits (inputs = outputs)"))
    interval = TaskParameter(Parameter("interval", "float", 100.0, low=0.0, low_open=True, unit="ms",
                                       label="Pulse slot", group="timing",
                                       help="pulses can start every this many ms"))
    pulse_duration = TaskParameter(Parameter("pulse_duration", "float", 20.0, low=0.0, low_open=True, unit="ms",
                                             label="Pulse duration", group="timing", help="length of one pulse"))
    pulse_probability = TaskParameter(probability_parameter(
        "pulse_probability", 0.2, "chance that a bit gets a pulse in a slot", "Pulse probability"))

    tolerance = TaskParameter(Parameter("tolerance", "float", 0.5, low=0.0, low_open=True, high=1.0,
                                        label="Tolerance", group="scoring",
                                        help="largest accepted distance of an output from the stored +1 or -1"))
    settle_time = TaskParameter(Parameter("settle_time", "float", 50.0, low=0.0, unit="ms", label="Flip time",
                                          group="scoring", help="time after a pulse that is not scored "
                                          "(the output may still be flipping)"))

    defaults = {"T": 2000.0}

    def __init__(self, dt=10.0, tau=100.0, T=2000.0, N_batch=50, n_bits=3, interval=100.0, pulse_duration=20.0,
                 pulse_probability=0.2, tolerance=0.5, settle_time=50.0, seed=None):
        self.n_bits = n_bits
        super().__init__(n_bits, n_bits, dt, tau, T, N_batch, seed=seed)
        self.interval = interval
        self.pulse_duration = pulse_duration
        if self.pulse_duration > self.interval:
            type(self).pulse_duration.parameter.fail(pulse_duration, type(self).__name__,
                                                     f"must be at most interval ({self.interval:g} ms)")
        self.pulse_probability = pulse_probability
        self.tolerance = tolerance
        self.settle_time = settle_time

    N_in = sized_by("n_bits")
    N_out = sized_by("n_bits")

    @property
    def chance_level(self):
        """Accuracy of a constant output (see the class docstring)."""
        return float((1.0 - self.pulse_probability / 2.0) ** (self.n_slots * self.n_bits))

    @property
    def n_slots(self):
        """Number of pulse slots per trial, ``T // interval``."""
        return max(1, int(self.T // self.interval))

    def sample_trials(self, n, batch=1):
        """The pulses of ``n`` trials: int array (n, n_slots, n_bits) of -1, 0, +1."""
        shape = (n, self.n_slots, self.N_in)
        pulse = self.rng.random(shape) < self.pulse_probability
        sign = np.where(self.rng.random(shape) < 0.5, -1, 1)
        return {"pulses": np.where(pulse, sign, 0).astype(np.int64)}

    @staticmethod
    def held(pulses):
        """The remembered sign after each slot: (n, n_slots, n_bits), 0 before a bit's first pulse."""
        pulses = np.asarray(pulses)
        n, n_slots, n_bits = pulses.shape
        last = np.where(pulses != 0, np.arange(n_slots)[None, :, None], -1)
        last = np.maximum.accumulate(last, axis=1)
        held = np.take_along_axis(pulses, np.maximum(last, 0), axis=1)
        return np.where(last >= 0, held, 0)

    def describe_trials(self, trials):
        """Pulse and slot periods, pulse inputs, held-sign targets and masks (see the class docstring)."""
        pulses = trials["pulses"].reshape(trials.n, -1, self.N_in)
        n_slots = pulses.shape[1]
        held = self.held(pulses)
        for k in range(n_slots):
            start = k * self.interval
            trials.period(f"pulse_{k}", self.pulse_duration, start=start)
            trials.period(f"slot_{k}", start=start, end=start + self.interval if k < n_slots - 1 else np.inf)
            if np.any(pulses[:, k]):
                trials.add_input(pulses[:, k], f"pulse_{k}")
            trials.set_target(held[:, k], f"slot_{k}")
            trials.set_mask(held[:, k] != 0, f"slot_{k}")
        trials.note(final_state=held[:, -1])

    def decode_choice(self, output, output_mask):
        """Not defined: the flip-flop has no single choice (use the output signs)."""
        raise NotImplementedError("FlipFlop has no choice per trial; compare np.sign(output) with the targets")

    def trial_correct(self, correct_output, test_output, output_mask):
        """Every bit within ``tolerance`` of its stored value at every scored step (bool (B,)).

        A bit's scored steps are its masked steps at least ``settle_time`` ms after its
        target last started or changed (see the class docstring).
        """
        y = np.asarray(correct_output, dtype=np.float64)
        counted = np.asarray(output_mask) > 0
        previous_y = np.concatenate([np.zeros_like(y[:, :1]), y[:, :-1]], axis=1)
        previous_counted = np.concatenate([np.zeros_like(counted[:, :1]), counted[:, :-1]], axis=1)
        changed = counted & (~previous_counted | (y != previous_y))
        steps = np.arange(y.shape[1])[None, :, None]
        last_change = np.maximum.accumulate(np.where(changed, steps, -(10 ** 9)), axis=1)
        settling = steps - last_change < int(np.ceil(self.settle_time / self.dt - 1e-9))
        scored = counted & ~settling
        off = np.abs(np.asarray(test_output, dtype=np.float64) - y) > self.tolerance
        return ~np.any(off & scored, axis=(1, 2))
