"""``ConnectivityEditor``: W_rec_eff as an E/I heatmap, and a connectivity mask painted with the mouse.

Front-end: ``js/connectivity/`` bundled into ``static/connectivity.js`` (anywidget ES module).

    editor = ConnectivityEditor(model.get_weights()["W_rec"], dale_ratio=model.dale_ratio)
    editor                                  # tick "paint mask", drag to cut (or restore) entries
    Basic(dict(network_params, rec_connectivity=editor.mask_array()))

Synced state: ``n`` (units), ``weights`` (float32 bytes of W_rec_eff (n, n), row-major
W[post, pre]), ``n_exc`` (excitatory units ``int(dale_ratio * n)``, None without Dale),
``dale_ratio``, ``mask`` (flat row-major list of n*n 0/1: 0 cuts the connection),
``paint_mode``, ``brush`` (value a drag paints: 0 cut, 1 connect; Shift inverts),
``size`` (px).  The front-end sends ``mask`` back once per drag, when the mouse is released.
"""
import pathlib

import anywidget
import numpy as np
import traitlets

from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.models.constraints import n_excitatory
from psychrnn_widgets.params import NETWORK_PARAMS, validate_mask

STATIC = pathlib.Path(__file__).parent / "static"


class MaskTrait(traitlets.TraitType):
    """A 0/1 connectivity mask, stored as a flat row-major list of ints.

    Accepts a flat sequence of n*n values, a list of n lists of n values, or an (n, n)
    NumPy array; every value must be 0 or 1 (bools and 0.0/1.0 are fine).  The size is
    checked against the editor's ``n`` by :meth:`ConnectivityEditor._check_mask`.
    """

    default_value = []
    info_text = "a 0/1 mask: a flat list of n*n values, n lists of n values, or an (n, n) array"

    def validate(self, obj, value):
        try:
            array = validate_mask(value, "mask", where="ConnectivityEditor")
        except ParameterError as error:
            raise traitlets.TraitError(f"{error} ({self.info_text})") from None
        if array.ndim == 2 and array.shape[0] != array.shape[1]:
            raise traitlets.TraitError(f"mask must be square (n, n); got shape {array.shape}")
        if array.ndim not in (1, 2):
            raise traitlets.TraitError(f"mask must be {self.info_text}; got an array of shape {array.shape}")
        return [int(v) for v in array.ravel()]


class ConnectivityEditor(anywidget.AnyWidget):
    """Heatmap of W_rec_eff (rows post, columns pre) with E/I colouring and a paintable mask.

    ``weights``: W_rec_eff (N, N) or None; ``dale_ratio``: fraction of excitatory units (the
    first ``int(dale_ratio * N)``), None for a diverging red/blue map by sign; ``mask``: the
    initial 0/1 mask (default all ones); ``size``: heatmap side in px.
    """

    _esm = STATIC / "connectivity.js"

    n = traitlets.Int(0, help="number of units N").tag(sync=True)
    weights = traitlets.Bytes(b"", help="W_rec_eff as float32 little-endian bytes, row-major (post, pre)").tag(
        sync=True
    )
    dale_ratio = traitlets.Float(None, allow_none=True, help="fraction of excitatory units, None without Dale").tag(
        sync=True
    )
    n_exc = traitlets.Int(None, allow_none=True, help="int(dale_ratio * n) excitatory units first").tag(sync=True)
    mask = MaskTrait(help="flat row-major n*n list of 0/1 (0 cuts the connection post <- pre)").tag(sync=True)
    paint_mode = traitlets.Bool(False, help="dragging paints the mask").tag(sync=True)
    brush = traitlets.Int(0, help="value a drag paints: 0 cut, 1 connect (Shift inverts)").tag(sync=True)
    size = traitlets.Int(420, help="side of the heatmap in px").tag(sync=True)

    def __init__(self, weights=None, dale_ratio=None, mask=None, **kwargs):
        unknown = sorted(k for k in kwargs if not self.has_trait(k))
        if unknown:
            raise TypeError(f"ConnectivityEditor got unexpected keyword argument(s) {unknown}")
        super().__init__(**kwargs)
        if weights is not None:
            self.set_weights(weights, dale_ratio)
        elif dale_ratio is not None:
            self.dale_ratio = dale_ratio
        if mask is not None:
            self.set_mask(mask)

    # ------------------------------------------------------------------ validation
    @traitlets.validate("mask")
    def _check_mask(self, proposal):
        mask = proposal["value"]
        if len(mask) != self.n * self.n:
            n = self.n
            raise traitlets.TraitError(
                f"mask has {len(mask)} entries but the editor shows n={n} units: give {n * n} values "
                f"(a flat row-major list, {n} lists of {n}, or an array of shape ({n}, {n})), or call "
                f"set_weights / set_mask to change n"
            )
        return mask

    @traitlets.validate("brush")
    def _check_brush(self, proposal):
        if proposal["value"] not in (0, 1):
            raise traitlets.TraitError(f"brush must be 0 (cut) or 1 (connect); got {proposal['value']!r}")
        return proposal["value"]

    @traitlets.validate("dale_ratio")
    def _check_dale_ratio(self, proposal):
        try:
            return NETWORK_PARAMS["dale_ratio"].validate(proposal["value"], "ConnectivityEditor")
        except ParameterError as error:
            raise traitlets.TraitError(str(error)) from None

    @traitlets.observe("n")
    def _resize_mask(self, change):
        if len(self.mask) != self.n * self.n:
            self.mask = [1] * (self.n * self.n)

    @traitlets.observe("dale_ratio", "n")
    def _update_n_exc(self, change):
        self.n_exc = None if self.dale_ratio is None else n_excitatory(self.dale_ratio, self.n)

    # ------------------------------------------------------------------ public API
    def set_weights(self, W_rec_eff, dale_ratio=None):
        """Show W_rec_eff (N, N), W[post, pre]; ``dale_ratio`` as in the model (None: no Dale).

        Sent as float32 bytes with ``n`` and ``n_exc`` in one message.  A new N resets the
        mask to all ones; the same N keeps the painted mask.
        """
        W = np.asarray(W_rec_eff, dtype=np.float32)
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"W_rec_eff must be a square (N, N) matrix; got shape {W.shape}")
        if not np.all(np.isfinite(W)):
            raise ValueError("W_rec_eff has NaN or infinite entries")
        N = W.shape[0]
        with self.hold_sync(), self.hold_trait_notifications():
            self.n = N
            if len(self.mask) != N * N:
                self.mask = [1] * (N * N)
            self.dale_ratio = None if dale_ratio is None else float(dale_ratio)
            self.weights = np.ascontiguousarray(W, dtype="<f4").tobytes()

    def set_model(self, model):
        """Show a model's W_rec_eff with its ``dale_ratio`` (the mask is left as painted)."""
        self.set_weights(model.get_weights()["W_rec"], getattr(model, "dale_ratio", None))

    def weights_array(self):
        """The displayed W_rec_eff as float32 (n, n) (empty (0, 0) before ``set_weights``)."""
        W = np.frombuffer(self.weights, dtype="<f4")
        if W.size != self.n * self.n:
            return np.zeros((0, 0), np.float32)
        return W.reshape(self.n, self.n).astype(np.float32)

    def set_mask(self, mask):
        """Set the mask from a flat n*n sequence, n lists of n or an (n, n) array of 0/1.

        Before any weights are shown (n = 0) the mask's size sets n.
        """
        flat = MaskTrait().validate(self, mask)
        side = int(round(np.sqrt(len(flat))))
        with self.hold_sync(), self.hold_trait_notifications():
            if self.n == 0 and side * side == len(flat):
                self.n = side
            self.mask = flat

    def reset_mask(self):
        """All ones: every connection allowed."""
        self.mask = [1] * (self.n * self.n)

    def mask_array(self):
        """The painted mask as float32 (n, n) of 0/1, ready for ``rec_connectivity``."""
        return np.asarray(self.mask, dtype=np.float32).reshape(self.n, self.n)
