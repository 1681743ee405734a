"""Network panel: the model picker, the task-independent part of ``network_params``, a model builder.

**Model** (``panel.model_choice``; ``panel.model_name``, its value as a trait): every model
class of the model catalog (:mod:`psychrnn_widgets.catalog`): ``Basic``, ``BasicScan``,
``LSTM``, ``GRU`` and the classes registered with ``register_model``, in that order.
Each class declares which common keys mean nothing for it (``not_applicable``: Dale's
law, masks, noise... for an LSTM); their controls are disabled and the reason is shown
under the picker, and they are left out of ``network_params``.  A class's own declared
keys (``parameters`` of kind int, float, bool or choice) get controls of their own.

Controls: ``N_rec``, Dale's law (enable + ``dale_ratio``), ``autapses``, ``rec_noise``,
transfer function, initialiser (+ ``spec_rad`` or ``identity_alpha``), recurrent
connection density, the L1/L2 regularisers and a ``seed``.  Every control of a
``network_params`` key is a :class:`~psychrnn_widgets.widgets.controls.ParameterControl`
built from its declaration in :mod:`psychrnn_widgets.params` (label, PsychRNN's name,
help, allowed values): a value that cannot be right is refused in the control with the
reason beside it, ``valid`` turns False and ``network_params`` keeps the last valid
settings; nothing raises into the notebook.  ``build_model(task)`` turns the controls and
a task into a network of the picked class.  A painted mask (``set_rec_connectivity``)
overrides the density.

In the Lab (``lab_state=``) the panel says its model, settings and validity to the
:class:`~psychrnn_widgets.widgets.lab_state.LabState` (which decides what to build) and
takes the mask painted in the Connectivity editor from it.

Widgets are created and updated on the main thread only.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
import traitlets

from psychrnn_widgets import transfer
from psychrnn_widgets.catalog import MODELS, model_class
from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.models.constraints import n_excitatory
from psychrnn_widgets.params import NETWORK_PARAMS, REGULARIZER_KEYS, scalar, validate_mask
from psychrnn_widgets.widgets.controls import ParameterControl
from psychrnn_widgets.widgets.lab_state import build_network, network_params_for, resolve_model_name, same_settings

__all__ = ["NetworkPanel", "INITIALIZERS", "REGULARIZER_KEYS", "DECLARED_CONTROLS", "CONTROL_KEYS"]

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
#: the network_params key each control that is not a declared one sets (a model may declare it not applicable)
CONTROL_KEYS = {"dale_enabled": "dale_ratio", "initializer": "initializer", "density": "rec_connectivity"}
#: initialiser choice -> the ``network_params['initializer']`` name that builds it (none: the default)
_INITIALIZER_CLASSES = {"alpha_identity": "AlphaIdentity", "glorot_gauss": "WeightInitializer",
                        "glorot_unif": "WeightInitializer", "const_gauss": "WeightInitializer",
                        "const_unif": "WeightInitializer"}
#: declaration kinds a model's own key gets a control for
_OWN_KINDS = ("int", "float", "bool", "choice")
_STYLE = {"description_width": "initial"}


class NetworkPanel(widgets.VBox):
    """The model picker and its controls; validated ``network_params``; ``build_model(task)``.

    Args:
        network_params (dict, optional): starting values (PsychRNN keys: ``N_rec,
            dale_ratio, autapses, rec_noise, transfer_function, spec_rad, L1_* , L2_*,
            seed, rec_connectivity`` and the model's own keys; others are ignored).
        model: the model class or its registered name (default ``'Basic'``); a class that
            is not registered yet is registered under its class name.
        lab_state: the Lab's :class:`~psychrnn_widgets.widgets.lab_state.LabState` (see the
            module docstring), or None.

    Traits:
        model_name (str): the picked model class's registered name.
        network_params (dict): the task-independent ``network_params`` of the last valid
            control state: ``N_rec, seed``, the regulariser keys and, for the keys the model
            uses: ``dale_ratio (None when off), autapses, rec_noise, transfer_function
            (name)``, ``spec_rad`` or ``identity_alpha`` and ``initializer`` /
            ``which_rand_W_rec_init`` for the chosen initialiser, ``rec_connectivity``
            (float32 (N_rec, N_rec) 0/1) when a mask is painted or the density is below 1,
            and the model's own keys.  Not updated while the controls are invalid.
        initializer (str): a key of :data:`INITIALIZERS`.
        valid (bool): whether the current controls make a valid network.
        locked (bool): True disables every control (``set_rec_connectivity`` still works).

    Attributes:
        model_choice (Dropdown): the model picker.
        model_note (HTML): what the picked model is, and which controls it does not use and why.
        not_applicable (dict): control name -> the reason it is disabled for the picked model.
        controls (dict): name -> widget (``N_rec, dale_enabled, dale_ratio, autapses,
            rec_noise, transfer_function, initializer, spec_rad, identity_alpha, density,
            seed``, the regulariser keys and the model's own keys; ``parameter_controls`` holds
            the :class:`~psychrnn_widgets.widgets.controls.ParameterControl` of each declared one).
        message (HTML): errors (red) and notes (orange); empty when all is well.
        summary (HTML): one line describing the network (E/I counts, density, mask).
        clear_mask_button (Button): forget the painted mask.
        model: the last model :meth:`build_model` returned (or None).
    """

    model_name = traitlets.Unicode("Basic")
    network_params = traitlets.Dict()
    initializer = traitlets.Unicode("gaussian_spectral_radius")
    valid = traitlets.Bool(True)
    locked = traitlets.Bool(False, help="disable every control (e.g. while training)")

    def __init__(self, network_params=None, model="Basic", lab_state=None, **kwargs):
        p = dict(network_params or {})
        self.model = None
        self.lab_state = None
        self._mask = None
        self._notes_extra = []
        self._start = p
        self.not_applicable = {}
        self._own = {}  # the model's own keys -> ParameterControl
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
        self._tooltips = {key: getattr(widget, "tooltip", None) for key, widget in c.items()}
        names = MODELS.listed()
        self.model_choice = widgets.Dropdown(options=names, value=resolve_model_name(model), description="Model",
                                             style=_STYLE, layout=widgets.Layout(width="300px"),
                                             tooltip="the network's class: every model of the model catalog")
        self.model_choice.add_class("psychrnn-model-picker")
        self.model_note = widgets.HTML()
        self.own_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.clear_mask_button = widgets.Button(description="Clear painted mask", icon="eraser", disabled=True)
        self.clear_mask_button.on_click(lambda _: self.set_rec_connectivity(None))

        pc = self.parameter_controls
        rows = [
            widgets.HTML("<b>Network</b>"),
            self.model_choice,
            self.model_note,
            widgets.HBox([pc["N_rec"], pc["transfer_function"], pc["rec_noise"], pc["seed"]],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([c["dale_enabled"], pc["dale_ratio"], pc["autapses"]], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([c["initializer"], pc["spec_rad"], pc["identity_alpha"]],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([c["density"], self.clear_mask_button]),
            self.own_box,
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
        self.model_choice.observe(self._on_model_choice, names="value")
        self._use_model(self.model_choice.value)
        if lab_state is not None:
            self._bind(lab_state)

    # ------------------------------------------------------------ the model class
    @property
    def model_class(self):
        """The picked model class (imports the models, and so TensorFlow, on first use)."""
        return model_class(self.model_name)

    @traitlets.observe("model_name")
    def _on_model_name(self, change):
        if self.model_choice.value != change["new"]:
            self.model_choice.value = change["new"]  # an unknown name: the Dropdown refuses it

    def _on_model_choice(self, change):
        self._use_model(change["new"])

    def _use_model(self, name):
        """Switch the controls to model class ``name``: its own keys, what it does not use and why."""
        cls = model_class(name)
        reasons = dict(getattr(cls, "not_applicable", {}) or {})
        self.not_applicable = {control: reasons[key] for control, key in
                               [(k, k) for k in DECLARED_CONTROLS] + list(CONTROL_KEYS.items()) if key in reasons}
        for key, control in self._own.items():
            control.unobserve(self._on_control, names=["value", "valid"])
            self.controls.pop(key, None)
            self.parameter_controls.pop(key, None)
        self._own = {}
        for key, parameter in cls.declared_parameters().items():
            if parameter.kind in _OWN_KINDS and parameter.default is not None and key not in NETWORK_PARAMS:
                value = self._start.get(key, parameter.default)
                try:
                    value = parameter.validate(value, "network_params")
                except ParameterError:
                    value = parameter.default
                control = ParameterControl(parameter, value, width="110px")
                control.observe(self._on_control, names=["value", "valid"])
                self._own[key] = self.parameter_controls[key] = control
                self.controls[key] = control.input
        self.own_box.children = ([widgets.HTML(f"{html.escape(name)}'s own settings:")] + list(self._own.values())
                                 if self._own else [])
        self.model_note.value = _model_note(name, cls, self.not_applicable)
        for key, widget in self.controls.items():
            reason = self.not_applicable.get(key)
            tooltip = f"not used by {name}: {reason}" if reason else self._tooltips.get(key)
            if hasattr(widget, "tooltip") and tooltip is not None:
                widget.tooltip = tooltip
        with self.hold_trait_notifications():  # the class and its settings are announced together
            self.model_name = name
            self._on_control(None)

    def _bind(self, lab_state):
        """Say the model, the settings and their validity to ``lab_state``; take the painted mask from it."""
        self.lab_state = lab_state
        self._tell_state()
        self.observe(lambda _: self._tell_state(), names=["model_name", "network_params", "valid"])
        lab_state.observe(self._on_painted_mask, names="painted_mask")

    def _tell_state(self):
        state = self.lab_state
        with state.hold_trait_notifications():  # a new class comes with its settings: one decision, not two
            state.network_valid = self.valid
            state.model_name = self.model_name
            if not same_settings(self.network_params, state.network_params):
                state.network_params = dict(self.network_params)

    def _on_painted_mask(self, change):
        mask = change["new"]
        if mask is None and self._mask is None:
            return
        if mask is not None and self._mask is not None and np.array_equal(mask, self._mask):
            return
        self.set_rec_connectivity(mask)

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
        off = self.not_applicable
        for key, widget in c.items():
            widget.disabled = locked or key in off
        c["dale_ratio"].disabled = locked or "dale_ratio" in off or not c["dale_enabled"].value
        init = c["initializer"].value
        c["spec_rad"].disabled = locked or "spec_rad" in off or init != "gaussian_spectral_radius"
        c["identity_alpha"].disabled = locked or "identity_alpha" in off or init != "alpha_identity"
        c["density"].disabled = locked or "density" in off or self._mask is not None
        self.clear_mask_button.disabled = locked or "density" in off or self._mask is None
        for control in self._own.values():
            control.disabled = locked

    def _declared(self, key, errors):
        """The control's last valid value; its refusal reason goes to ``errors`` while the input is invalid."""
        control = self.parameter_controls[key]
        if not control.valid:
            errors.append(control.error)
        return control.value

    def check(self):
        """Validate the controls: ``(network_params or None, errors, notes)``; never raises.

        Keys the picked model does not use are left out.
        """
        c = self.controls
        off = self.not_applicable
        errors, notes = [], []
        params = {}
        n_rec = self._declared("N_rec", errors)
        if n_rec > 2000:
            notes.append(f"N_rec = {n_rec} is large: training will be slow.")
        params["N_rec"] = n_rec
        if "dale_enabled" in off:
            pass
        elif c["dale_enabled"].value:
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
            if key not in off:
                params[key] = self._declared(key, errors)
        init = c["initializer"].value
        if "initializer" in off:
            pass
        elif init == "gaussian_spectral_radius":
            params["spec_rad"] = self._declared("spec_rad", errors)
        elif init == "alpha_identity":
            params["initializer"] = _INITIALIZER_CLASSES[init]
            params["identity_alpha"] = self._declared("identity_alpha", errors)
        else:
            params["initializer"] = _INITIALIZER_CLASSES[init]
            params["which_rand_W_rec_init"] = init
            notes.append(f"{INITIALIZERS[init]} does not regulate W_rec's eigenvalues; the network may "
                         "explode or die out (the spectral-radius initialiser is the safe default).")
        for key in REGULARIZER_KEYS:
            if key not in off:
                params[key] = self._declared(key, errors)
        params["seed"] = self._declared("seed", errors)
        if "density" not in off:
            mask = self.rec_connectivity(n_rec, errors, notes)
            if mask is not None:
                params["rec_connectivity"] = mask
        for key, control in self._own.items():
            if not control.valid:
                errors.append(control.error)
            params[key] = control.value
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
            if not same_settings(params, self.network_params):  # no change event for equal settings
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
        if "density" not in self.not_applicable:
            text += f"; recurrent density {density:.2f}"
        if self._mask is not None:
            text += " (painted mask)"
        if not params.get("autapses", True):
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
            if self.lab_state is not None and self.lab_state.painted_mask is not None:
                self.lab_state.painted_mask = None  # cleared here: nothing painted any more
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
        cross-entropy; none for PsychRNN's mean squared error), the panel's keys
        (:attr:`network_params`) and ``name``.
        """
        params, errors, _ = self.check()
        if errors:
            raise ParameterError(" ".join(errors))
        return network_params_for(params, task, name)

    def build_model(self, task, name="lab_net"):
        """Build a network of the picked class for ``task`` from the controls.

        Returns:
            the model, or None (and a message) if the settings are invalid or the build fails.
        """
        try:
            params, errors, _ = self.check()
            if errors:
                raise ParameterError(" ".join(errors))
            model, notes = build_network(self.model_name, params, task, name)
        except Exception as err:  # noqa: BLE001 - never raise into the notebook
            params, errors, notes = self.check()
            self._show(errors or [f"cannot build the network: {type(err).__name__}: {err}"], notes)
            self.valid = False
            return None
        self._notes_extra = notes
        self.update()
        self.model = model
        return model


def _model_note(name, cls, not_applicable):
    """HTML: what the model is and, grouped by reason, the controls it does not use."""
    summary = getattr(cls, "summary", "") or (cls.__doc__ or "").strip().split("\n")[0]
    parts = [f"<span style='color:#333'>{html.escape(summary)}</span>"] if summary else []
    by_reason = {}
    for control, reason in not_applicable.items():
        by_reason.setdefault(reason, []).append(control)
    for reason, controls in by_reason.items():
        parts.append(f"<span style='color:#777'>not used by {html.escape(name)}: "
                     f"{html.escape(', '.join(controls))} &mdash; {html.escape(reason)}</span>")
    return "<br>".join(parts)


def _initializer_name(initializer, which_rand_W_rec_init=None):
    if isinstance(initializer, str) and initializer in INITIALIZERS:
        return initializer
    kind = initializer if isinstance(initializer, str) else (type(initializer).__name__ if initializer is not None
                                                             else None)
    if kind == "AlphaIdentity":
        return "alpha_identity"
    if kind == "WeightInitializer" and which_rand_W_rec_init in INITIALIZERS:
        return which_rand_W_rec_init
    return "gaussian_spectral_radius"
