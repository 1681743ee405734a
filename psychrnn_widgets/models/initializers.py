"""Weight initialisers (NumPy only).

Same classes and keyword arguments as PsychRNN (``WeightInitializer``,
``GaussianSpectralRadius``, ``AlphaIdentity``; ``which_rand_init`` /
``which_rand_W_rec_init`` in ``'const_unif' | 'const_gauss' | 'glorot_unif' |
'glorot_gauss'``; ``init_minval`` / ``init_maxval``; ``spec_rad``), with PsychRNN's
faults fixed:

* ``GaussianSpectralRadius`` scales the *effective* recurrent matrix (Dale signs and
  connectivity mask applied) to ``spec_rad``; PsychRNN scaled the raw matrix, so with
  Dale's law or a sparse mask the network started at another radius.
* ``dale_ratio=1`` (all excitatory) works; PsychRNN divided by ``1 - dale_ratio``.
* ``Dale_out`` defaults to 1 for excitatory and 0 for inhibitory units, as documented;
  PsychRNN used the +1/-1 recurrent matrix by mistake.
* ``AlphaIdentity`` does not read the task's ``alpha = dt/tau`` as its diagonal value
  (PsychRNN did whenever ``network_params`` came from ``get_task_params()``).
* Randomness comes from an explicit ``numpy.random.Generator``: ``rng=``, or ``seed=``
  through the seed's ``'init'`` stream (:mod:`psychrnn_widgets.seeding`), so a seed makes
  the initial weights reproducible and independent of a task seeded alike; without either,
  NumPy's global generator seeds it (``np.random.seed`` is honoured, as in PsychRNN).

Every keyword is validated through :mod:`psychrnn_widgets.params` (the same declarations
the model uses); masks must hold only 0s and 1s.  ``initializations`` holds raw
(pre-constraint) NumPy arrays; ``get(name)`` returns one.
"""
import warnings

import numpy as np

from .. import seeding
from ..errors import WeightFileError
from ..params import NETWORK_PARAMS, check_shapes, validate_values
from ..transfer import canonical_name
from . import constraints

_MATRIX_KEYS = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")
_MASK_KEYS = ("input_connectivity", "rec_connectivity", "output_connectivity")


def _as_generator(seed=None, rng=None):
    if rng is not None:
        return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return seeding.rng(seed, "init")


def initializer_from_params(values, rng):
    """The initialiser a model with validated ``network_params`` ``values`` uses.

    ``values['initializer']`` (an object, or a class name), a weight file
    (``load_weights_path``), a given ``W_rec`` (``WeightInitializer``, as PsychRNN) or
    ``GaussianSpectralRadius`` (the default); ``rng`` draws the random weights.
    """
    initializer = values.get("initializer")
    if values.get("load_weights_path") is not None:
        sizes = {key: values.get(key) for key in ("N_in", "N_rec", "N_out")}
        return WeightInitializer(load_weights_path=values["load_weights_path"], **sizes)
    if initializer is not None and not isinstance(initializer, str):
        return initializer
    kwargs = {k: v for k, v in values.items() if k != "initializer" and v is not None}
    kwargs["rng"] = rng
    if isinstance(initializer, str):
        cls = {"GaussianSpectralRadius": GaussianSpectralRadius, "AlphaIdentity": AlphaIdentity,
               "WeightInitializer": WeightInitializer}[initializer]
    else:
        cls = WeightInitializer if values.get("W_rec") is not None else GaussianSpectralRadius
    return cls(**kwargs)


class WeightInitializer:
    """Base initialiser: connectivity masks, Dale matrices and random or given weights.

    Keyword arguments (PsychRNN names): ``N_in, N_rec, N_out`` (required),
    ``autapses=True``, ``dale_ratio=None``, ``input_connectivity (N_rec,N_in)``,
    ``rec_connectivity (N_rec,N_rec)``, ``output_connectivity (N_out,N_rec)``,
    ``which_rand_init='glorot_gauss'``, ``which_rand_W_rec_init`` (defaults to
    ``which_rand_init``), ``init_minval=-0.1``, ``init_maxval=0.1``, explicit
    ``W_in, W_rec, W_out, b_rec, b_out, init_state, Dale_rec, Dale_out``,
    ``load_weights_path``, and ``seed`` / ``rng``.  Other keys are ignored, so a whole
    ``network_params`` dict can be passed with ``**``.
    """

    def __init__(self, **kwargs):
        where = type(self).__name__
        kwargs = validate_values(kwargs, where=where)
        self.rng = _as_generator(kwargs.get("seed"), kwargs.get("rng"))
        self.load_weights_path = kwargs.get("load_weights_path")
        self.autapses = kwargs.get("autapses", True)
        self.initializations = {}
        if self.load_weights_path is not None:
            self._load(self.load_weights_path, tuple(kwargs.get(key) for key in ("N_in", "N_rec", "N_out")))
            return
        for key in ("N_in", "N_rec", "N_out"):
            if kwargs.get(key) is None:
                raise KeyError(f"{where} needs {key!r}")
        self.N_in, self.N_rec, self.N_out = (kwargs[k] for k in ("N_in", "N_rec", "N_out"))
        kwargs = check_shapes(dict(kwargs), where=where)
        self.initializations["transfer_function"] = kwargs.get("transfer_function")
        if type(self) is WeightInitializer and kwargs.get("W_rec") is None:
            warnings.warn(
                "WeightInitializer draws W_rec without regulating its eigenvalues; the network "
                "may not train. Use GaussianSpectralRadius (the default) or pass W_rec.",
                stacklevel=2,
            )
        self.init_minval = kwargs.get("init_minval", NETWORK_PARAMS["init_minval"].default)
        self.init_maxval = kwargs.get("init_maxval", NETWORK_PARAMS["init_maxval"].default)
        which = kwargs.get("which_rand_init") or NETWORK_PARAMS["which_rand_init"].default
        self.rand_init = self.get_rand_init_func(which)
        self.rand_W_rec_init = self.get_rand_init_func(kwargs.get("which_rand_W_rec_init") or which)

        N_in, N_rec, N_out = self.N_in, self.N_rec, self.N_out
        init = self.initializations
        for key, shape in zip(_MASK_KEYS, ((N_rec, N_in), (N_rec, N_rec), (N_out, N_rec))):
            given = kwargs.get(key)
            init[key] = np.ones(shape) if given is None else np.array(given, dtype=np.float64)
        if not self.autapses:
            np.fill_diagonal(init["rec_connectivity"], 0.0)

        dale_ratio = kwargs.get("dale_ratio")
        init["dale_ratio"] = dale_ratio
        dale_rec, dale_out = constraints.dale_matrices(dale_ratio, N_rec)
        for key, default in (("Dale_rec", dale_rec), ("Dale_out", dale_out)):
            given = kwargs.get(key)
            init[key] = default.astype(np.float64) if given is None else given

        draw = {
            "W_in": ((N_rec, N_in), lambda: self.rand_init(init["input_connectivity"])),
            "W_out": ((N_out, N_rec), lambda: self.rand_init(init["output_connectivity"])),
            "W_rec": ((N_rec, N_rec), lambda: self.rand_W_rec_init(init["rec_connectivity"])),
        }
        for key, (shape, sample) in draw.items():
            init[key] = self._given_or(kwargs, key, shape, sample)
        init["b_rec"] = self._given_or(kwargs, "b_rec", (N_rec,), lambda: np.zeros(N_rec))
        init["b_out"] = self._given_or(kwargs, "b_out", (N_out,), lambda: np.zeros(N_out))
        init["init_state"] = self._given_or(
            kwargs, "init_state", (N_rec,), lambda: 0.1 + 0.01 * self.rng.standard_normal(N_rec)
        ).reshape(1, N_rec)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _given_or(kwargs, key, shape, draw):
        given = kwargs.get(key)
        return draw() if given is None else np.asarray(given, dtype=np.float64).reshape(shape)

    def _load(self, path, sizes):
        """Read a weight file; ``sizes`` = (N_in, N_rec, N_out) the network expects (None: from the file).

        A rate network's file must hold every matrix, finite and of matching shapes
        (``WeightFileError`` naming the file and the entry otherwise); a gated network's
        file (no ``W_rec``) is checked by the gated model.
        """
        from ..io.weight_files import RATE_NETWORK_KEYS, load_weights, rate_network_sizes  # io sits below models

        weights = load_weights(path)
        gated = "W_rec" not in weights and any(key not in RATE_NETWORK_KEYS for key in weights if key.startswith("W_"))
        if gated:
            W_out = np.asarray(weights.get("W_out", np.zeros((0, 0))))
            if W_out.ndim != 2:
                raise WeightFileError(f"{path}: 'W_out' is missing or not a matrix")
            self.N_out, self.N_rec = W_out.shape
            self.N_in = sizes[0] if sizes[0] is not None else 0
            weights.setdefault("init_state", np.zeros((1, self.N_rec)))
        else:
            self.N_in, self.N_rec, self.N_out = rate_network_sizes(weights, path, sizes)
        self.initializations = {k: v for k, v in weights.items()}
        init = self.initializations
        init["init_state"] = np.asarray(init["init_state"]).reshape(1, self.N_rec)
        init.setdefault("dale_ratio", None)
        defaults = {
            "input_connectivity": np.ones((self.N_rec, self.N_in)),
            "rec_connectivity": np.ones((self.N_rec, self.N_rec)),
            "output_connectivity": np.ones((self.N_out, self.N_rec)),
        }
        for key, value in defaults.items():
            init.setdefault(key, value)
        dale_rec, dale_out = constraints.dale_matrices(init["dale_ratio"], self.N_rec)
        init.setdefault("Dale_rec", dale_rec)
        init.setdefault("Dale_out", dale_out)
        for key in ("Dale_rec", "Dale_out"):  # only their diagonals are used
            D = np.asarray(init[key])
            if D.shape != (self.N_rec, self.N_rec) or np.count_nonzero(D - np.diag(np.diag(D))):
                raise WeightFileError(f"{path}: {key} must be a diagonal ({self.N_rec}, {self.N_rec}) matrix")

    def get_rand_init_func(self, which_rand_init):
        """Map a PsychRNN initialisation name to the bound drawing method."""
        mapping = {
            "const_unif": self.const_unif_init,
            "const_gauss": self.const_gauss_init,
            "glorot_unif": self.glorot_unif_init,
            "glorot_gauss": self.glorot_gauss_init,
        }
        return mapping[NETWORK_PARAMS["which_rand_init"].validate(which_rand_init, type(self).__name__)]

    def const_gauss_init(self, connectivity):
        """Standard normal entries, shape ``connectivity.shape``."""
        return self.rng.standard_normal(np.shape(connectivity))

    def const_unif_init(self, connectivity):
        """Uniform entries in ``[init_minval, init_maxval)``."""
        return self.rng.uniform(self.init_minval, self.init_maxval, np.shape(connectivity))

    @staticmethod
    def _fan_sum(connectivity):
        c = np.asarray(connectivity, dtype=np.float64)
        fan = c.sum(axis=1, keepdims=True) + c.sum(axis=0, keepdims=True)
        return np.maximum(fan, 1.0)  # an isolated unit must not give an infinite limit

    def glorot_unif_init(self, connectivity):
        """Uniform in ±sqrt(6 / (fan_in + fan_out)), fans counted on the mask."""
        limit = np.sqrt(6.0 / self._fan_sum(connectivity))
        return self.rng.uniform(-limit, limit)

    def glorot_gauss_init(self, connectivity):
        """Normal with std sqrt(2 / (fan_in + fan_out)), fans counted on the mask."""
        return self.rng.normal(0.0, np.sqrt(2.0 / self._fan_sum(connectivity)))

    def get_transfer_function(self):
        """The transfer function given to (or loaded by) the initialiser, by name or function (None: relu)."""
        value = self.initializations.get("transfer_function")
        return canonical_name(value) if isinstance(value, str) else value

    def get_dale_ratio(self):
        """The Dale ratio (float in [0, 1]) or None."""
        return self.initializations.get("dale_ratio")

    def get(self, tensor_name):
        """The initial value of ``tensor_name`` as a NumPy array."""
        return self.initializations[tensor_name]

    def save(self, save_path):
        """Write the initial values to a weight file (see ``psychrnn_widgets.io``)."""
        from ..io.weight_files import save_weights

        return save_weights(save_path, self.initializations)

    # ------------------------------------------------------------ constraints
    def effective_W_rec(self, W_rec=None):
        """Recurrent matrix after mask and Dale signs (uses the diagonal of ``Dale_rec``)."""
        init = self.initializations
        dale = init.get("dale_ratio") is not None
        W = init["W_rec"] if W_rec is None else W_rec
        return constraints.effective_W_rec(W, init["rec_connectivity"], dale, np.diag(init["Dale_rec"]))

    def balance_dale_ratio(self):
        """Balance E and I columns of ``W_rec`` so the mean input to a unit is near zero.

        Inhibitory columns are scaled by ``dale_ratio / (1 - dale_ratio)`` (fewer I units
        carry proportionally larger weights) and each column by the norm of its row of
        the scaled mask, as PsychRNN does; with ``dale_ratio`` 0 or 1 there is nothing
        to balance against and only the norm scaling applies.
        """
        dale_ratio = self.get_dale_ratio()
        if dale_ratio is None:
            return
        N_rec = self.N_rec
        scale = np.ones(N_rec)
        n_e = constraints.n_excitatory(dale_ratio, N_rec)
        if 0.0 < dale_ratio < 1.0:
            scale[n_e:] = dale_ratio / (1.0 - dale_ratio)
        norms = np.linalg.norm(self.initializations["rec_connectivity"] * scale[None, :], axis=1)
        norms[norms == 0] = 1.0
        self.initializations["W_rec"] = self.initializations["W_rec"] * (scale / norms)[None, :]


class GaussianSpectralRadius(WeightInitializer):
    """Gaussian ``W_rec`` whose *effective* spectral radius is ``spec_rad`` (default 1.1).

    With Dale's law the E/I columns are first balanced (:meth:`balance_dale_ratio`).
    The scaling is applied after masks and Dale signs, so the matrix the network
    actually uses has exactly the requested radius.

    Example (80% excitatory units):

    >>> import numpy as np
    >>> from psychrnn_widgets import GaussianSpectralRadius
    >>> init = GaussianSpectralRadius(N_in=2, N_rec=50, N_out=2, dale_ratio=0.8, seed=0)
    >>> W_rec = init.effective_W_rec()
    >>> round(float(np.abs(np.linalg.eigvals(W_rec)).max()), 6)
    1.1
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.load_weights_path is not None:
            return
        self.spec_rad = NETWORK_PARAMS["spec_rad"].validate(kwargs.get("spec_rad", 1.1), type(self).__name__)
        if kwargs.get("W_rec") is None:
            self.initializations["W_rec"] = self.rng.standard_normal((self.N_rec, self.N_rec))
        self.balance_dale_ratio()
        radius = constraints.spectral_radius(self.effective_W_rec())
        if radius > 0:
            self.initializations["W_rec"] = self.initializations["W_rec"] * (self.spec_rad / radius)


class AlphaIdentity(WeightInitializer):
    """``W_rec = identity_alpha * I`` (an integrator-like start for rate networks).

    The diagonal value is ``identity_alpha`` (default 1.0).  PsychRNN read it from
    ``alpha``, which silently became the task's ``dt/tau`` when ``network_params``
    came from ``get_task_params()``; here ``alpha`` is used only when it is not that
    task-derived value.  With Dale's law the weights are balanced as in PsychRNN.
    """

    def __init__(self, identity_alpha=None, **kwargs):
        super().__init__(**kwargs)
        if self.load_weights_path is not None:
            return
        if identity_alpha is None:
            identity_alpha = kwargs.get("identity_alpha")
        identity_alpha = NETWORK_PARAMS["identity_alpha"].validate(identity_alpha, type(self).__name__)
        if identity_alpha is None and kwargs.get("alpha") is not None:
            alpha = float(kwargs["alpha"])
            dt, tau = kwargs.get("dt"), kwargs.get("tau")
            task_alpha = dt is not None and tau is not None and np.isclose(alpha, float(dt) / float(tau))
            if task_alpha:
                warnings.warn(
                    "AlphaIdentity ignores 'alpha' because it equals the task's dt/tau; pass "
                    "identity_alpha= to set the diagonal value.",
                    stacklevel=2,
                )
            else:
                identity_alpha = alpha
        self.identity_alpha = 1.0 if identity_alpha is None else float(identity_alpha)
        self.initializations["W_rec"] = np.eye(self.N_rec) * self.identity_alpha
        self.balance_dale_ratio()
