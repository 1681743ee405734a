"""Network panel: the task-independent part of ``network_params`` and a model builder.

Controls: ``N_rec``, Dale's law (enable + ``dale_ratio``), ``autapses``, ``rec_noise``,
transfer function, initialiser (+ ``spec_rad`` or ``identity_alpha``), recurrent
connection density, the L1/L2 regularisers and a ``seed``.  Every control of a
``network_params`` key is a :class:`~psychrnn_widgets.widgets.controls.ParameterControl`
built from its declaration in :mod:`psychrnn_widgets.params` (label, PsychRNN's name,
help, allowed values): a value that cannot be right is refused in the control with the
reason beside it, ``valid`` turns False and ``network_params`` keeps the last valid
settings; nothing raises into the notebook.  ``build_model(task)`` turns the controls and
a task into a :class:`~psychrnn_widgets.models.basic.Basic` network (TensorFlow is
imported only then).  A painted mask (``set_rec_connectivity``) overrides the density.

Widgets are created and updated on the main thread only.
"""
from __future__ import annotations

import html
import warnings

import ipywidgets as widgets
import numpy as np
import traitlets

from psychrnn_widgets import transfer
from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.models.constraints import n_excitatory
from psychrnn_widgets.params import NETWORK_PARAMS, REGULARIZER_KEYS, scalar, validate_mask
from psychrnn_widgets.widgets.controls import ParameterControl

__all__ = ["NetworkPanel", "INITIALIZERS", "REGULARIZER_KEYS", "DECLARED_CONTROLS"]

#: initialiser choices: value -> label
INITIALIZERS = {
    "gaussian_spectral_radius": "Gaussian, spectral radius",
    "alpha_identity": "Alpha identity",
    "glorot_gauss": "Glorot Gaussian",
    "glorot_unif": "Glorot uniform",
    "const_gauss": "Standard Gaussian",
    "const_unif": "Uniform [-0.1, 0.1)",
}
#: the network_params keys this panel edits, each through its declaration
DECLARED_CONTROLS = ("N_rec", "dale_ratio", "autapses", "rec_noise", "transfer_function", "spec_rad",
                     "identity_alpha", "seed") + REGULARIZER_KEYS
#: task keys copied into the model's params by build_model
TASK_KEYS = ("N_in", "N_out", "N_steps", "dt", "tau", "N_batch")
_STYLE = {"description_width": "initial"}


class NetworkPanel(widgets.VBox):
    """Controls for a Basic network; validated ``network_params``; ``build_model(task)``.

    Args:
        network_params (dict, optional): starting values (PsychRNN keys: ``N_rec,
            dale_ratio, autapses, rec_noise, transfer_function, spec_rad, L1_* , L2_*,
            seed, rec_connectivity``; others are ignored).

    Traits:
        network_params (dict): the task-independent ``network_params`` of the last valid
            control state: ``N_rec, dale_ratio (None when off), autapses, rec_noise,
            transfer_function (name), seed``, the regulariser keys, ``spec_rad`` or
            ``identity_alpha`` and ``which_rand_W_rec_init`` for the chosen initialiser, and
            ``rec_connectivity`` (float32 (N_rec, N_rec) 0/1) when a mask is painted or the
            density is below 1.  Not updated while the controls are invalid.
        initializer (str): a key of :data:`INITIALIZERS`.
        valid (bool): whether the current controls make a valid network.
        locked (bool): True disables every control (``set_rec_connectivity`` still works).

    Attributes:
        controls (dict): name -> widget (``N_rec, dale_enabled, dale_ratio, autapses,
            rec_noise, transfer_function, initializer, spec_rad, identity_alpha, density,
            seed`` and the regulariser keys).
        message (HTML): errors (red) and notes (orange); empty when all is well.
        summary (HTML): one line describing the network (E/I counts, density, mask).
        clear_mask_button (Button): forget the painted mask.
        model: the last model :meth:`build_model` returned (or None).
    """

    network_params = traitlets.Dict()
    initializer = traitlets.Unicode("gaussian_spectral_radius")
    valid = traitlets.Bool(True)
    locked = traitlets.Bool(False, help="disable every control (e.g. while training)")

    def __init__(self, network_params=None, **kwargs):
        p = dict(network_params or {})
        self.model = None
        self._mask = None
        self._notes_extra = []
        dale = scalar(p.get("dale_ratio")) or None  # 0 means no Dale's law
        start = {
            "N_rec": p.get("N_rec", NETWORK_PARAMS["N_rec"].default),
            "dale_ratio": 0.8 if dale is None else dale,
            "autapses": p.get("autapses", NETWORK_PARAMS["autapses"].default),
            "rec_noise": p.get("rec_noise") or NETWORK_PARAMS["rec_noise"].default,
            "transfer_function": transfer.name_of(p.get("transfer_function", "relu")) or "relu",
            "spec_rad": p.get("spec_rad", NETWORK_PARAMS["spec_rad"].default),
            "identity_alpha": p.get("identity_alpha") or 1.0,
            "seed": p.get("seed") or 0,
        }
        start.update({key: p.get(key) or NETWORK_PARAMS[key].default for key in REGULARIZER_KEYS})
        #: key -> ParameterControl (declared network_params keys)
        self.parameter_controls = {key: ParameterControl(NETWORK_PARAMS[key], start[key], width="110px")
                                   for key in DECLARED_CONTROLS}
        c = self.controls = {key: control.input for key, control in self.parameter_controls.items()}
        c["dale_enabled"] = widgets.Checkbox(value=dale is not None, description="Dale's law", indent=False,
                                             layout=widgets.Layout(width="110px"),
                                             tooltip="sign-constrain units: excitatory or inhibitory")
        init_name = _initializer_name(p.get("initializer"), p.get("which_rand_W_rec_init"))
        c["initializer"] = widgets.Dropdown(options=[(label, key) for key, label in INITIALIZERS.items()],
                                            value=init_name, description="initializer", style=_STYLE,
                                            tooltip=NETWORK_PARAMS["initializer"].describe(),
                                            layout=widgets.Layout(width="300px"))
        c["density"] = widgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.01, description="rec density",
                                           style=_STYLE, layout=widgets.Layout(width="300px"),
                                           tooltip="fraction of recurrent connections that exist (a random "
                                                   "rec_connectivity mask)",
                                           continuous_update=False, readout_format=".2f")
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.clear_mask_button = widgets.Button(description="Clear painted mask", icon="eraser", disabled=True)
        self.clear_mask_button.on_click(lambda _: self.set_rec_connectivity(None))

        pc = self.parameter_controls
        rows = [
            widgets.HTML("<b>Network</b> (Basic rate RNN)"),
            widgets.HBox([pc["N_rec"], pc["transfer_function"], pc["rec_noise"], pc["seed"]],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([c["dale_enabled"], pc["dale_ratio"], pc["autapses"]], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([c["initializer"], pc["spec_rad"], pc["identity_alpha"]],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([c["density"], self.clear_mask_button]),
            widgets.HTML("Regularisers (means over the effective matrices)"),
            widgets.HBox([pc[k] for k in REGULARIZER_KEYS], layout=widgets.Layout(flex_flow="row wrap")),
            self.summary,
            self.message,
        ]
        super().__init__(children=rows, **kwargs)
        if p.get("rec_connectivity") is not None:
            given = validate_mask(p["rec_connectivity"], "rec_connectivity", (None, None))
            if not np.all(given == 1):  # a full mask is the density-1 default
                self._store_mask(given)
        for key, widget in c.items():
            if key in self.parameter_controls:
                self.parameter_controls[key].observe(self._on_control, names=["value", "valid"])
            else:
                widget.observe(self._on_control, names="value")
        self._on_control(None)

    # ------------------------------------------------------------ validation
    def _on_control(self, change):
        if change is not None:
            self._notes_extra = []
        self._set_enabled()
        self.update()

    @traitlets.observe("locked")
    def _set_enabled(self, change=None):
        c = self.controls
        locked = self.locked
        for widget in c.values():
            widget.disabled = locked
        c["dale_ratio"].disabled = locked or not c["dale_enabled"].value
        init = c["initializer"].value
        c["spec_rad"].disabled = locked or init != "gaussian_spectral_radius"
        c["identity_alpha"].disabled = locked or init != "alpha_identity"
        c["density"].disabled = locked or self._mask is not None
        self.clear_mask_button.disabled = locked or self._mask is None

    def _declared(self, key, errors):
        """The control's last valid value; its refusal reason goes to ``errors`` while the input is invalid."""
        control = self.parameter_controls[key]
        if not control.valid:
            errors.append(control.error)
        return control.value

    def check(self):
        """Validate the controls: ``(network_params or None, errors, notes)``; never raises."""
        c = self.controls
        errors, notes = [], []
        params = {}
        n_rec = self._declared("N_rec", errors)
        if n_rec > 2000:
            notes.append(f"N_rec = {n_rec} is large: training will be slow.")
        params["N_rec"] = n_rec
        if c["dale_enabled"].value:
            ratio = self._declared("dale_ratio", errors)
            params["dale_ratio"] = ratio
            n_e = None if ratio is None else n_excitatory(ratio, n_rec)
            if ratio is None:
                notes.append("dale_ratio 0 means no Dale's law (PsychRNN's rule): no sign constraint.")
            elif n_e == 0:
                notes.append("dale_ratio gives no excitatory unit: with Dale's law the output "
                             "reads excitatory units only, so the output is constant.")
            elif n_e == n_rec and ratio < 1:
                notes.append(f"dale_ratio {ratio} x N_rec {n_rec} rounds to all units excitatory.")
        else:
            params["dale_ratio"] = None
        for key in ("autapses", "rec_noise", "transfer_function"):
            params[key] = self._declared(key, errors)
        init = c["initializer"].value
        if init == "gaussian_spectral_radius":
            params["spec_rad"] = self._declared("spec_rad", errors)
        elif init == "alpha_identity":
            params["identity_alpha"] = self._declared("identity_alpha", errors)
        else:
            params["which_rand_W_rec_init"] = init
            notes.append(f"{INITIALIZERS[init]} does not regulate W_rec's eigenvalues; the network may "
                         "explode or die out (the spectral-radius initialiser is the safe default).")
        for key in REGULARIZER_KEYS:
            params[key] = self._declared(key, errors)
        params["seed"] = self._declared("seed", errors)
        mask = self.rec_connectivity(n_rec, errors, notes)
        if mask is not None:
            params["rec_connectivity"] = mask
        return (None if errors else params), errors, notes

    def rec_connectivity(self, n_rec=None, errors=None, notes=None):
        """The recurrent mask the network will use: float32 (N_rec, N_rec) 0/1, or None (all ones).

        The painted mask if one is set, else a random mask of the chosen density (seeded by
        ``seed``); ``autapses=False`` zeroes the diagonal later, in the initialiser.
        """
        errors = [] if errors is None else errors
        notes = [] if notes is None else notes
        n_rec = self.parameter_controls["N_rec"].value if n_rec is None else n_rec
        if self._mask is not None:
            if self._mask.shape != (n_rec, n_rec):
                errors.append(f"the painted connectivity mask is {self._mask.shape[0]}x{self._mask.shape[1]} "
                              f"but N_rec is {n_rec}: set N_rec to {self._mask.shape[0]}, paint a new mask "
                              "or clear it.")
                return None
            if not np.any(self._mask):
                notes.append("the painted mask has no connection: the network has no recurrence.")
            return self._mask.copy()
        density = float(self.controls["density"].value)
        if density >= 1.0:
            return None
        rng = np.random.default_rng([int(self.parameter_controls["seed"].value) & 0xFFFFFFFF, 7919])
        mask = (rng.random((n_rec, n_rec)) < density).astype(np.float32)
        if density == 0.0:
            notes.append("density 0: the network has no recurrent connections.")
        return mask

    def update(self):
        """Re-validate; refresh ``message``, ``summary``, ``valid`` and (when valid) ``network_params``."""
        try:
            params, errors, notes = self.check()
        except Exception as err:  # noqa: BLE001 - never raise into the notebook
            params, errors, notes = None, [f"{type(err).__name__}: {err}"], []
        self._show(errors, notes + self._notes_extra)
        self.valid = not errors
        if params is not None:
            self.initializer = self.controls["initializer"].value
            if not _same_params(params, self.network_params):  # no change event for equal settings
                self.network_params = params
        self.summary.value = self._summary(params)
        return params

    def _show(self, errors, notes):
        parts = [f'<span style="color:#b00020">&#9888; {html.escape(e)}</span>' for e in errors]
        parts += [f'<span style="color:#a15c00">{html.escape(n)}</span>' for n in notes]
        self.message.value = "<br>".join(parts)

    def _summary(self, params):
        if params is None:
            return '<span style="color:#777">(invalid settings)</span>'
        n = params["N_rec"]
        text = f"{n} units"
        if params.get("dale_ratio") is not None:
            n_e = n_excitatory(params["dale_ratio"], n)
            text += f": {n_e} excitatory / {n - n_e} inhibitory"
        mask = params.get("rec_connectivity")
        if mask is None:
            density = 1.0
        else:
            density = float(np.mean(mask))
        text += f"; recurrent density {density:.2f}"
        if self._mask is not None:
            text += " (painted mask)"
        if not params["autapses"]:
            text += "; no autapses"
        return f'<span style="color:#333">{html.escape(text)}</span>'

    # ------------------------------------------------------------ painted mask
    def _store_mask(self, mask):
        self._mask = np.asarray(mask, dtype=np.float32)
        self.clear_mask_button.disabled = False

    def set_rec_connectivity(self, mask):
        """Use a painted mask (N_rec, N_rec) as ``rec_connectivity`` (overrides density); None clears it.

        Non-zero entries count as connections.  A mask that is not a finite square 2-D
        array is refused with a message; a square mask whose size differs from ``N_rec``
        is kept but makes the settings invalid until they match.

        Returns:
            bool: True if the settings are valid with this mask.
        """
        self._notes_extra = []
        if mask is None:
            self._mask = None
            self.clear_mask_button.disabled = True
        else:
            try:
                array = validate_mask(mask, "rec_connectivity", (None, None))
            except ParameterError as err:
                self._refuse(str(err) + ".")
                return False
            if array.shape[0] != array.shape[1] or array.size == 0:
                self._refuse(f"connectivity mask must be a square (N_rec, N_rec) array, got shape {array.shape}.")
                return False
            self._store_mask(array)
        self._on_control(None)
        return self.valid

    def _refuse(self, text):
        self.update()
        self.message.value = (f'<span style="color:#b00020">&#9888; {html.escape(text)} '
                              "The previous mask is kept.</span>" + ("<br>" + self.message.value
                                                                     if self.message.value else ""))

    @property
    def painted_mask(self):
        """The painted mask (float32 (N, N) 0/1) or None."""
        return None if self._mask is None else self._mask.copy()

    # ------------------------------------------------------------ building
    def full_params(self, task, name="lab_net"):
        """Complete ``network_params`` for ``task`` (raises ``ParameterError`` if invalid).

        Returns a dict with the task's ``N_in, N_out, N_steps, dt, tau, N_batch``, the loss
        its ``get_task_params()`` names (a task's ``preferred_loss``, e.g. NeuroGym's
        cross-entropy; none for PsychRNN's mean squared error), the panel's keys, ``name``
        and, for a non-default choice, an ``initializer`` object.
        """
        params, errors, _ = self.check()
        if errors:
            raise ParameterError(" ".join(errors))
        full = {key: getattr(task, key) for key in TASK_KEYS}
        loss = task.get_task_params().get("loss_function")
        if loss is not None:
            full["loss_function"] = loss
        full.update(params)
        full["name"] = name
        init = self.controls["initializer"].value
        if init != "gaussian_spectral_radius":
            from psychrnn_widgets.models.initializers import AlphaIdentity, WeightInitializer

            kwargs = {k: v for k, v in full.items() if k not in ("identity_alpha",)}
            if init == "alpha_identity":
                full["initializer"] = AlphaIdentity(identity_alpha=full["identity_alpha"], **kwargs)
            else:
                full["initializer"] = WeightInitializer(**kwargs)
        return full

    def build_model(self, task, name="lab_net"):
        """Build a :class:`~psychrnn_widgets.models.basic.Basic` for ``task`` from the controls.

        Returns:
            Basic | None: None (and a message) if the settings are invalid or the build fails.
        """
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                full = self.full_params(task, name=name)
                from psychrnn_widgets.models.basic import Basic

                model = Basic(full)
        except Exception as err:  # noqa: BLE001 - never raise into the notebook
            params, errors, notes = self.check()
            self._show(errors or [f"cannot build the network: {type(err).__name__}: {err}"], notes)
            self.valid = False
            return None
        self._notes_extra = [str(w.message) for w in caught
                             if "does not regulate" not in str(w.message) and "eigenvalues" not in str(w.message)]
        self.update()
        self.model = model
        return model


def _same_params(a, b):
    """``a == b`` for network_params dicts that may hold NumPy arrays."""
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if isinstance(value, np.ndarray) or isinstance(other, np.ndarray):
            if not np.array_equal(np.asarray(value), np.asarray(other)):
                return False
        elif value != other:
            return False
    return True


def _initializer_name(initializer, which_rand_W_rec_init=None):
    if isinstance(initializer, str) and initializer in INITIALIZERS:
        return initializer
    kind = type(initializer).__name__ if initializer is not None else None
    if kind == "AlphaIdentity":
        return "alpha_identity"
    if kind == "WeightInitializer" and which_rand_W_rec_init in INITIALIZERS:
        return which_rand_W_rec_init
    return "gaussian_spectral_radius"
