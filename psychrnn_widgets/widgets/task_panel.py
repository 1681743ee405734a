"""Task panel: controls generated from a task's parameters and a live preview of one trial.

``TaskPanel(task)`` works for any :class:`~psychrnn_widgets.tasks.task.Task` subclass,
a user's own included: the controls come from the constructor signature (current values
read back from the task's attributes, else the signature default) plus the task's other
public numeric attributes (e.g. ``stim_noise``, ``lo``, ``hi``).  Changing a control
builds a *new* task (through the constructor, so every check and derived value of the
class applies) and sets the panel's ``task`` trait; the preview redraws.  An invalid
value never raises into the notebook: ``message`` says what is wrong and ``task`` keeps
the last valid task.

Widgets are created and updated on the main thread only (the panel is not live during
training).
"""
from __future__ import annotations

import ast
import copy
import inspect
import numbers
import warnings

import ipywidgets as widgets
import numpy as np
import traitlets
from bqplot import Axis, Figure, LinearScale, Lines

from psychrnn_widgets.tasks.task import Task, TaskParameter

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


def _accepts_fraction(descriptor, name, value):
    """True if a TaskParameter's check takes a non-integer near ``value`` (e.g. ``dt=10`` given as int)."""
    if not isinstance(descriptor, TaskParameter):
        return False
    try:
        descriptor.check(name, float(value) + 0.5)
    except Exception:  # noqa: BLE001 - any refusal means: keep an integer control
        return False
    return True


def _make_control(name, value, doc="", descriptor=None):
    """A widget for ``value`` (Checkbox, IntText, FloatText or Text), or None if unsupported."""
    value = _to_python(value)
    kwargs = dict(description=name, style=_STYLE, layout=widgets.Layout(width="220px"))
    if isinstance(value, bool):
        widget = widgets.Checkbox(value=value, indent=False, **kwargs)
    elif isinstance(value, numbers.Integral) and not _accepts_fraction(descriptor, name, value):
        widget = widgets.IntText(value=int(value), **kwargs)
    elif isinstance(value, numbers.Real):
        widget = widgets.FloatText(value=float(value), **kwargs)
    elif _literal_ok(value):
        widget = widgets.Text(value=repr(value), continuous_update=False, **kwargs)
    else:
        return None
    if doc:
        widget.tooltip = doc
    return widget


def _read_control(widget):
    """The Python value a control holds (Text is parsed as a literal: ``None``, ``0.5``, ``(0.1, 0.3)``)."""
    if isinstance(widget, widgets.Text):
        text = widget.value.strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    return widget.value


def _set_control(widget, value):
    value = _to_python(value)
    if isinstance(widget, widgets.Text):
        widget.value = repr(value)
    elif isinstance(widget, widgets.Checkbox):
        widget.value = bool(value)
    elif isinstance(widget, widgets.IntText):
        widget.value = int(value)
    else:
        widget.value = float(value)


def _stride(n, limit=MAX_POINTS):
    return max(1, int(np.ceil(n / limit)))


class TaskPanel(widgets.VBox):
    """Controls for a task's parameters, a preview of one trial and a resample button.

    Args:
        task (Task): the task to start from (any subclass).
        seed (None | int): seed handed to every task the panel builds (when the class
            accepts ``seed=``); None gives each rebuilt task fresh entropy.
        preview_seed (None | int): seed of the previewed trial (redrawn by ``resample``).

    Traits:
        task (Task): the current task; a new object whenever a control changes.
        locked (bool): True disables every control (the resample button stays usable).

    Attributes:
        controls (dict): parameter name -> widget.
        preview (bqplot.Figure): one trial: inputs (solid), targets (dashed) and mask
            (grey, dotted) against time in ms.
        input_lines, target_lines, mask_lines (bqplot.Lines): the preview's marks; ``y``
            has shape (n_lines, n_points), ``x`` is time in ms (float32).
        resample_button (Button): draws a new preview trial from the same task.
        message (HTML): the last error (empty when the controls are valid).
        trial_info (HTML): the previewed trial's parameters.
    """

    task = traitlets.Instance(Task)
    locked = traitlets.Bool(False, help="disable every control (e.g. while training)")

    def __init__(self, task, seed=None, preview_seed=None, **kwargs):
        if isinstance(task, type):
            raise TypeError("TaskPanel needs a task instance, e.g. "
                            "TaskPanel(PerceptualDiscrimination(10, 100, 2000, 64))")
        self._seed = seed
        self._rng = np.random.default_rng(preview_seed)
        self._preview_seed = int(self._rng.integers(2**31))
        self._updating = False  # set while the panel writes control values itself
        self._building = None   # the task the panel is installing into ``task``
        self.controls = {}
        self._constructor_names = []
        self._extra_names = []
        self._touched_extras = set()
        self._passthrough = {}
        self._error = self._preview_error = ""
        self._warnings = []

        self.title = widgets.HTML()
        self.message = widgets.HTML()
        self.trial_info = widgets.HTML()
        self.controls_box = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="repeat(auto-fill, 230px)", grid_gap="2px 8px"))
        self.resample_button = widgets.Button(description="Resample trial", icon="refresh",
                                              tooltip="Draw another trial of the same task")
        self.resample_button.on_click(lambda _: self.resample())
        self.preview = self._make_figure()
        super().__init__(children=[self.title, self.controls_box, self.message,
                                   widgets.HBox([self.resample_button, self.trial_info]), self.preview], **kwargs)
        self.task = task  # builds the controls and draws the preview (see _on_task)

    # ------------------------------------------------------------ figure
    def _make_figure(self):
        sx, sy = LinearScale(), LinearScale()
        self.input_lines = Lines(x=np.zeros(2, np.float32), y=np.zeros((1, 2), np.float32),
                                 scales={"x": sx, "y": sy}, display_legend=True, stroke_width=1.5)
        self.target_lines = Lines(x=np.zeros(2, np.float32), y=np.zeros((1, 2), np.float32),
                                  scales={"x": sx, "y": sy}, display_legend=True, line_style="dashed",
                                  stroke_width=2)
        self.mask_lines = Lines(x=np.zeros(2, np.float32), y=np.zeros((1, 2), np.float32),
                                scales={"x": sx, "y": sy}, display_legend=True, line_style="dotted",
                                colors=["#555555"], stroke_width=2)
        axes = [Axis(scale=sx, label="time (ms)"), Axis(scale=sy, side="left", label="value")]
        return Figure(marks=[self.input_lines, self.target_lines, self.mask_lines], axes=axes,
                      title="One trial: inputs, targets (dashed), mask (dotted)",
                      legend_location="top-left", layout=widgets.Layout(width="100%", height="320px"),
                      fig_margin=dict(top=40, bottom=45, left=50, right=20))

    # ------------------------------------------------------------ controls
    @traitlets.observe("locked")
    def _on_locked(self, change):
        for widget in self.controls.values():
            widget.disabled = change["new"]

    @traitlets.observe("task")
    def _on_task(self, change):
        task = change["new"]
        if task is not self._building:  # set from outside: a new class or new values
            self._make_controls(task)
        self.title.value = f"<b>Task</b>: {type(task).__name__}"
        self._draw_preview()

    def _make_controls(self, task):
        """(Re)generate ``controls`` for ``task`` from its constructor and attributes."""
        for widget in self.controls.values():
            widget.unobserve(self._on_control, names="value")
        cls = type(task)
        self.controls, self._passthrough, self._touched_extras = {}, {}, set()
        self._constructor_names, self._extra_names = [], []
        self._accepts_seed = False
        self._constructor_ok = True
        param_docs = {name: getattr(getattr(cls, name, None), "__doc__", "") or ""
                      for name in cls.parameter_names()}
        try:
            signature = inspect.signature(cls.__init__)
            parameters = list(signature.parameters.values())[1:]
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
            widget = _make_control(p.name, value, param_docs.get(p.name, ""), getattr(cls, p.name, None))
            if widget is None:
                self._passthrough[p.name] = value
            else:
                self.controls[p.name] = widget
                self._constructor_names.append(p.name)
        structural = set(cls.parameter_names()) | set(Task._CORE)
        try:
            attributes = task.get_task_params()
        except Exception:  # noqa: BLE001 - a user task with odd attributes still gets its constructor controls
            attributes = {}
        for name, value in attributes.items():
            if name in self.controls or name in self._passthrough or name in structural or name in _SKIP:
                continue
            if _is_number(value) or isinstance(value, bool):
                self.controls[name] = _make_control(name, value)
                self._extra_names.append(name)
        for widget in self.controls.values():
            widget.disabled = self.locked
            widget.observe(self._on_control, names="value")
        self.controls_box.children = list(self.controls.values())
        self._error = self._preview_error = ""
        self._warnings = []
        self._show_message()

    def _show_message(self):
        parts = [_error_html(e) for e in (self._error, self._preview_error) if e]
        parts += [_note_html(w) for w in self._warnings]
        self.message.value = "<br>".join(parts)

    def _on_control(self, change):
        if self._updating:
            return
        owner = change["owner"]
        name = next((k for k, w in self.controls.items() if w is owner), None)
        if name in self._extra_names:
            self._touched_extras.add(name)
        self.rebuild()

    # ------------------------------------------------------------ building
    def values(self):
        """Current control values, name -> Python value (Text controls parsed as literals)."""
        return {name: _read_control(w) for name, w in self.controls.items()}

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
        """Build a task from the controls and install it as ``task``; on error show ``message``.

        Returns:
            bool: True if the task was rebuilt.
        """
        try:
            new = self.build_task()
        except Exception as err:  # noqa: BLE001 - the notebook must never see it
            self._error = f"{type(err).__name__}: {err} (the task keeps its previous values)"
            self._show_message()
            return False
        self._refresh_untouched_extras(new)
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
                    if _is_number(value) or isinstance(value, bool):
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

        Drawn from a shallow copy of the task seeded with the preview seed, so the task's
        own random stream (used for training) is left alone.
        """
        task = copy.copy(self.task)
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


def _error_html(text):
    import html

    return f'<span style="color:#b00020">&#9888; {html.escape(text)}</span>'


def _note_html(text):
    import html

    return f'<span style="color:#a15c00">{html.escape(text)}</span>'


def _format_params(params):
    import html

    parts = []
    for key, value in dict(params).items():
        value = _to_python(value)
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key}={value}")
    return f'<span style="font-size:90%">{html.escape(", ".join(parts))}</span>'
