"""``Ensemble``: K same-shaped ``Basic`` networks along a leading network axis (DESIGN §7, §8).

The K > 1 face of the one stack: the same leaky update and the same forward pass
(:func:`~psychrnn_widgets.models.leaky.leaky_pass`, which chooses the time-loop layout)
as :class:`~psychrnn_widgets.models.basic.Basic`, the same effective-weight maths
(:mod:`~psychrnn_widgets.models.constraints`), and the same trainer
(:class:`~psychrnn_widgets.training.trainer.Trainer`, whose compiled step and loop carry
the network axis; ``Basic`` is the case without it).

Networks of PsychRNN's size are latency-bound on a CPU: one 50-unit step keeps a small
part of the machine's arithmetic busy.  An ensemble runs K networks in one program: every
weight gets a leading axis of size K and the recurrence runs on it as batched matrix
products, in which the K networks never mix.

Each network keeps its own

* initial weights, Dale's law (on or off) and connectivity masks, recurrent noise (its
  level and its counter-based stream) and regulariser weights -- all taken from its own
  ``network_params`` exactly as ``Basic(network_params)`` would build them (the ensemble
  builds each member once and stacks its values), and effective weights through
  :mod:`psychrnn_widgets.models.constraints`;
* loss (the loss function is evaluated per network);
* when training: learning rate, Adam state, gradient clipping (norm per network and per
  tensor), frozen weights and the roll-back of a diverging step.

So a network trained in an ensemble ends where the same ``Basic`` trained alone on the
same batches ends (to float32 rounding: a batched product may sum in another order; the
tests hold them to 1e-5 after 20 steps).  :meth:`Ensemble.model` returns network k as an
ordinary ``Basic`` for everything else (test, save, simulator, analysis).

What must be shared by the K networks: ``N_in, N_rec, N_out``, ``alpha = dt/tau``, the
transfer function and the loss function (the ensemble is one program).  Batch size and
trial length may be anything, equal for all networks in a step.
``custom_regularization(model, params)`` needs one model object and is refused here.

Speed: on a CPU an ensemble of small networks runs fastest with one TensorFlow intra-op
thread (:func:`psychrnn_widgets.set_tensorflow_threads`, before TensorFlow starts): the
step's independent batched products then run side by side (16 hello-world networks: about
0.6 times the step time of TensorFlow's default pools on 2 cores; ``benchmarks/RESULTS.md``).

Shapes: weights ``W_in (K, N_rec, N_in)``, ``W_rec (K, N_rec, N_rec)``, ``W_out (K, N_out,
N_rec)``, ``b_rec (K, N_rec)``, ``b_out (K, N_out)``, ``init_state (K, 1, N_rec)`` (raw,
before masks and Dale signs); inputs ``x (K, B, T, N_in)`` (or ``(B, T, N_in)``, the same
trials for every network); outputs ``(K, B, T, N_out)``; states ``(K, B, T, N_rec)``.
"""
import warnings

import numpy as np

from .. import seeding
from ..errors import ParameterError
from ..params import ENSEMBLE_PARAMS, REGULARIZER_KEYS
from . import constraints, leaky
from ._tf import GraphFunction, tf
from .basic import Basic
from .losses import BUILTIN_LOSSES
from .regularizers import mean_penalty
from .rnn import train_with_trainer

__all__ = ["Ensemble", "SHARED_KEYS"]

#: what the networks of one ensemble must have in common (one compiled program)
SHARED_KEYS = ("N_in", "N_rec", "N_out", "alpha", "transfer_function", "loss_function")

_VARIABLES = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")
_MASKS = ("input_connectivity", "rec_connectivity", "output_connectivity")
_WEIGHT_TERMS = (("in", "get_effective_W_in"), ("rec", "get_effective_W_rec"), ("out", "get_effective_W_out"))


def _params_list(network_params, n):
    n = ENSEMBLE_PARAMS["n"].validate(n, "Ensemble")
    if hasattr(network_params, "keys"):
        if n is None:
            raise ParameterError("Ensemble(network_params, n): with one network_params dict, give the number of "
                                 "networks n (or pass a list of K dicts)", parameter="n")
        return [dict(network_params) for _ in range(n)]
    try:
        items = list(network_params)
    except TypeError:
        raise ParameterError("Ensemble needs a network_params dict (with n) or a list of network_params dicts, got "
                             f"{type(network_params).__name__}", parameter="network_params") from None
    if not items or not all(hasattr(p, "keys") for p in items):
        raise ParameterError("Ensemble needs a non-empty list of network_params dicts", parameter="network_params")
    if n is not None and n != len(items):
        raise ParameterError(f"Ensemble: n={n} but {len(items)} network_params were given", parameter="n", value=n)
    return [dict(p) for p in items]


def _warn_repeated_seeds(members):
    """Warn when two networks got the same integer seed: same initial weights and noise, not independent replicates."""
    first = {}
    for k, member in enumerate(members):
        seed = member.seed
        if isinstance(seed, (int, np.integer)):
            if int(seed) in first:
                warnings.warn(f"Ensemble: networks {first[int(seed)]} and {k} have the same seed {int(seed)}: they "
                              "start from the same weights and draw the same noise, so they are not independent "
                              "replicates; give each network its own seed (or none, to have them spawned)",
                              UserWarning, stacklevel=3)
            first.setdefault(int(seed), k)
    return first


def _shared_value(member, key):
    if key == "transfer_function":
        return member.transfer_function_name or member.transfer_function
    if key == "loss_function":
        return member.loss_name if member.loss_name in BUILTIN_LOSSES else member.loss_function
    return getattr(member, key)


class Ensemble:
    """K ``Basic`` networks of the same shape, run and trained together; see the module docstring.

    For the trainer it is a model with a network axis: :attr:`n_networks` is K (``None`` for
    a ``Basic``), :meth:`compute_loss` gives (K,) losses, :attr:`trainable_variables` carry
    the axis first and :attr:`trainable` says which network trains which of them.

    Args:
        network_params: a list of K ``network_params`` dicts, or one dict used for all K
            (then give ``n``; they differ only by their seeds).
        n: the number of networks when ``network_params`` is one dict.
        seed: networks whose params hold no ``'seed'`` get ``spawn_seeds(seed, K)[k]``
            (independent streams, see :mod:`psychrnn_widgets.seeding`); None draws one
            from NumPy's global generator.  Every network ends up with a recorded seed.

    Attributes:
        K, n_networks: number of networks.  ``N_in, N_rec, N_out, alpha, dt, tau``: shared sizes.
        network_params: the K dicts as used (seeds filled in).
        seeds: the K seeds.
        dale: (K,) bool, which networks follow Dale's law.
        rec_noise: (K,) float64.
        trainable: ``{variable name: (K,) bool}`` from each network's ``*_train`` flags.
    """

    #: XLA made the stacked step slower, not faster (its per-network loss runs through
    #: ``tf.vectorized_map``; benchmarks/README.md, "Ensembles"); ``jit_compile=True`` still asks for it
    prefers_xla = False

    def __init__(self, network_params, n=None, seed=None):
        params = _params_list(network_params, n)
        missing = [k for k, p in enumerate(params) if p.get("seed") is None]
        if missing:
            spawned = seeding.spawn_seeds(seed, len(params))
            for k in missing:
                params[k]["seed"] = spawned[k]
        members = []
        for k, p in enumerate(params):
            try:
                members.append(Basic(p))
            except (KeyError, ParameterError) as error:
                raise type(error)(f"network {k} of the ensemble: {error}") from error
        self._check_shared(members)
        _warn_repeated_seeds(members)
        first = members[0]
        self.K = len(members)
        self.network_params = params
        self.seeds = [m.seed for m in members]
        self.name = first.name
        self.N_in, self.N_rec, self.N_out = first.N_in, first.N_rec, first.N_out
        self.alpha, self.dt, self.tau = first.alpha, first.dt, first.tau
        self.transfer_function, self.transfer_function_name = first.transfer_function, first.transfer_function_name
        self.loss_name, self.loss_function = first.loss_name, first.loss_function
        for k, member in enumerate(members):
            if member.regularizer.custom_regularization is not None:
                raise ParameterError(f"network {k} of the ensemble sets custom_regularization(model, params), which "
                                     "needs one model object: train that network alone (Basic(...).train)",
                                     parameter="custom_regularization")

        values = [m.get_variable_values() for m in members]
        for key in _VARIABLES:
            stacked = np.stack([v[key] for v in values]).astype(np.float32)
            setattr(self, key, tf.Variable(stacked, name=key))
        self.trainable = {key: np.array([getattr(m, key + "_train") for m in members]) for key in _VARIABLES}
        for key in _MASKS:
            setattr(self, key, tf.constant(np.stack([getattr(m, key).numpy() for m in members])))
        self.dale = np.array([m.dale_ratio is not None for m in members])
        self.dale_ratios = [m.dale_ratio for m in members]
        rec_sign = np.stack([np.diag(m.Dale_rec.numpy()) for m in members]).astype(np.float32)
        out_gate = np.stack([np.diag(m.Dale_out.numpy()) for m in members]).astype(np.float32)
        self.rec_sign, self.out_gate = tf.constant(rec_sign[:, None, :]), tf.constant(out_gate[:, None, :])
        self._dale_flags = tf.constant(self.dale[:, None, None])
        self.rec_noise = np.array([m.rec_noise for m in members], dtype=np.float64)
        self.noise_seeds = [m.noise_seed for m in members]
        self._noise_counter = tf.Variable(np.zeros(self.K, np.int64), trainable=False, name="noise_counters")
        self.regularizer_weights = {key: np.array([m.regularizer.coefficients[key] for m in members], np.float32)
                                    for key in REGULARIZER_KEYS}
        self._template = first  # checks batches (shapes, finiteness) as the single model does
        self._forward_functions = {}

    @staticmethod
    def _check_shared(members):
        first = members[0]
        for key in SHARED_KEYS:
            reference = _shared_value(first, key)
            for k, member in enumerate(members[1:], start=1):
                value = _shared_value(member, key)
                if value != reference:
                    raise ParameterError(
                        f"the networks of an ensemble must share {', '.join(SHARED_KEYS)}; network {k} has "
                        f"{key}={value!r} but network 0 has {reference!r}.  Train them in separate ensembles "
                        "(a Sweep groups runs by shape by itself)", parameter=key, value=value)

    # ------------------------------------------------------------ effective weights
    def _by_dale(self, with_dale, without):
        """Per network, the Dale or the plain version (each computed only if some network needs it)."""
        if self.dale.all():
            return with_dale()
        if not self.dale.any():
            return without()
        return tf.where(self._dale_flags, with_dale(), without())

    def get_effective_W_rec(self):
        """Recurrent weights after masks and Dale signs, (K, N_rec, N_rec)."""
        W, C = self.W_rec, self.rec_connectivity
        return self._by_dale(lambda: constraints.effective_W_rec(W, C, True, self.rec_sign),
                             lambda: constraints.effective_W_rec(W, C, False, self.rec_sign))

    def get_effective_W_in(self):
        """Input weights after masks (and ``|.|`` with Dale's law), (K, N_rec, N_in)."""
        W, C = self.W_in, self.input_connectivity
        return self._by_dale(lambda: constraints.effective_W_in(W, C, True),
                             lambda: constraints.effective_W_in(W, C, False))

    def get_effective_W_out(self):
        """Output weights after masks (and Dale's E-only readout), (K, N_out, N_rec)."""
        W, C = self.W_out, self.output_connectivity
        return self._by_dale(lambda: constraints.effective_W_out(W, C, True, self.out_gate),
                             lambda: constraints.effective_W_out(W, C, False, self.out_gate))

    # -------------------------------------------------------------------- dynamics
    @property
    def noise_counters(self):
        """(K,) int64: how far each network's noise stream has moved on (one per applied step)."""
        return self._noise_counter.numpy()

    def advance_noise(self, networks):
        """Move the noise counters of the networks where the (K,) bool ``networks`` is True."""
        return self._noise_counter.assign_add(tf.cast(networks, tf.int64))

    def _noise(self, n_steps, batch):
        """``sqrt(2 alpha) rec_noise / alpha * N(0, 1)``, (T, K, B, N_rec): each network's own draw.

        Network k's draw is the one ``Basic`` with its seed makes at the same counter, so
        noisy training is reproducible network by network.
        """
        draws = []
        for k in range(self.K):
            if self.rec_noise[k] > 0:
                scale = np.float32(np.sqrt(2.0 * self.alpha) * self.rec_noise[k] / self.alpha)
                seed = tf.stack([tf.constant(self.noise_seeds[k], tf.int64), self._noise_counter[k]])
                draws.append(scale * tf.random.stateless_normal([n_steps, batch, self.N_rec], seed=seed))
            else:
                draws.append(tf.zeros([n_steps, batch, self.N_rec]))
        return tf.stack(draws, axis=1)

    def as_input_batch(self, x, what="x"):
        """One network's batch checked as ``Basic`` checks it: float32 (B, T, N_in), finite."""
        return self._template.as_input_batch(x, what)

    def as_network_batch(self, x, what="x"):
        """``x`` as float32 (K, B, T, N_in): a (B, T, N_in) batch is given to every network."""
        array = np.asarray(x, dtype=np.float32) if not isinstance(x, np.ndarray) else x
        if array.ndim == 3:
            array = self.as_input_batch(array, what)
            return np.broadcast_to(array, (self.K,) + array.shape)
        if array.ndim != 4 or array.shape[0] != self.K:
            raise ParameterError(f"{what} must have shape (batch, time, N_in={self.N_in}) (the same trials for every "
                                 f"network) or (K={self.K}, batch, time, N_in), got {array.shape}",
                                 parameter=what, value=array.shape)
        return np.stack([self.as_input_batch(a, f"{what}[{k}]") for k, a in enumerate(array)])

    def forward_pass(self, x, noise=True):
        """``x`` (K, B, T, N_in) -> ``(outputs (K, B, T, N_out), states (T, K, B, N_rec))`` (tensors).

        States stay time-major (what the loss of the firing rate reads); :meth:`test`
        returns them network-major.  The pass is ``Basic``'s
        (:func:`~psychrnn_widgets.models.leaky.leaky_pass`) with the network axis; it
        chooses the time-loop layout by the program's width ``K * N_rec``.
        """
        x = tf.convert_to_tensor(x, tf.float32)
        n_steps, batch = tf.shape(x)[2], tf.shape(x)[1]
        noise_term = self._noise(n_steps, batch) if noise and (self.rec_noise > 0).any() else None
        readouts, states = leaky.leaky_pass(
            leaky.LeakyUpdate(self.alpha, self.transfer_function), x, self.get_effective_W_in(), self.b_rec,
            self.get_effective_W_rec(), self.get_effective_W_out(), tf.tile(self.init_state, [1, batch, 1]),
            noise_term)
        return readouts + self.b_out[:, None, None, :], states

    def compute_loss(self, x, y, output_mask, noise=True):
        """``(losses (K,), outputs (K, B, T, N_out), states (T, K, B, N_rec))``: each network's loss + regularisation.

        ``x`` (K, B, T, N_in), ``y`` and ``output_mask`` (K, B, T, N_out).  The loss
        function runs once per network (``tf.vectorized_map`` over the network axis), so a
        custom loss ``fn(predictions, y, output_mask)`` works unchanged.
        """
        outputs, states = self.forward_pass(x, noise=noise)
        losses = tf.vectorized_map(lambda args: tf.cast(self.loss_function(*args), tf.float32),
                                   (outputs, y, output_mask))
        reg = self.regularization(states)
        return (losses + reg if reg is not None else losses), outputs, states

    def losses(self, x, y, output_mask, noise=False):
        """Each network's loss + regularisation on a batch, as (K,) float32 NumPy values.

        ``x`` (K, B, T, N_in) or (B, T, N_in) for every network; ``y`` and ``output_mask``
        (K, B, T, N_out) or (B, T, N_out).  Noise is off by default (deterministic
        evaluation; no noise counter moves).
        """
        x = self.as_network_batch(x, "x")
        shape = x.shape[:3] + (self.N_out,)
        targets = []
        for name, value in (("y", y), ("output_mask", output_mask)):
            array = np.asarray(value, dtype=np.float32)
            if array.shape not in (shape, shape[1:]):
                raise ParameterError(f"{name} must have shape {shape[1:]} or {shape} to go with x, got {array.shape}",
                                     parameter=name, value=array.shape)
            targets.append(tf.constant(np.broadcast_to(array, shape)))
        losses, _, _ = self.compute_loss(tf.constant(x), *targets, noise=noise)
        return losses.numpy()

    def regularization(self, states):
        """(K,) regularisation terms (PsychRNN's means over effective matrices and rates), or None."""
        weights, total = self.regularizer_weights, None
        terms = [(f"{norm}_{suffix}", getter, norm) for norm in ("L1", "L2") for suffix, getter in _WEIGHT_TERMS]
        for key, getter, norm in terms:
            if weights[key].any():
                term = tf.constant(weights[key]) * mean_penalty(getattr(self, getter)(), norm, axis=[1, 2])
                total = term if total is None else total + term
        if weights["L2_firing_rate"].any():
            rates = mean_penalty(self.transfer_function(states), "L2", axis=[0, 2, 3])  # states (T, K, B, N)
            term = tf.constant(weights["L2_firing_rate"]) * rates
            total = term if total is None else total + term
        return total

    def test(self, x, noise=False):
        """Run the K networks: ``x`` (K, B, T, N_in) or (B, T, N_in) for all.

        Returns ``(outputs (K, B, T, N_out), states (K, B, T, N_rec))`` as float32 NumPy
        arrays.  ``noise`` is off by default (deterministic evaluation); with noise on each
        network's counter moves on, as ``Basic.test`` does.
        """
        x = self.as_network_batch(x, "x")
        noise = bool(noise and (self.rec_noise > 0).any())
        fn = self._forward_functions.get(noise)
        if fn is None:
            spec = tf.TensorSpec([self.K, None, None, self.N_in], tf.float32)
            fn = GraphFunction(lambda v: self.forward_pass(v, noise), input_signature=[spec])
            self._forward_functions[noise] = fn
        outputs, states = fn(tf.constant(x))
        if noise:
            self.advance_noise(tf.ones([self.K], tf.bool))
        return outputs.numpy(), np.transpose(states.numpy(), (1, 2, 0, 3))

    # --------------------------------------------------------------------- weights
    @property
    def variables(self):
        """The stacked raw variables by name, each with the network axis first."""
        return {key: getattr(self, key) for key in _VARIABLES}

    def get_variable_values(self, k=None):
        """Raw values (before masks and Dale signs): all networks stacked, or network ``k``'s."""
        values = {key: v.numpy() for key, v in self.variables.items()}
        return values if k is None else {key: value[k] for key, value in values.items()}

    def _index(self, k):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not -self.K <= k < self.K:
            raise IndexError(f"network index must be an integer in [0, {self.K}), got {k!r}")
        return int(k) % self.K

    def model(self, k):
        """Network ``k`` as an ordinary ``Basic``: its own ``network_params``, the trained weights and noise counter.

        A new object on every call; training it further does not change the ensemble.
        """
        k = self._index(k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the ensemble already warned about its params
            model = Basic(self.network_params[k])
        model.set_weights(self.get_variable_values(k))
        model.noise_counter = int(self.noise_counters[k])
        return model

    def models(self):
        """All K networks as ``Basic`` models (see :meth:`model`)."""
        return [self.model(k) for k in range(self.K)]

    def get_weights(self, k):
        """Network ``k``'s weights as ``Basic.get_weights()`` gives them (effective matrices, masks, metadata)."""
        return self.model(k).get_weights()

    # ------------------------------------------------------------------- training
    @property
    def n_networks(self):
        """K: the size of the leading network axis the trainer's step carries (``None`` for one ``Basic``)."""
        return self.K

    @property
    def trainable_variables(self):
        """The stacked variables some network trains (which ones: :attr:`trainable`), network axis first."""
        return [v for key, v in self.variables.items() if self.trainable[key].any()]

    def train(self, sources, train_params=None):
        """Train the K networks together: :meth:`Trainer.train <psychrnn_widgets.training.trainer.Trainer.train>`.

        ``sources``: one Task or batch generator (the same trials for every network) or a
        list of K (each network its own trials, e.g. each with its own seed: what a sweep
        does, so that a network's result does not depend on its ensemble).
        ``train_params``: PsychRNN's keys; ``learning_rate`` and ``fixed_weights`` may be
        one value for all or a list of K.  A second call continues.

        Returns ``(losses (records, K), training_time, initialization_time)``.
        """
        return train_with_trainer(self, sources, train_params)

    def __len__(self):
        return self.K

    def __repr__(self):
        dale = int(self.dale.sum())
        return (f"Ensemble(K={self.K}, N_in={self.N_in}, N_rec={self.N_rec}, N_out={self.N_out}, "
                f"{dale} with Dale's law)")
