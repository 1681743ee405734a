"""``BasicSimulator``: the leaky rate network of ``Basic`` in NumPy, with perturbations.

The maths is DESIGN §3.2's, step for step the NumPy twin of
:class:`psychrnn_widgets.models.basic.Basic` (alpha = dt/tau, f = transfer function)::

    drive_t = u_t W_in^T + b_rec (+ sqrt(2 alpha) rec_noise xi_t / alpha when noise is on)
    x_{t+1} = (1 - alpha) x_t + alpha (f(x_t) W_rec^T + drive_t)          # leaky_update
    y_{t+1} = f(x_{t+1}) W_out^T + b_out                                    # readout

``W_in, W_rec, W_out`` are the *effective* matrices (masks and Dale signs applied), as
``get_weights()`` and weight files hold them.  ``run_trials`` returns the states
``x_1 .. x_T`` (pre-activation) and the outputs read from them.

As in ``Basic.forward_pass``, everything that does not depend on the state is taken out
of the time loop: the input drive of all steps is one matrix product, the noise one
draw, the readout of all states one product after the loop.  The loop runs only
:meth:`BasicSimulator.leaky_update` (the same method :meth:`BasicSimulator.rnn_step`
uses) and, at perturbed steps, the perturbation plan.
"""
import numpy as np

from ..errors import ParameterError
from ..io.weight_files import rate_network_sizes
from .base import Simulator
from .perturbations import PerturbationPlan

__all__ = ["BasicSimulator"]


class BasicSimulator(Simulator):
    """NumPy simulator of a ``Basic`` network (PsychRNN's ``BasicSimulator``, extended).

    Args:
        rnn_model, params, weights_path, weights, transfer_function, seed, dtype: see
            :class:`~psychrnn_widgets.simulation.base.Simulator`.  In short: weights from
            exactly one of ``rnn_model`` / ``weights_path`` / ``weights`` (PsychRNN's
            precedence weights > weights_path > rnn_model is named in the error when
            several are given); ``params`` (``alpha`` or ``dt``/``tau``, ``rec_noise``) fills
            or overrides what the weights source carries, and is refused with
            ``rnn_model``; transfer function: argument > ``params`` > stored name > relu.

    Attributes (beyond the base class):
        W_in (N_rec, N_in), W_rec (N_rec, N_rec), W_out (N_out, N_rec), b_rec (N_rec,),
        b_out (N_out,), init_state (1, N_rec): effective weights as ``dtype`` arrays.

    Example::

        sim = BasicSimulator(weights_path="weights.npz", params={"dt": 10, "tau": 100})
        outputs, states = sim.run_trials(x, noise=False,
                                         perturbations=[Silence(range(40)), Kick(100, delta)])

    Runnable, with freshly initialised weights (no TensorFlow):

    >>> import numpy as np
    >>> from psychrnn_widgets import BasicSimulator, GaussianSpectralRadius, PerceptualDiscrimination
    >>> from psychrnn_widgets.simulation import Silence
    >>> weights = GaussianSpectralRadius(N_in=2, N_rec=50, N_out=2, seed=0).initializations
    >>> sim = BasicSimulator(weights=weights, params={"dt": 10, "tau": 100})
    >>> x = PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=3, seed=0).get_trial_batch()[0]
    >>> outputs, states = sim.run_trials(x, noise=False)
    >>> outputs.shape, states.shape
    ((3, 200, 2), (3, 200, 50))
    >>> silenced, _ = sim.run_trials(x, noise=False, perturbations=[Silence(range(50))])
    >>> float(np.abs(silenced).max())   # every unit silenced: the outputs are the zero biases
    0.0
    """

    has_rate_weights = True

    def __init__(self, rnn_model=None, params=None, weights_path=None, weights=None, transfer_function=None,
                 *, seed=None, dtype=np.float32):
        super().__init__(rnn_model=rnn_model, params=params, weights_path=weights_path, weights=weights,
                         transfer_function=transfer_function, seed=seed, dtype=dtype)

    def _load_weights(self, cls, weights):
        N_in, N_rec, N_out = rate_network_sizes(weights, f"{cls}: {self.source_label}", error=self._source_error)
        W_rec, W_in, W_out = (self._array(cls, weights, key) for key in ("W_rec", "W_in", "W_out"))
        self.N_rec, self.N_in, self.N_out = N_rec, N_in, N_out
        self.W_in, self.W_rec, self.W_out = W_in, W_rec, W_out
        self.b_rec = self._array(cls, weights, "b_rec", (N_rec,))
        self.b_out = self._array(cls, weights, "b_out", (self.N_out,))
        init_state = self._array(cls, weights, "init_state")
        if init_state.size != N_rec:
            raise ParameterError(f"{cls}: weights['init_state'] has shape {init_state.shape}, expected (1, {N_rec})")
        self.init_state = init_state.reshape(1, N_rec)
        # float32 constants exactly as TensorFlow forms them from the Python float alpha
        self._alpha = self.dtype.type(self.alpha)
        self._one_minus_alpha = self.dtype.type(1.0 - self.alpha)
        self._noise_scale = np.sqrt(2.0 * self.alpha) * self.rec_noise / self.alpha  # noise enters via the drive
        self._W_in_T = np.ascontiguousarray(W_in.T)
        self._W_rec_T = np.ascontiguousarray(W_rec.T)
        self._W_out_T = np.ascontiguousarray(W_out.T)

    # ---------------------------------------------------------- the maths, once
    def leaky_update(self, state, drive, W_rec_T, out=None):
        """One noiseless step: ``(1-alpha) state + alpha (f(state) W_rec_T + drive)``.

        ``state`` (B, N_rec); ``drive`` (B, N_rec), the input drive ``u W_in^T + b_rec``
        (noise folded in); ``W_rec_T`` (N_rec, N_rec), the transposed recurrent matrix;
        ``out``: an array of ``state``'s shape to write the result into (not ``state``).
        The NumPy twin of ``LeakyUpdate.step`` (models/leaky.py); same operations in the same order, with
        two temporaries per step instead of six.
        """
        recurrent = self.transfer_function(state) @ W_rec_T
        recurrent += drive
        recurrent *= self._alpha
        out = np.multiply(state, self._one_minus_alpha, out=out)
        out += recurrent
        return out

    def input_drive(self, rnn_in):
        """``rnn_in W_in^T + b_rec`` for inputs ``(..., N_in)`` -> ``(..., N_rec)``."""
        return rnn_in @ self._W_in_T + self.b_rec

    def noise_drive(self, shape, rng=None):
        """Recurrent noise as it enters the drive: ``sqrt(2 alpha) rec_noise / alpha * N(0, 1)``."""
        return self.dtype.type(self._noise_scale) * self._rng(rng).standard_normal(shape, dtype=self.dtype)

    def readout(self, rates):
        """``rates W_out^T + b_out`` for firing rates ``(..., N_rec)`` -> ``(..., N_out)``."""
        return rates @ self._W_out_T + self.b_out

    def output_step(self, state):
        """Output read from a state: ``f(state) W_out^T + b_out``, (B, N_rec) -> (B, N_out)."""
        return self.readout(self.transfer_function(state))

    def initial_state(self, batch_size):
        """``init_state`` repeated for ``batch_size`` trials, (batch_size, N_rec)."""
        return np.repeat(self.init_state, batch_size, axis=0)

    #: the flat state is the state itself (one part)
    flat_initial_state = initial_state

    def _next_state(self, state, rnn_in):
        return self.leaky_update(state, self.input_drive(rnn_in), self._W_rec_T)

    # ------------------------------------------------------------------ stepping
    def rnn_step(self, state, rnn_in, t_connectivity=None, noise=True, rng=None):
        """One step (PsychRNN's ``rnn_step``): ``(new_output (B, N_out), new_state (B, N_rec))``.

        Args:
            state: (B, N_rec) state before the step.
            rnn_in: (B, N_in) input of the step.
            t_connectivity: None or (N_rec, N_rec) elementwise multiplier of ``W_rec``
                (ones = no change, zeros = no recurrence).
            noise: add recurrent noise (``rec_noise``), as PsychRNN always does.
            rng: seed or Generator for the noise (default: the simulator's ``rng``).
        """
        state = np.asarray(state, dtype=self.dtype)
        rnn_in = np.asarray(rnn_in, dtype=self.dtype)
        if state.ndim != 2 or state.shape[1] != self.N_rec:
            raise ParameterError(f"state must have shape (batch, N_rec={self.N_rec}), got {state.shape}")
        if rnn_in.shape != (state.shape[0], self.N_in):
            raise ParameterError(
                f"rnn_in must have shape (batch={state.shape[0]}, N_in={self.N_in}), got {rnn_in.shape}"
            )
        drive = self.input_drive(rnn_in)
        if noise and self.rec_noise > 0:
            drive = drive + self.noise_drive(drive.shape, rng)
        if t_connectivity is None:
            W_rec_T = self._W_rec_T
        else:
            W_rec_T = (self.W_rec * self._connectivity(t_connectivity, None)).T
        new_state = self.leaky_update(state, drive, W_rec_T)
        return self.output_step(new_state), new_state

    def _connectivity(self, t_connectivity, n_steps):
        """Validate ``t_connectivity``: (T, N_rec, N_rec), or one (N_rec, N_rec) for every step."""
        try:
            array = np.asarray(t_connectivity, dtype=self.dtype)
        except (TypeError, ValueError):
            raise ParameterError("t_connectivity must be a numeric array", parameter="t_connectivity") from None
        if not np.isfinite(array).all():
            raise ParameterError("t_connectivity holds NaN or infinite values", parameter="t_connectivity")
        square = (self.N_rec, self.N_rec)
        if array.shape == square:
            return array
        if n_steps is not None and array.shape == (n_steps,) + square:
            return array
        expected = square if n_steps is None else f"({n_steps}, {self.N_rec}, {self.N_rec}) or {square}"
        raise ParameterError(f"t_connectivity must have shape {expected}, got {array.shape}")

    #: time steps between two calls of ``run_trials``'s ``checkpoint``
    CHECKPOINT_EVERY = 25

    def run_trials(self, trial_input, t_connectivity=None, noise=True, rng=None, perturbations=None,
                   checkpoint=None, full_state=False):
        """Run a batch of trials: ``(outputs (B, T, N_out), states (B, T, N_rec))``, ``dtype`` arrays.

        Args:
            trial_input: (B, T, N_in) inputs, any B and T (``N_in = 1`` is fine); e.g.
                ``task.get_trial_batch()[0]``.  Zeros run the network autonomously.
            t_connectivity: None, or a per-step elementwise multiplier of ``W_rec`` of
                shape (T, N_rec, N_rec) (PsychRNN's ablation argument), or one (N_rec, N_rec)
                matrix for every step.
            noise: add recurrent noise with std ``sqrt(2 alpha) rec_noise`` per step and
                unit (PsychRNN's simulator always does; nothing happens when
                ``rec_noise`` is 0).  ``noise=False`` equals ``model.test(x, noise=False)``.
            rng: seed or Generator for this run's noise (default: the simulator's ``rng``).
            perturbations: a :class:`~psychrnn_widgets.simulation.perturbations.Silence`,
                ``Clamp``, ``Kick`` or ``InputPerturbation`` object, or a list of them.
                Steps index the time axis of ``trial_input`` (see that module).
            checkpoint: optional ``checkpoint()`` called every ``CHECKPOINT_EVERY`` time steps;
                raising from it abandons the run (a background analysis that is no longer wanted).
            full_state: accepted so that code can ask every simulator for its whole state
                (the state of this network is ``states`` itself).

        Returns:
            ``outputs`` (B, T, N_out) and ``states`` (B, T, N_rec): ``states[:, k]`` is the
            (pre-activation) state after step ``k``, ``outputs[:, k]`` read from it.
        """
        if checkpoint is not None and not callable(checkpoint):
            raise ParameterError(f"checkpoint must be None or a function taking no arguments, got "
                                 f"{type(checkpoint).__name__}", parameter="checkpoint", value=checkpoint)
        x = self.as_input_batch(trial_input)
        batch, n_steps, _ = x.shape
        plan = PerturbationPlan(perturbations, n_steps, self.N_rec, self.N_in, batch, self.dtype)
        x = plan.perturb_inputs(x)
        connectivity = None if t_connectivity is None else self._connectivity(t_connectivity, n_steps)

        # state-independent work, hoisted: input drive (and noise) of every step, time-major (T, B, N_rec)
        drive = self.input_drive(np.ascontiguousarray(x.transpose(1, 0, 2)))
        if noise and self.rec_noise > 0:
            drive += self.noise_drive(drive.shape, rng)
        masked = {}  # cache: rate-mask index -> W_rec_T with the silenced (presynaptic) rows zeroed

        def recurrent_matrix(step):
            mask_index = plan.rate_mask_index[step]
            if connectivity is None:
                if mask_index < 0:
                    return self._W_rec_T
                if mask_index not in masked:
                    masked[mask_index] = self._W_rec_T * plan.rate_masks[mask_index][:, None]
                return masked[mask_index]
            if connectivity.ndim == 2:  # one multiplier for every step: form the product once
                if "static" not in masked:
                    masked["static"] = (self.W_rec * connectivity).T
                W_rec_T = masked["static"]
            else:
                W_rec_T = (self.W_rec * connectivity[step]).T
            return W_rec_T if mask_index < 0 else W_rec_T * plan.rate_masks[mask_index][:, None]

        static = connectivity is None and plan.silenced is None
        states = np.empty((n_steps, batch, self.N_rec), dtype=self.dtype)
        state = self.initial_state(batch)
        for step in range(n_steps):
            if checkpoint is not None and step % self.CHECKPOINT_EVERY == 0:
                checkpoint()
            new_state = self.leaky_update(state, drive[step], self._W_rec_T if static else recurrent_matrix(step),
                                          out=states[step])
            if plan.acts[step]:
                plan.after_step(step, new_state, state)
            state = new_state

        states = np.ascontiguousarray(states.transpose(1, 0, 2))
        rates = self.transfer_function(states)
        if plan.silenced is not None:
            rates = rates * plan.keep_rates
        return self.readout(rates), states
