"""The base recurrent network: parameters, variables, constraints, testing, weights.

``RNN(network_params)`` takes PsychRNN's ``network_params`` dict, validated through the
declarations of :mod:`psychrnn_widgets.params` (a bad value is a ``ParameterError`` naming
the key; a misspelled key is a warning with a "did you mean").  It owns TensorFlow
variables (no global graph: two models with the same ``name`` coexist) and the maths; it
holds no training state (that belongs to :class:`~psychrnn_widgets.training.trainer.Trainer`).
Subclasses write the dynamics:

* ``recurrent_timestep(rnn_in, state) -> new_state`` — one step, (B, N_in), (B, N_rec);
* ``output_timestep(state) -> output`` — (B, N_rec) -> (B, N_out);
* ``forward_pass(x, noise=True) -> (outputs, states)`` — (B, T, N_in) -> (B, T, N_out),
  (B, T, N_rec).  The default runs the two methods above inside ``tf.scan`` (a symbolic
  loop), so a subclass that only writes the two step methods works; ``Basic`` overrides
  it with a faster equivalent.

A new model (PsychRNN's "new model" tutorial, ported in ``docs/new_model.md``) subclasses
``RNN``, may declare its own ``network_params`` keys in ``parameters`` (a dict of
:class:`~psychrnn_widgets.params.Parameter`), creates any extra ``tf.Variable`` attributes
after ``super().__init__(params)`` (they are found, trained and saved automatically) and
writes the step methods.  Use :meth:`recurrent_noise` for noise so that
``test(x, noise=False)`` can switch it off.

**What a model class declares** (DESIGN §8; the dashboard, weight files, simulators and
analyses work from it, so every registered class is picked, saved and analysed alike):

* parameters: ``parameters`` (its own keys) and ``not_applicable`` (``{key: reason}``:
  common keys that mean nothing for it, e.g. ``dale_ratio`` for an LSTM; given with a
  value other than the default they are refused with the reason, and the dashboard
  disables their controls and shows the reason);
* weights: its ``tf.Variable`` attributes (found automatically), their shapes for given
  sizes (:meth:`weight_shapes`) and how sizes are read back from saved weights
  (:meth:`sizes_from_weights`); :meth:`from_weights` rebuilds a network from a weights
  dict or file (the weight file's ``model`` entry names the class by its registered name);
* state: ``state_parts`` (``('hidden',)``; an LSTM has ``('hidden', 'cell')``), so the
  flat dynamical state has :attr:`state_size` = ``len(state_parts) * N_rec`` values, the
  first ``N_rec`` of which are the units' activity; :meth:`next_state` is one noiseless
  step on flat states ``(B, state_size)`` (what fixed points and Jacobians study);
* its NumPy twin: ``simulator``, a :class:`~psychrnn_widgets.simulation.base.Simulator`
  subclass (None: none; a subclass that rewrites the dynamics without naming a twin has
  none, rather than inheriting one that no longer matches).

Random streams (see :mod:`psychrnn_widgets.seeding`): with ``seed`` the initial weights
come from the seed's ``'init'`` stream and the recurrent noise from its ``'noise'`` stream,
both independent of a task seeded with the same integer.  Without ``seed``, the initial
weights are drawn from NumPy's global generator and the noise seed from TensorFlow's
global seed, so ``np.random.seed(...)`` / ``tf.random.set_seed(...)`` make runs repeatable
as in PsychRNN.
"""
import warnings

import numpy as np

from .. import seeding, transfer
from ..errors import ParameterError
from ..params import NETWORK_PARAMS, scalar, validate_network_params
from . import constraints
from ._tf import GraphFunction, tf
from .initializers import initializer_from_params
from .losses import resolve_loss
from .regularizers import Regularizer

#: keys every ``network_params`` must hold (PsychRNN's)
REQUIRED_KEYS = tuple(name for name, p in NETWORK_PARAMS.items() if p.required)

TF_TRANSFER_FUNCTIONS = {
    "relu": tf.nn.relu,
    "tanh": tf.math.tanh,
    "sigmoid": tf.math.sigmoid,
    "softplus": tf.math.softplus,
    "elu": tf.nn.elu,
    "linear": tf.identity,
}

_RATE_VARIABLES = ("init_state", "W_in", "W_rec", "W_out", "b_rec", "b_out")
#: methods whose override changes the dynamics: a subclass overriding one keeps no inherited NumPy twin
DYNAMICS_METHODS = ("recurrent_timestep", "output_timestep", "forward_pass", "forward_pass_time_major", "next_state",
                    "initial_state", "flatten_state", "unflatten_state")


def resolve_transfer_function(value):
    """``(tf_function, name)`` for a name, a known TF/NumPy function, or a custom TF callable."""
    if value is None:
        return TF_TRANSFER_FUNCTIONS["relu"], "relu"
    name = transfer.name_of(value)
    if name is not None:
        return TF_TRANSFER_FUNCTIONS[name], name
    if callable(value):
        return value, None  # a custom TF function: usable, but not storable by name
    raise ParameterError(f"transfer_function must be a name or a function, got {value!r}",
                         parameter="transfer_function", value=value)


#: PsychRNN's attributes that hold one batch; custom losses and regularisers read them
BATCH_ATTRIBUTES = ("x", "y", "output_mask", "predictions", "states")


class _BatchAttribute:
    """``model.x``, ``.y``, ``.output_mask``, ``.predictions``, ``.states``: the last batch's tensor.

    Reading one that the last batch has no value for raises ``AttributeError`` saying when
    it exists; assigning one sets it until the next batch (some PsychRNN code does that).
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, model, owner=None):
        if model is None:
            return self
        return model._batch_value(self.name)

    def __set__(self, model, value):
        if model._batch is None:
            model._batch = {"source": "assigned"}
        model._batch[self.name] = value

    def __delete__(self, model):
        if model._batch is None or model._batch.pop(self.name, None) is None:
            raise AttributeError(self.name)


def _global_tf_seed():
    """A noise seed that honours ``tf.random.set_seed`` (random when no global seed is set)."""
    return int(tf.random.uniform([], 0, 2**62, dtype=tf.int64))


class RNN:
    """Base rate network; see the module docstring.  ``params``: PsychRNN ``network_params``.

    Attributes mirror PsychRNN: ``name, N_in, N_rec, N_out, N_steps, dt, tau, alpha,
    N_batch, rec_noise, transfer_function, dale_ratio, initializer`` and the variables
    ``W_in (N_rec,N_in), W_rec (N_rec,N_rec), W_out (N_out,N_rec), b_rec (N_rec,),
    b_out (N_out,), init_state (1,N_rec)`` (raw, before masks and Dale signs).
    ``params`` is the dict as given; ``values`` the validated one (every declared key).

    The last batch, as PsychRNN's custom losses and regularisers read it (float32 tensors):
    ``x (B,T,N_in)``, ``y (B,T,N_out)``, ``output_mask (B,T,N_out)``, ``predictions
    (B,T,N_out)``, ``states (B,T,N_rec)``.  Inside the compiled training step they are the
    symbolic tensors of the batch being trained (``loss_function``,
    ``custom_regularization`` and ``Regularizer`` see them there); afterwards:

    * after ``test(x)``: that ``x`` and its ``predictions`` and ``states`` (with the noise
      ``test`` used); ``y`` and ``output_mask`` raise ``AttributeError`` (``test`` has no
      targets; they hold the targets of the last *training* batch);
    * after ``train(...)``: the last training batch's ``x, y, output_mask``; its
      ``predictions`` and ``states`` are computed on first access, with the weights as
      they are then and recurrent noise off (training used noise, and the weights before
      the last update);
    * before any batch: ``AttributeError`` saying when they exist.
    """

    x, y, output_mask, predictions, states = (_BatchAttribute() for _ in BATCH_ATTRIBUTES)
    _batch = None  # {'source': ..., name: tensor}: what they hold (None: no batch yet)

    #: whether this model uses the rate-network variables W_in, W_rec, b_rec, init_state
    uses_rate_weights = True
    #: whether the training step is XLA-compiled by default (``train_params['jit_compile']``)
    prefers_xla = False
    #: a subclass's own ``network_params`` keys: ``{name: params.Parameter}``
    parameters = {}
    #: common ``network_params`` keys that mean nothing for this model: ``{key: why}`` (refused when set)
    not_applicable = {}
    #: the parts of the dynamical state, each (B, N_rec); the first is the units' activity
    state_parts = ("hidden",)
    #: the NumPy twin (a ``psychrnn_widgets.simulation`` Simulator subclass), None when there is none
    simulator = None
    #: one line on what the model is (the dashboard's model picker shows it)
    summary = ""
    #: the size of a leading network axis on the weights (``None``: one network, no axis;
    #: an :class:`~psychrnn_widgets.models.ensemble.Ensemble` has K)
    n_networks = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "simulator" not in own and any(name in own for name in DYNAMICS_METHODS):
            cls.simulator = None  # new dynamics: the inherited NumPy twin would simulate another network

    def __init__(self, params):
        self.params = dict(params) if hasattr(params, "keys") else params
        v = self.values = validate_network_params(params, extra=self.declared_parameters(), stacklevel=3)
        self._refuse_not_applicable()
        self.name = v["name"]
        self.N_in, self.N_rec, self.N_out = v["N_in"], v["N_rec"], v["N_out"]
        self.N_steps, self.N_batch = v["N_steps"], v["N_batch"]
        self.dt, self.tau = float(v["dt"]), float(v["tau"])
        self.alpha = self.dt / self.tau
        self.rec_noise = float(v["rec_noise"])
        self.seed = v["seed"]
        self.load_weights_path = v["load_weights_path"]
        self.loss_name, self.loss_function = resolve_loss(self.params)
        self.regularizer = Regularizer(v)

        self.initializer = initializer_from_params(v, seeding.rng(self.seed, "init"))
        init = self.initializer.initializations
        self.dale_ratio = NETWORK_PARAMS["dale_ratio"].validate(self.initializer.get_dale_ratio(), "initializer")
        self._check_initial_shapes(init)

        self.transfer_function, self.transfer_function_name = resolve_transfer_function(self._transfer_choice(init))

        trainable = {key: v[key + "_train"] for key in _RATE_VARIABLES}
        self.W_in_train, self.W_rec_train, self.W_out_train = (trainable[k] for k in ("W_in", "W_rec", "W_out"))
        self.b_rec_train, self.b_out_train = trainable["b_rec"], trainable["b_out"]
        self.init_state_train = trainable["init_state"]
        names = _RATE_VARIABLES if self.uses_rate_weights else ("W_out", "b_out")
        for key in names:
            value = np.asarray(init[key], dtype=np.float32)
            setattr(self, key, tf.Variable(value, trainable=trainable[key], name=key))

        def const(key):
            return tf.constant(np.asarray(init[key], dtype=np.float32), name=key)

        self.input_connectivity = const("input_connectivity")
        self.rec_connectivity = const("rec_connectivity")
        self.output_connectivity = const("output_connectivity")
        self.Dale_rec, self.Dale_out = const("Dale_rec"), const("Dale_out")
        self._rec_sign = tf.constant(np.diag(init["Dale_rec"]).astype(np.float32))
        self._out_gate = tf.constant(np.diag(init["Dale_out"]).astype(np.float32))

        # counter-based noise: the draw of a forward pass is a pure function of (noise seed,
        # counter); the counter advances after each use (training step or noisy test)
        noise_seed = seeding.integer_seed(self.seed, "noise") if self.seed is not None else _global_tf_seed()
        self._noise_seed = tf.constant(noise_seed, tf.int64)
        self._noise_rng = tf.random.Generator.from_seed(noise_seed)  # per-step noise of the generic path
        self._noise_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="noise_counter")
        self._noise_enabled = True
        self._forward_functions = {}
        self.is_built = self.is_initialized = True  # PsychRNN attributes; nothing to build here

    # ------------------------------------------------------------------ set-up
    def _refuse_not_applicable(self):
        """``ParameterError`` for a key of :attr:`not_applicable` given with a value other than its default."""
        for key, reason in type(self).not_applicable.items():
            if key in self.params and not _is_default(key, self.params[key]):
                raise ParameterError(f"{key} does not apply to {type(self).__name__}: {reason}", parameter=key,
                                     value=self.params[key], allowed="leave it out")

    @classmethod
    def declared_parameters(cls):
        """This class's own ``network_params`` declarations (``parameters`` of it and its bases)."""
        declared = {}
        for klass in reversed(cls.__mro__):
            declared.update(getattr(klass, "parameters", None) or {})
        return declared

    def _transfer_choice(self, init):
        """``network_params['transfer_function']`` if given, else the one stored with the weights (relu by default).

        Stored: in the weight file (``load_weights_path``), or as ``meta_transfer_function``
        when one of our files came in as ``network_params`` (``{**params, **dict(np.load(f))}``).
        A given one that differs from the stored one wins, with a warning.
        """
        if self.load_weights_path is not None:
            stored = init.get("transfer_function")
        else:
            stored = scalar(self.params.get("meta_transfer_function")) or None
            stored = None if stored is None else NETWORK_PARAMS["transfer_function"].validate(
                stored, "network_params['meta_transfer_function']")
        if "transfer_function" not in self.params:
            return stored or self.values["transfer_function"]
        given = self.values["transfer_function"]
        if stored is not None and transfer.name_of(given) not in (None, transfer.name_of(stored)):
            warnings.warn(f"network_params['transfer_function']={transfer.name_of(given)!r} overrides the "
                          f"transfer function {transfer.name_of(stored)!r} stored with the weights; the network "
                          "differs from the one that was saved", UserWarning, stacklevel=4)
        return given

    def _check_initial_shapes(self, init):
        expected = {"W_out": (self.N_out, self.N_rec)}
        if self.uses_rate_weights:
            expected.update(W_in=(self.N_rec, self.N_in), W_rec=(self.N_rec, self.N_rec))
        for key, shape in expected.items():
            if key in init and np.shape(init[key]) != shape:
                source = f"the weight file {self.load_weights_path}" if self.load_weights_path else "the initializer"
                raise ParameterError(
                    f"{key} from {source} has shape {np.shape(init[key])} but network_params "
                    f"(N_in={self.N_in}, N_rec={self.N_rec}, N_out={self.N_out}) need {shape}",
                    parameter=key, value=np.shape(init[key]))

    def build(self):
        """Kept for PsychRNN compatibility: the model is ready when constructed (no graph to build)."""
        return None

    # ------------------------------------------------------- effective weights
    def get_effective_W_rec(self):
        """Recurrent weights after connectivity mask and Dale signs, (N_rec, N_rec)."""
        dale = self.dale_ratio is not None
        return constraints.effective_W_rec(self.W_rec, self.rec_connectivity, dale, self._rec_sign)

    def get_effective_W_in(self):
        """Input weights after mask (and ``|.|`` with Dale's law), (N_rec, N_in)."""
        return constraints.effective_W_in(self.W_in, self.input_connectivity, self.dale_ratio is not None)

    def get_effective_W_out(self):
        """Output weights after mask (and Dale's E-only readout), (N_out, N_rec)."""
        dale = self.dale_ratio is not None
        return constraints.effective_W_out(self.W_out, self.output_connectivity, dale, self._out_gate)

    # ---------------------------------------------------------------- dynamics
    def noise_for_pass(self, shape):
        """Standard-normal noise for one whole forward pass, from ``(seed, counter)``.

        The same counter value gives the same draw; :meth:`advance_noise` moves on.
        """
        return tf.random.stateless_normal(shape, seed=tf.stack([self._noise_seed, self._noise_counter]))

    def advance_noise(self):
        """Move the noise counter on (after a forward pass whose noise was used)."""
        return self._noise_counter.assign_add(1)

    @property
    def noise_seed(self):
        """The seed of this network's counter-based recurrent noise (an int; see :meth:`noise_for_pass`)."""
        return int(self._noise_seed.numpy())

    @property
    def noise_counter(self):
        """How far the noise has moved on (one per training step or noisy ``test``); settable."""
        return int(self._noise_counter.numpy())

    @noise_counter.setter
    def noise_counter(self, value):
        self._noise_counter.assign(int(value))

    def recurrent_noise(self, shape):
        """Recurrent noise ``sqrt(2 alpha) rec_noise * N(0, 1)`` of ``shape`` (0 when switched off)."""
        if not self._noise_enabled or self.rec_noise == 0:
            return tf.zeros(shape)
        return np.sqrt(2.0 * self.alpha) * self.rec_noise * self._noise_rng.normal(shape)

    def recurrent_timestep(self, rnn_in, state):
        raise NotImplementedError("a model must implement recurrent_timestep(rnn_in, state); see Basic")

    def output_timestep(self, state):
        raise NotImplementedError("a model must implement output_timestep(state); see Basic")

    @property
    def state_size(self):
        """Values in the flat dynamical state: ``len(state_parts) * N_rec`` (N_rec for Basic and GRU)."""
        return len(self.state_parts) * self.N_rec

    def flatten_state(self, state):
        """The model's state (a tensor, or a tuple of ``state_parts``, each (B, N_rec)) as one (B, state_size)."""
        if len(self.state_parts) == 1:
            return state
        return tf.concat(list(state), axis=-1)

    def unflatten_state(self, state):
        """Inverse of :meth:`flatten_state`: (B, state_size) -> the model's state."""
        if len(self.state_parts) == 1:
            return state
        return tuple(tf.split(state, len(self.state_parts), axis=-1))

    def next_state(self, state, rnn_in):
        """One *noiseless* step of the dynamics: ``state`` (B, state_size), ``rnn_in`` (B, N_in) -> (B, state_size).

        The model's own :meth:`recurrent_timestep` with recurrent noise switched off, on
        flat states (:meth:`flatten_state`): the map F(x, u) that analysis (fixed points,
        Jacobians) studies.  TensorFlow tensors in and out; differentiable.
        """
        previous = self._noise_enabled
        self._noise_enabled = False
        try:
            return self.flatten_state(self.recurrent_timestep(rnn_in, self.unflatten_state(state)))
        finally:
            self._noise_enabled = previous

    def initial_state(self, batch_size):
        """The initial state tiled over the batch, (batch_size, N_rec)."""
        return tf.tile(self.init_state, [batch_size, 1])

    def forward_pass(self, x, noise=True):
        """Run the network on ``x`` (B, T, N_in) -> ``(outputs (B,T,N_out), states (B,T,N_rec))``.

        Generic version: a symbolic ``tf.scan`` over ``recurrent_timestep`` and
        ``output_timestep``.
        """
        self._noise_enabled = bool(noise)
        try:
            x_time_major = tf.transpose(x, [1, 0, 2])
            states = tf.scan(lambda s, u: self.recurrent_timestep(u, s), x_time_major,
                             initializer=self.initial_state(tf.shape(x)[0]))
            outputs = tf.map_fn(self.output_timestep, states)
        finally:
            self._noise_enabled = True
        return tf.transpose(outputs, [1, 0, 2]), tf.transpose(states, [1, 0, 2])

    # -------------------------------------------------------- loss and testing
    def compute_loss(self, x, y, output_mask, noise=True):
        """``(total, outputs, states)``: loss + regularisation for one batch (call inside a tape).

        ``x`` (B, T, N_in), ``y`` and ``output_mask`` (B, T, N_out) -> a scalar and
        ``outputs (B,T,N_out)``, ``states (B,T,N_rec)``.  While the loss and the regularisers
        run, ``self.x, y, output_mask, predictions, states`` are this batch's tensors
        (PsychRNN's custom losses and regularisers read them).  Traced inside a
        ``tf.function`` they are symbolic and the previous values come back afterwards;
        called eagerly, the batch stays as the last one.
        """
        outputs, states = self.forward_pass(x, noise=noise)
        previous = self._batch
        self._batch = {"source": "loss", "x": x, "y": y, "output_mask": output_mask, "predictions": outputs,
                       "states": states}
        try:
            loss = _scalar_tensor(self.loss_function(outputs, y, output_mask), f"the loss function {self.loss_name!r}",
                                  "fn(predictions, y, output_mask)")
            reg = self.regularizer.set_model_regularization(self, states) if self.regularizer.active else 0.0
        finally:
            if tf.executing_eagerly():
                self.remember_batch(x, y, output_mask, outputs, states)
            else:
                self._batch = previous  # never leak a graph's symbolic tensors out of it
        return loss + reg, outputs, states

    def remember_batch(self, x, y=None, output_mask=None, predictions=None, states=None):
        """Make this batch what ``self.x, y, output_mask, predictions, states`` hold.

        Args:
            x: inputs (B, T, N_in); ``y``, ``output_mask``: targets and mask (B, T, N_out),
                None when there are none (``test``).
            predictions, states: outputs (B, T, N_out) and states (B, T, N_rec) of ``x``;
                None: computed on first access with the current weights, noise off.

        ``test`` calls it; so does the trainer at the end of a ``train`` call (last batch).
        """
        batch = {"source": "train" if y is not None else "test"}
        for name, value in zip(BATCH_ATTRIBUTES, (x, y, output_mask, predictions, states)):
            if value is not None:
                batch[name] = tf.convert_to_tensor(value, tf.float32)
        self._batch = batch

    def _batch_value(self, name):
        batch = self._batch
        if batch is None:
            raise AttributeError(
                f"model.{name} is not set yet: x, y, output_mask, predictions and states hold the last batch run "
                "through the model, after test(x) (x, predictions, states) or train(...) (all five)")
        if name not in batch and name in ("predictions", "states") and "x" in batch:
            batch["predictions"], batch["states"] = self._forward_function(False)(batch["x"])
        if name not in batch:
            if batch["source"] == "test":
                raise AttributeError(
                    f"model.{name} has no value: the last batch came from test(x), which has no targets; y and "
                    "output_mask hold the targets of the last training batch, so read them after train(...) (or "
                    "assign them yourself)")
            raise AttributeError(f"model.{name} was not set with the last batch (assign it, or run test(x) or "
                                 "train(...))")
        return batch[name]

    def _forward_function(self, noise):
        noise = bool(noise and self.rec_noise > 0)
        fn = self._forward_functions.get(noise)
        if fn is None:
            spec = tf.TensorSpec([None, None, self.N_in], tf.float32)
            fn = GraphFunction(lambda x: self.forward_pass(x, noise=noise), input_signature=[spec])
            self._forward_functions[noise] = fn
        return fn

    def as_input_batch(self, x, what="x"):
        """Validate and convert a batch of inputs to float32 (B, T, N_in), B and T >= 1, finite."""
        try:
            array = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError):
            raise ParameterError(f"{what} must be a numeric array of shape (batch, time, N_in={self.N_in}), got "
                                 f"{type(x).__name__}", parameter=what, value=x) from None
        if array.ndim != 3 or array.shape[2] != self.N_in or 0 in array.shape[:2]:
            raise ParameterError(f"{what} must have shape (batch, time, N_in={self.N_in}) with batch and time >= 1, "
                                 f"got {array.shape}", parameter=what, value=array.shape)
        if not np.isfinite(array).all():
            raise ParameterError(f"{what} holds NaN or infinite values; inputs must be finite",
                                 parameter=what, value="non-finite")
        return array

    def test(self, trial_batch, noise=True):
        """Run the network on a batch of any size.

        Args:
            trial_batch: inputs, (B, T, N_in); B and T may differ from training.
            noise: ``False`` switches recurrent noise off (PsychRNN always adds it).

        Returns:
            ``(outputs (B,T,N_out), states (B,T,N_rec))`` as float32 NumPy arrays; the batch
            becomes ``self.x``, ``self.predictions`` and ``self.states`` (as tensors).
        """
        x = tf.constant(self.as_input_batch(trial_batch, "trial_batch"))
        outputs, states = self._forward_function(noise)(x)
        if noise:
            self.advance_noise()
        self.remember_batch(x, predictions=outputs, states=states)
        return outputs.numpy(), states.numpy()

    # ------------------------------------------------------------------ weights
    @property
    def trainable_variables(self):
        """Every trainable ``tf.Variable`` attribute (subclasses' extra variables included)."""
        found = [v for v in self.variables.values() if v.trainable]
        return sorted(found, key=lambda v: v.name)

    @property
    def variables(self):
        """Model variables by attribute name (weights only: noise counters and the like excluded)."""
        return {k: v for k, v in vars(self).items() if isinstance(v, tf.Variable) and not k.startswith("_")}

    def get_weights(self):
        """All weights as NumPy arrays: effective ``W_in, W_rec, W_out``; raw biases,
        ``init_state (1, N_rec)`` and any extra model variables; masks, ``Dale_rec``,
        ``Dale_out``, ``dale_ratio``; the transfer-function name and ``alpha, dt, tau,
        rec_noise``.  No optimiser slots.
        """
        weights = {k: v.numpy() for k, v in self.variables.items()}
        if self.uses_rate_weights:
            weights["W_rec"] = self.get_effective_W_rec().numpy()
            weights["W_in"] = self.get_effective_W_in().numpy()
        weights["W_out"] = self.get_effective_W_out().numpy()
        for key in ("input_connectivity", "rec_connectivity", "output_connectivity", "Dale_rec", "Dale_out"):
            weights[key] = getattr(self, key).numpy()
        weights.update(
            dale_ratio=self.dale_ratio,
            transfer_function=self.transfer_function_name,
            alpha=self.alpha, dt=self.dt, tau=self.tau, rec_noise=self.rec_noise,
            model=registered_name(type(self)),
        )
        return weights

    # ------------------------------------------------------- the weights' declaration
    @classmethod
    def weight_shapes(cls, N_in, N_rec, N_out):
        """The shapes of the weights :meth:`get_weights` returns for these sizes: ``{name: shape}``.

        A rate network's: ``W_in (N_rec, N_in), W_rec (N_rec, N_rec), W_out (N_out, N_rec),
        b_rec (N_rec,), b_out (N_out,), init_state (1, N_rec)``; a subclass with other
        variables declares its own.
        """
        shapes = {"W_out": (N_out, N_rec), "b_out": (N_out,)}
        if cls.uses_rate_weights:
            shapes.update(W_in=(N_rec, N_in), W_rec=(N_rec, N_rec), b_rec=(N_rec,), init_state=(1, N_rec))
        return shapes

    @classmethod
    def sizes_from_weights(cls, weights):
        """``{'N_in', 'N_rec', 'N_out'}`` read from saved weights (a dict as :meth:`get_weights` returns).

        ``N_rec`` and ``N_out`` from ``W_out`` (N_out, N_rec); ``N_in`` from ``W_in``'s second
        axis.  Raises ``ParameterError`` naming the missing or malformed entry.
        """
        W_out = np.shape(_entry(weights, "W_out", cls))
        if len(W_out) != 2:
            raise ParameterError(f"weights['W_out'] must be a matrix (N_out, N_rec), got shape {W_out}",
                                 parameter="W_out", value=W_out)
        sizes = {"N_out": int(W_out[0]), "N_rec": int(W_out[1])}
        if cls.uses_rate_weights:
            W_in = np.shape(_entry(weights, "W_in", cls))
            if len(W_in) != 2:
                raise ParameterError(f"weights['W_in'] must be a matrix (N_rec, N_in), got shape {W_in}",
                                     parameter="W_in", value=W_in)
            sizes["N_in"] = int(W_in[1])
        return sizes

    @classmethod
    def from_weights(cls, weights, network_params=None, name="loaded"):
        """A network of this class holding ``weights``, ready to run, analyse or train on.

        Args:
            weights: a dict as :meth:`get_weights` or
                :func:`~psychrnn_widgets.io.weight_files.load_weights` returns (effective
                matrices), or a path to a weight file.
            network_params: keys the weights do not carry (``N_steps``, ``N_batch``, a
                subclass's own keys...) or that override what they do; the sizes come from
                :meth:`sizes_from_weights`, ``dt``, ``tau``, ``rec_noise``, the transfer
                function, ``dale_ratio`` and the masks from the weights.
            name: the model's name.

        Every variable of the new network takes the stored value.  The stored matrices are
        the *effective* ones; taking them as raw values gives the same effective weights
        again (masks are 0/1, Dale's signs are re-applied to absolute values), so the
        network computes exactly what the saved one did.  Raises ``ParameterError``
        naming a weight whose shape does not fit.
        """
        from ..io.weight_files import load_weights, plain_names, stored_dale_ratio

        if isinstance(weights, (str, bytes)) or hasattr(weights, "__fspath__"):
            weights = load_weights(weights)
        stored = plain_names(weights)
        params = {"name": name, "N_steps": 1, "N_batch": 1}
        params.update(cls.sizes_from_weights(stored))
        alpha, dt, tau = (_float_or_none(stored.get(key)) for key in ("alpha", "dt", "tau"))
        if dt is not None and tau is not None:
            params.update(dt=dt, tau=tau)
        elif alpha is not None:
            params.update(dt=alpha * 100.0, tau=100.0)
        for key, value in (("rec_noise", _float_or_none(stored.get("rec_noise"))),
                           ("transfer_function", stored.get("transfer_function") or None),
                           ("dale_ratio", stored_dale_ratio(stored.get("dale_ratio")))):
            if value is not None and key not in cls.not_applicable:
                params[key] = value
        params.update(network_params or {})
        if cls.uses_rate_weights:  # masks and Dale's matrices are constants: they come in as network_params
            n_in, n_rec, n_out = (params.get(key) for key in ("N_in", "N_rec", "N_out"))
            shapes = {"input_connectivity": (n_rec, n_in), "rec_connectivity": (n_rec, n_rec),
                      "output_connectivity": (n_out, n_rec), "Dale_rec": (n_rec, n_rec), "Dale_out": (n_rec, n_rec)}
            for key, shape in shapes.items():  # (a class with other shapes, e.g. a feedforward input layer, sets its own)
                value = stored.get(key)
                if key not in (network_params or {}) and value is not None and np.shape(value) == shape:
                    params[key] = np.asarray(value, dtype=np.float32)
        model = cls(params)
        model.set_weights({key: stored[key] for key in model.variables if stored.get(key) is not None})
        return model

    def save(self, save_path):
        """Write :meth:`get_weights` to ``save_path`` (``.npz`` appended), atomically."""
        from ..io.weight_files import save_weights

        return save_weights(save_path, self.get_weights())

    def get_variable_values(self):
        """Raw variable values (before masks and Dale signs) by name, NumPy copies."""
        return {k: v.numpy() for k, v in self.variables.items()}

    def set_weights(self, weights):
        """Assign raw variable values from a dict (keys as in :meth:`get_variable_values`).

        Unknown keys are ignored; a value of the wrong shape or with NaN/inf is refused
        (``ParameterError`` naming the key) before anything is assigned.
        """
        from ..params import validate_array

        checked = {}
        for key, variable in self.variables.items():
            if key in weights:
                shape = tuple(variable.shape)
                value = validate_array(weights[key], key, None, where="weights")
                if value.size != int(np.prod(shape)):
                    raise ParameterError(f"weights[{key!r}] has shape {value.shape}, expected {shape}",
                                         parameter=key, value=value.shape)
                checked[key] = value.astype(np.float32).reshape(shape)
        for key, value in checked.items():
            self.variables[key].assign(value)

    # ----------------------------------------------------------------- training
    def train(self, trial_batch_generator, train_params=None):
        """Train the network (PsychRNN's ``train``); returns ``(losses, training_time, initialization_time)``.

        ``trial_batch_generator``: a Task, or a generator yielding ``(x, y, mask[, params])``.
        ``train_params``: PsychRNN's keys (see :mod:`psychrnn_widgets.training.loop`) plus
        ``callbacks`` and ``control`` for live use.  Calling ``train`` again continues from
        the current weights, the optimiser state and the epoch count.

        The model's :class:`~psychrnn_widgets.training.trainer.Trainer` (created on first
        use) does the work (:func:`train_with_trainer`).
        """
        return train_with_trainer(self, trial_batch_generator, train_params)

    def train_curric(self, train_params):
        """PsychRNN's wrapper: ``train`` on ``train_params['curriculum']`` (required)."""
        if not hasattr(train_params, "get") or train_params.get("curriculum") is None:
            raise ParameterError("train_curric requires train_params['curriculum'] (a Curriculum); "
                                 "use train(task, train_params) to train without one", parameter="curriculum")
        return self.train(None, train_params)

    def destruct(self):
        """Kept for PsychRNN compatibility: there is no global graph or session to reset."""
        self._forward_functions.clear()
        self._batch = None

    def __repr__(self):
        dale = "" if self.dale_ratio is None else f", dale_ratio={self.dale_ratio}"
        sizes = f"N_in={self.N_in}, N_rec={self.N_rec}, N_out={self.N_out}"
        return f"{type(self).__name__}(name={self.name!r}, {sizes}{dale})"


def registered_name(cls):
    """The name a weight file gives ``cls``: its catalog name, else its class name (loading then asks to register it)."""
    from ..catalog import MODELS
    from ..errors import UnknownClassError

    try:
        return MODELS.name_of(cls)
    except UnknownClassError:
        return cls.__name__


def _entry(weights, key, cls):
    value = weights.get(key) if hasattr(weights, "get") else None
    if value is None:
        raise ParameterError(f"the weights lack {key!r}, which a {cls.__name__} network has", parameter=key)
    return value


def _float_or_none(value):
    if value is None:
        return None
    value = np.asarray(value)
    return float(value.reshape(-1)[0]) if value.size == 1 else None


def _is_default(key, value):
    """Whether ``value`` for the common key ``key`` is what leaving it out means (None, its default, a mask of ones)."""
    if value is None:
        return True
    declaration = NETWORK_PARAMS.get(key)
    if isinstance(value, np.ndarray) or (declaration is not None and declaration.kind in ("mask", "array")):
        try:
            return bool(np.all(np.asarray(value, dtype=np.float64) == 1)) if "connectivity" in key else False
        except (TypeError, ValueError):
            return False
    if declaration is None:
        return False
    default = declaration.default
    if key == "transfer_function":
        return transfer.name_of(value) == transfer.name_of(default)
    try:
        return bool(value == default) or (key == "dale_ratio" and scalar(value) in (0, None))
    except Exception:  # noqa: BLE001 - an object that does not compare: not the default
        return False


def train_with_trainer(model, source, train_params=None):
    """``Trainer.of(model).train(source, train_params)``: the one call from the models layer up into the training layer.

    PsychRNN's ``model.train(...)`` is a method of the model, so the models layer calls up
    here, lazily, and only here (a layering test holds it to this one place); every model,
    one network or an :class:`~psychrnn_widgets.models.ensemble.Ensemble`, trains through it.
    """
    from ..training.trainer import Trainer  # the documented upward call (see the layering test)

    return Trainer.of(model).train(source, train_params)


def _scalar_tensor(value, what, signature):
    """``value`` as a float32 scalar tensor, or a ParameterError saying what ``what`` must return."""
    try:
        tensor = tf.convert_to_tensor(value)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError):
        tensor = None
    if tensor is None or not (tensor.dtype.is_floating or tensor.dtype.is_integer):
        raise ParameterError(f"{what} must return a number (a scalar tensor), got {type(value).__name__}; "
                             f"expected {signature} -> scalar", parameter=what, value=value)
    tensor = tf.cast(tensor, tf.float32)
    if tensor.shape.rank is not None and tensor.shape.rank != 0:
        raise ParameterError(f"{what} must return a scalar (e.g. a tf.reduce_mean), got a tensor of shape "
                             f"{tensor.shape}; expected {signature} -> scalar", parameter=what, value=tensor.shape)
    return tensor
