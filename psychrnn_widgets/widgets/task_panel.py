"""Task panel: a task picker, controls generated from the task's declared parameters, and a
live preview of one trial.

``TaskPanel(task)`` works for any :class:`~psychrnn_widgets.tasks.task.Task` subclass,
a user's own included.

* **Picker** (``panel.choice``, a Dropdown; ``panel.task_name``, its value as a trait):
  every task of the task catalog (:mod:`psychrnn_widgets.catalog`: the built-ins,
  :data:`~psychrnn_widgets.tasks.BUILTIN_TASKS`, then the classes registered with
  ``register_task``), the tasks passed in ``tasks=`` and the class of the task the panel
  started with.  Picking a name shows
  that task -- the one last shown under that name, or a fresh one built from the class's
  declared defaults with the current ``dt``, ``tau`` and ``N_batch``.  When NeuroGym is
  installed, a second group follows: one entry, ``"NeuroGym environments…"``, which when
  picked imports NeuroGym and lists its supervised environments as ``"NeuroGym · <id>"``;
  each is made when picked, as a :class:`~psychrnn_widgets.tasks.NeuroGymTask` with the
  current ``dt``, ``tau`` and ``N_batch`` (:mod:`~psychrnn_widgets.widgets.neurogym_choices`).
  Without NeuroGym the group is absent and nothing is imported.
* **Controls**: the constructor's arguments, the task's other declared parameters (e.g.
  ``stim_noise``, ``lo``, ``hi``) and, for user tasks, other public numeric attributes.
  A declared parameter gets a :class:`~psychrnn_widgets.widgets.controls.ParameterControl`
  (as the network panel's): label, tooltip, range and the help line under it all come
  from its :class:`~psychrnn_widgets.params.Parameter` declaration, and a value the
  declaration refuses is not applied -- the reason is shown beside the control and the
  task keeps its last valid values.  Parameters that may be None, tuples and the like are
  typed as Python literals (``None``, ``(100, 300)``).  A valid value builds a *new* task
  (through the constructor, so every check of the class applies) and sets the panel's
  ``task`` trait; the preview redraws.
* **Help**: ``task_help`` shows the task's description from its docstring.

In the Lab (``lab_state=``) the panel's ``task`` is the
:class:`~psychrnn_widgets.widgets.lab_state.LabState`'s ``task`` (linked both ways): a
task built here becomes the state's, and a task the state takes (a curriculum stage, a
network brought back) is shown here.

Widgets are created and updated on the main thread only (the panel is not live during
training).
"""
from __future__ import annotations

import ast
import copy
import dataclasses
import html
import inspect
import numbers
import warnings

import ipywidgets as widgets
import numpy as np
import traitlets
from bqplot import Axis, Figure, LinearScale, Lines

from psychrnn_widgets.catalog import TASKS
from psychrnn_widgets.errors import ParameterError
from psychrnn_widgets.params import TASK_CORE_PARAMS
from psychrnn_widgets.tasks import BUILTIN_TASKS
from psychrnn_widgets.tasks.neurogym_adapter import NeuroGymTask
from psychrnn_widgets.tasks.task import Task, TaskParameter
from psychrnn_widgets.widgets import neurogym_choices
from psychrnn_widgets.widgets.controls import ParameterControl

__all__ = ["TaskPanel"]

#: most points per preview line (longer trials are strided)
MAX_POINTS = 5000
#: most lines in the preview figure
MAX_LINES = 20
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# derived / structural names never shown as controls
_SKIP = frozenset({"self", "seed", "alpha", "N_steps", "rng", "times"})
_STYLE = {"description_width": "initial"}
#: one control with its help line, in the wrapping row of controls
_CELL = widgets.Layout(width="262px", margin="0 8px 6px 0")
#: constructor arguments a task picked by name inherits from the task shown before
_CARRIED = ("dt", "tau", "N_batch")


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _literal_ok(value):
    """True for values a Text control can round-trip through ``ast.literal_eval``."""
    if value is None or isinstance(value, (bool, str)) or _is_number(value):
        return True
    if isinstance(value, (tuple, list)):
        return all(_literal_ok(v) for v in value)
    return False


def _to_python(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(_to_python(v) for v in value)
    return value


def _plain_control(name, value):
    """A widget for an undeclared value (Checkbox, IntText, FloatText or Text), or None if unsupported."""
    value = _to_python(value)
    kwargs = dict(description=name, style=_STYLE, layout=widgets.Layout(width="260px"))
    if isinstance(value, bool):
        return widgets.Checkbox(value=value, indent=False, **kwargs)
    if isinstance(value, numbers.Integral):
        return widgets.IntText(value=int(value), **kwargs)
    if isinstance(value, numbers.Real):
        return widgets.FloatText(value=float(value), **kwargs)
    if _literal_ok(value):
        return widgets.Text(value=repr(value), continuous_update=False, **kwargs)
    return None


def _parse(raw):
    """A Text control's value as Python: a literal (``None``, ``0.5``, ``(0.1, 0.3)``), '' as None, else the text."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if not text:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _typed_as_text(parameter):
    """True when a declared parameter is edited as text: any kind but plain numbers, booleans and choices."""
    return parameter.kind not in ("int", "float", "bool", "choice") or parameter.allow_none


def _text_view(parameter):
    """The declaration as a text-edited one: same label, help and validation, a Text input."""
    if parameter.kind == "object":
        return parameter
    return dataclasses.replace(parameter, kind="object", check=lambda value, _, where: parameter.validate(value, where))


def _read_control(widget):
    """The Python value a control holds (Text is parsed as a literal: ``None``, ``0.5``, ``(0.1, 0.3)``)."""
    if isinstance(widget, widgets.Text):
        return _parse(widget.value)
    return widget.value


def _set_control(widget, value):
    value = _to_python(value)
    if isinstance(widget, widgets.Text):
        widget.value = repr(value)
    elif isinstance(widget, widgets.Checkbox):
        widget.value = bool(value)
    elif isinstance(widget, widgets.IntText):
        widget.value = int(value)
    elif isinstance(widget, widgets.Dropdown):
        widget.value = value
    else:
        widget.value = float(value)


def _help_line(parameter):
    if parameter is None:
        return ""
    text = parameter.help
    if parameter.kind in ("int", "float"):
        text += f"; {parameter.allowed}"
    elif parameter.unit:
        text += f" ({parameter.unit})"
    return f'<span style="font-size:85%;color:#555">{html.escape(text)}</span>'


def _stride(n, limit=MAX_POINTS):
    return max(1, int(np.ceil(n / limit)))


def _first_paragraph(doc):
    return " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())


def _task_help(task):
    """The first paragraph of the task's docstring and of its module's (which cites the experiment).

    For a NeuroGym task, the environment's own description follows.
    """
    cls = type(task)
    parts = [f"<b>{html.escape(cls.__name__)}</b>: {html.escape(_first_paragraph(cls.__doc__))}"]
    module = inspect.getmodule(cls)
    cited = _first_paragraph(getattr(module, "__doc__", "") if module is not None else "")
    if cited and module.__name__.startswith("psychrnn_widgets.tasks"):
        parts.append(f'<span style="color:#555">{html.escape(cited)}</span>')
    env = getattr(task, "env", None)
    if isinstance(task, NeuroGymTask) and env is not None:
        base = getattr(env, "unwrapped", env)
        described = _first_paragraph(type(base).__doc__)
        parts.append(f"<b>{html.escape(type(base).__name__)}</b> (NeuroGym): {html.escape(described)}")
    return "<br>".join(parts)


class TaskPanel(widgets.VBox):
    """A task picker, controls for the task's parameters, a preview of one trial and a resample button.

    Args:
        task (Task): the task to start from (any subclass); default a
            :class:`~psychrnn_widgets.tasks.PerceptualDiscrimination` with its defaults.
        seed (None | int): seed handed to every task the panel builds (when the class
            accepts ``seed=``); None gives each rebuilt task a seed from NumPy's global generator.
        preview_seed (None | int): seed of the previewed trial (redrawn by ``resample``).
        tasks (dict | list, optional): more tasks for the picker: task classes or task
            objects (by name; a list is named by class).
        lab_state: the Lab's :class:`~psychrnn_widgets.widgets.lab_state.LabState`, or None.

    Traits:
        task (Task): the current task; a new object whenever a control changes.
        task_name (str): the picker's choice (setting it switches task).
        locked (bool): True disables the picker and every control (resample stays usable).

    Attributes:
        choice (Dropdown): the picker.
        task_help (HTML): what the current task is, from its docstring.
        controls (dict): parameter name -> its input widget.
        parameter_controls (dict): declared parameter name -> its ``ParameterControl``.
        errors (dict): parameter name -> HTML beside the control, the reason a value was refused.
        help_lines (dict): parameter name -> HTML help line under the control (declared parameters).
        preview (bqplot.Figure): one trial: inputs (solid), targets (dashed) and mask
            (grey, dotted) against time in ms.
        input_lines, target_lines, mask_lines (bqplot.Lines): the preview's marks; ``y``
            has shape (n_lines, n_points), ``x`` is time in ms (float32).
        resample_button (Button): draws a new preview trial from the same task.
        message (HTML): an error that concerns no single control (empty when all is valid).
        trial_info (HTML): the previewed trial's parameters.
    """

    task = traitlets.Instance(Task)
    task_name = traitlets.Unicode(help="the picker's choice: a built-in task's name or one passed in tasks=")
    locked = traitlets.Bool(False, help="disable every control (e.g. while training)")

    def __init__(self, task=None, seed=None, preview_seed=None, tasks=None, lab_state=None, **kwargs):
        if isinstance(task, type):
            raise TypeError("TaskPanel needs a task instance, e.g. "
                            "TaskPanel(PerceptualDiscrimination(10, 100, 2000, 64))")
        if task is None:
            task = BUILTIN_TASKS["PerceptualDiscrimination"].with_defaults(seed=seed)
        self._seed = seed
        self._rng = np.random.default_rng(preview_seed)
        self._preview_seed = int(self._rng.integers(2**31))
        self._updating = False  # set while the panel writes control values itself
        self._building = None   # the task the panel is installing into ``task``
        self._choices = {name: TASKS.get(name) for name in TASKS.listed()}  # the catalog: built-ins first
        self._choices.update(self._named(tasks))
        if neurogym_choices.installed():
            self._choices[neurogym_choices.LOAD_LABEL] = neurogym_choices.LOADER
        self._shown = {}        # name -> the task last shown under that name
        self.controls, self.errors, self.help_lines, self.parameter_controls = {}, {}, {}, {}
        self._descriptors = {}
        self._constructor_names = []
        self._extra_names = []
        self._touched_extras = set()
        self._passthrough = {}
        self._error = self._preview_error = ""
        self._warnings = []

        self.choice = widgets.Dropdown(description="Task", options=list(self._choices), style=_STYLE,
                                       layout=widgets.Layout(width="360px"))
        self.task_help = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.message = widgets.HTML()
        self.trial_info = widgets.HTML()
        # the controls side by side, wrapping (a column of them made the Task tab three screens tall)
        self.controls_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.resample_button = widgets.Button(description="Resample trial", icon="refresh",
                                              tooltip="Draw another trial of the same task")
        self.resample_button.on_click(lambda _: self.resample())
        self.preview = self._make_figure()
        # the legend under the plot, as text: bqplot's legend sits on the data (and spills over the axis
        # for a task with many channels)
        self.preview_legend = widgets.HTML()
        self.preview_legend.add_class("psychrnn-task-preview-legend")
        self.preview.add_class("psychrnn-task-preview")  # stable handles for browser tests
        self.choice.add_class("psychrnn-task-picker")
        super().__init__(children=[self.choice, self.task_help, self.controls_box, self.message,
                                   widgets.HBox([self.resample_button, self.trial_info]), self.preview,
                                   self.preview_legend], **kwargs)
        self.task = task  # builds the controls and draws the preview (see _on_task)
        self.choice.observe(self._on_choice, names="value")
        self.lab_state = lab_state
        if lab_state is not None:
            traitlets.link((lab_state, "task"), (self, "task"))

    @staticmethod
    def _named(tasks):
        if tasks is None:
            return {}
        if isinstance(tasks, dict):
            items = tasks.items()
        else:
            items = [((t if isinstance(t, type) else type(t)).__name__, t) for t in tasks]
        out = {}
        for name, entry in items:
            cls = entry if isinstance(entry, type) else type(entry)
            if not issubclass(cls, Task):
                raise TypeError(f"tasks[{name!r}] must be a Task class or object, got {entry!r}")
            out[str(name)] = entry
        return out

    # ------------------------------------------------------------ figure
    def _make_figure(self):
        sx, sy = LinearScale(), LinearScale()
        self.input_lines = Lines(x=np.zeros(2, np.float32), y=np.zeros((1, 2), np.float32),
                                 scales={"x": sx, "y": sy}, display_legend=False, stroke_width=1.5)
        self.target_lines = Lines(x=np.zeros(2, np.float32), y=np.zeros((1, 2), np.float32),
                                  scales={"x": sx, "y": sy}, display_legend=False, line_style="dashed",
                                  stroke_width=2)
        self.mask_lines = Lines(x=np.zeros(2, np.float32), y=np.zeros((1, 2), np.float32),
                                scales={"x": sx, "y": sy}, display_legend=False, line_style="dotted",
                                colors=["#555555"], stroke_width=2)
        axes = [Axis(scale=sx, label="time (ms)"), Axis(scale=sy, side="left", label="value")]
        return Figure(marks=[self.input_lines, self.target_lines, self.mask_lines], axes=axes,
                      title="One trial: inputs, targets (dashed), mask (dotted)",
                      layout=widgets.Layout(width="100%", height="320px"),
                      fig_margin=dict(top=40, bottom=45, left=50, right=20))

    # ------------------------------------------------------------ picker
    def _name_of(self, task):
        for name, entry in self._choices.items():
            if entry is task or (isinstance(entry, neurogym_choices.NeuroGymChoice) and entry.owns(task)):
                return name
        cls = type(task)
        for name, entry in self._choices.items():
            if entry is cls:
                return name
        name = cls.__name__
        while name in self._choices and not (self._choices[name] is cls or isinstance(self._choices[name], cls)):
            name += "'"
        self._choices[name] = task
        return name

    def _sync_picker(self, task):
        name = self._name_of(task)
        self._shown[name] = task
        self._updating = True
        try:
            if list(self.choice.options) != list(self._choices):
                self.choice.options = list(self._choices)
            self.choice.value = name
            self.task_name = name
        finally:
            self._updating = False

    @traitlets.validate("task_name")
    def _valid_task_name(self, proposal):
        if proposal["value"] not in self._choices:
            raise traitlets.TraitError(f"unknown task {proposal['value']!r}; choose one of " + ", ".join(self._choices))
        return proposal["value"]

    @traitlets.observe("task_name")
    def _on_task_name(self, change):
        if not self._updating and change["new"] != self.choice.value:
            self.choice.value = change["new"]

    def _on_choice(self, change):
        if self._updating or change["new"] is None:
            return
        self.pick(change["new"])

    def pick(self, name):
        """Show the task called ``name`` (see the class docstring); returns True if it was shown."""
        task = self._shown.get(name)
        if task is None:
            entry = self._choices[name]
            if entry is neurogym_choices.LOADER:
                return self._load_neurogym()
            if isinstance(entry, Task):
                task = entry
            else:
                carried = {k: getattr(self.task, k) for k in _CARRIED}
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if isinstance(entry, neurogym_choices.NeuroGymChoice):
                            task = entry.build(**carried, seed=self._seed)
                        else:
                            task = entry.with_defaults(**carried, seed=self._seed)
                except Exception as err:  # noqa: BLE001 - the notebook must never see it
                    self._error = f"cannot build {name} from its defaults: {type(err).__name__}: {err}"
                    self._show_message()
                    self._sync_picker(self.task)
                    return False
        self.task = task
        return True

    def _load_neurogym(self):
        """Replace the NeuroGym entry by NeuroGym's environments and show the default one."""
        try:
            loaded = neurogym_choices.choices()
        except Exception as err:  # noqa: BLE001 - the notebook must never see it
            self._error = f"cannot list NeuroGym's environments: {type(err).__name__}: {err}"
            self._show_message()
            self._sync_picker(self.task)
            return False
        if not loaded:
            self._error = "NeuroGym lists no supervised environment"
            self._show_message()
            self._sync_picker(self.task)
            return False
        self._choices.pop(neurogym_choices.LOAD_LABEL, None)
        self._choices.update(loaded)
        default = neurogym_choices.PREFIX + neurogym_choices.DEFAULT_ENVIRONMENT
        shown = self.pick(default if default in loaded else next(iter(loaded)))
        if not shown:  # the picker must not keep pointing at the entry it no longer lists
            self._sync_picker(self.task)
        return shown

    # ------------------------------------------------------------ controls
    @traitlets.observe("locked")
    def _on_locked(self, change):
        self.choice.disabled = change["new"]
        for name, widget in self.controls.items():
            self.parameter_controls.get(name, widget).disabled = change["new"]

    @traitlets.observe("task")
    def _on_task(self, change):
        task, old = change["new"], change["old"]
        if task is not self._building:  # set from outside or picked: a new class or new values
            if old is not None and type(old) is type(task) and self._show_values_of(task):
                pass  # same class (e.g. the next curriculum stage): only the values changed
            else:
                self._make_controls(task)
        self._sync_picker(task)
        help_text = _task_help(task)
        if self.task_help.value != help_text:
            self.task_help.value = help_text
        self._draw_preview()

    def _show_values_of(self, task):
        """Write ``task``'s values into the existing controls (no new widgets); False if they do not fit."""
        names = list(self.controls)
        try:
            values = {name: getattr(task, name) for name in names}
        except AttributeError:
            return False
        self._updating = True
        try:
            for name, value in values.items():
                widget = self.controls[name]
                if _to_python(value) == _read_control(widget):
                    continue
                try:
                    _set_control(widget, value)
                except (TypeError, ValueError, traitlets.TraitError):
                    return False
        finally:
            self._updating = False
        for name in names:
            control = self.parameter_controls.get(name)
            if control is not None:
                control.value = values[name]
        for name in self._passthrough:  # values without a control (a NeuroGym environment) follow the task too
            if hasattr(task, name):
                self._passthrough[name] = getattr(task, name)
        return True

    def _declaration(self, cls, name):
        descriptor = inspect.getattr_static(cls, name, None)
        return descriptor if isinstance(descriptor, TaskParameter) else None

    def _make_controls(self, task):
        """(Re)generate ``controls`` for ``task`` from its constructor, declarations and attributes."""
        for name, widget in self.controls.items():
            source = self.parameter_controls.get(name, widget)
            source.unobserve(self._on_control, names="value")
        cls = type(task)
        self.controls, self.errors, self.help_lines, self.parameter_controls = {}, {}, {}, {}
        self._descriptors = {}
        self._passthrough, self._touched_extras = {}, set()
        self._constructor_names, self._extra_names = [], []
        self._accepts_seed = False
        self._constructor_ok = True
        try:
            parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        except (TypeError, ValueError):
            parameters, self._constructor_ok = [], False
        for p in parameters:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.name == "seed":
                self._accepts_seed = True
                continue
            try:
                value = getattr(task, p.name)
            except AttributeError:
                if p.default is p.empty:
                    self._constructor_ok = False  # cannot rebuild through the constructor
                    continue
                value = p.default
            if self._add_control(cls, p.name, value):
                self._constructor_names.append(p.name)
            else:
                self._passthrough[p.name] = value
        structural = set(TASK_CORE_PARAMS) | _SKIP
        for name in cls.parameter_names():  # declared, not constructor arguments (stim_noise, lo, hi...)
            if name not in self.controls and name not in self._passthrough and name not in structural:
                if self._add_control(cls, name, getattr(task, name, None)):
                    self._extra_names.append(name)
        try:
            attributes = task.get_task_params()
        except Exception:  # noqa: BLE001 - a user task with odd attributes still gets its constructor controls
            attributes = {}
        for name, value in attributes.items():  # a user task's other public numbers
            if name in self.controls or name in self._passthrough or name in structural:
                continue
            if (_is_number(value) or isinstance(value, bool)) and self._add_control(cls, name, value):
                self._extra_names.append(name)
        rows = []
        for name, widget in self.controls.items():
            control = self.parameter_controls.get(name)
            if control is not None:
                control.disabled = self.locked
                control.observe(self._on_control, names="value")
                rows.append(widgets.VBox([control, self.help_lines[name]], layout=_CELL))
            else:
                widget.disabled = self.locked
                widget.observe(self._on_control, names="value")
                rows.append(widgets.VBox([widgets.HBox([widget, self.errors[name]]), self.help_lines[name]],
                                         layout=_CELL))
        self.controls_box.children = rows
        self._error = self._preview_error = ""
        self._warnings = []
        self._show_message()

    def _add_control(self, cls, name, value):
        """A control for ``name``: a :class:`ParameterControl` for a typed declaration, else a plain widget."""
        descriptor = self._declaration(cls, name)
        value = _to_python(value)
        if descriptor is not None and descriptor.typed:
            parameter = descriptor.parameter
            as_text = _typed_as_text(parameter)
            if as_text and not _literal_ok(value):
                return False  # e.g. a list of Task objects: passed through unchanged
            control = ParameterControl(_text_view(parameter) if as_text else parameter,
                                       repr(value) if as_text else value, where=cls.__name__, width="260px",
                                       convert=_parse if as_text else None)
            self.parameter_controls[name] = control
            self.controls[name] = control.input
            self.errors[name] = control.message
            self.help_lines[name] = widgets.HTML(_help_line(parameter))
        else:
            widget = _plain_control(name, value)
            if widget is None:
                return False
            if descriptor is not None:  # an untyped (check-function) declaration: its doc is the help
                widget.tooltip = descriptor.parameter.help
            self.controls[name] = widget
            self.errors[name] = widgets.HTML(layout=widgets.Layout(margin="0 0 0 8px"))
            self.help_lines[name] = widgets.HTML(_help_line(descriptor.parameter if descriptor else None))
        self._descriptors[name] = descriptor
        return True

    def _show_message(self):
        parts = [_error_html(e) for e in (self._error, self._preview_error) if e]
        parts += [_note_html(w) for w in self._warnings]
        self.message.value = "<br>".join(parts)

    def _refuse(self, name, text):
        self.errors[name].value = _error_html(text)

    def _on_control(self, change):
        if self._updating:
            return
        owner = change["owner"]
        name = next((k for k, w in self.controls.items() if self.parameter_controls.get(k, w) is owner), None)
        if name is None:
            return
        descriptor = self._descriptors.get(name)
        if name not in self.parameter_controls:  # a plain control: validated here
            if descriptor is not None:
                try:
                    descriptor.validate(_read_control(owner), type(self.task).__name__)
                except ParameterError as err:
                    self._refuse(name, str(err))
                    return
            self.errors[name].value = ""
        if name in self._extra_names:
            self._touched_extras.add(name)
        self.rebuild()

    # ------------------------------------------------------------ building
    def values(self):
        """Current control values, name -> Python value (Text controls parsed as literals).

        A declared parameter's control gives its last valid value (a refused input is not used).
        """
        return {name: self.parameter_controls[name].value if name in self.parameter_controls else _read_control(w)
                for name, w in self.controls.items()}

    def build_task(self):
        """A new task from the controls (raises on invalid values; :meth:`rebuild` does not)."""
        values = self.values()
        old = self.task
        cls = type(old)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if self._constructor_ok:
                kwargs = {name: values[name] for name in self._constructor_names}
                kwargs.update(self._passthrough)
                if self._accepts_seed:
                    kwargs["seed"] = self._seed
                new = cls(**kwargs)
            else:  # a constructor argument cannot be read back: copy the task, set the values
                new = copy.copy(old)
                new.set_seed(self._seed)
                for name in self._constructor_names:
                    setattr(new, name, values[name])
            for name in self._touched_extras:
                setattr(new, name, values[name])
        self._warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
        return new

    def rebuild(self):
        """Build a task from the controls and install it as ``task``; on error show why.

        A :class:`~psychrnn_widgets.errors.ParameterError` about one control's parameter is
        shown beside that control, anything else in ``message``.

        Returns:
            bool: True if the task was rebuilt.
        """
        try:
            new = self.build_task()
        except Exception as err:  # noqa: BLE001 - the notebook must never see it
            name = getattr(err, "parameter", None)
            if isinstance(err, ParameterError) and name in self.errors:
                self._refuse(name, str(err))  # e.g. a cross-parameter rule (alpha = dt / tau <= 1)
            else:
                self._error = f"{type(err).__name__}: {err} (the task keeps its previous values)"
            self._show_message()
            return False
        self._refresh_untouched_extras(new)
        for widget in self.errors.values():
            widget.value = ""
        self._building = new
        try:
            self.task = new
        finally:
            self._building = None
        self._error = ""
        self._show_message()
        return True

    def _refresh_untouched_extras(self, new):
        self._updating = True
        try:
            for name in self._extra_names:
                if name not in self._touched_extras and hasattr(new, name):
                    value = getattr(new, name)
                    if _literal_ok(value):
                        _set_control(self.controls[name], value)
        finally:
            self._updating = False


    # ------------------------------------------------------------ preview
    def resample(self):
        """Preview another trial of the current task (the task itself is unchanged)."""
        self._preview_seed = int(self._rng.integers(2**31))
        self._draw_preview()

    def preview_trial(self):
        """``(times (N_steps,), x (N_steps, N_in), y (N_steps, N_out), mask (N_steps, N_out), params)``.

        Drawn from a copy of the task seeded with the preview seed, so the task's own
        random stream (used for training) is left alone.
        """
        task = copy.deepcopy(self.task)
        task.set_seed(self._preview_seed)
        x, y, mask, params = task.generate_batch(N_batch=1, batch=1, noise=True)
        return np.asarray(task.times, np.float32), x[0], y[0], mask[0], params[0]

    def _draw_preview(self):
        try:
            times, x, y, mask, params = self.preview_trial()
        except Exception as err:  # noqa: BLE001
            self._preview_error = f"cannot draw a trial: {type(err).__name__}: {err}"
            self._show_message()
            return
        if self._preview_error:
            self._preview_error = ""
            self._show_message()
        step = _stride(times.size)
        t = times[::step]
        masks = mask[::step].T.astype(np.float32)
        if masks.shape[0] > 1 and np.all(masks == masks[:1]):
            masks = masks[:1]  # one mask line when every output shares it
        n_out = min(y.shape[1], 4)
        n_mask = min(masks.shape[0], 4)
        n_in = max(1, min(x.shape[1], MAX_LINES - n_out - n_mask))
        in_idx = np.unique(np.linspace(0, x.shape[1] - 1, n_in).round().astype(int))
        out_idx = np.arange(n_out)
        inputs = np.ascontiguousarray(x[::step, in_idx].T, dtype=np.float32)
        targets = np.ascontiguousarray(y[::step, out_idx].T, dtype=np.float32)
        masks = np.ascontiguousarray(masks[:n_mask])
        colors = [_PALETTE[i % len(_PALETTE)] for i in range(max(len(in_idx), n_out))]
        self.preview_legend.value = _legend_html(
            [(f"in {i}", c, "solid") for i, c in zip(in_idx, colors)]
            + [(f"target {i}", c, "dashed") for i, c in zip(out_idx, colors)]
            + [("mask" if masks.shape[0] == 1 else f"mask {i}", "#555555", "dotted") for i in range(masks.shape[0])])
        for line, data, labels, cols in (
            (self.input_lines, inputs, [f"in {i}" for i in in_idx], colors[:len(in_idx)]),
            (self.target_lines, targets, [f"target {i}" for i in out_idx], colors[:n_out]),
            (self.mask_lines, masks, ["mask"] if masks.shape[0] == 1 else [f"mask {i}" for i in range(n_mask)],
             ["#555555"] * masks.shape[0]),
        ):
            with line.hold_sync():
                line.x = t
                line.y = data
                line.labels = labels
                line.colors = cols
        self.trial_info.value = _format_params(params)


def _legend_html(entries):
    """A one-line legend: a short line in each entry's colour and style, then its label."""
    items = [f"<span style='white-space:nowrap;margin-right:10px'><span style='display:inline-block;width:18px;"
             f"border-top:2px {style} {colour};vertical-align:middle;margin-right:3px'></span>{html.escape(label)}"
             "</span>" for label, colour, style in entries]
    return f"<div style='font-size:12px;line-height:1.6'>{''.join(items)}</div>"


def _error_html(text):
    return f'<span style="color:#b00020">&#9888; {html.escape(text)}</span>'


def _note_html(text):
    return f'<span style="color:#a15c00">{html.escape(text)}</span>'


def _format_params(params):
    parts = []
    for key, value in dict(params).items():
        if key in ("epochs", "params", "ob", "gt", "pulses"):
            continue  # long; the preview shows them
        value = _to_python(value)
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key}={value}")
    return f'<span style="font-size:90%">{html.escape(", ".join(parts))}</span>'
