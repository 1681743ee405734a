"""One control per declared parameter: input, plain-language label, PsychRNN's name, help, refusal.

:class:`ParameterControl` turns a :class:`~psychrnn_widgets.params.Parameter` into a small
widget: the plain label with PsychRNN's name on a second line (so code and UI speak the
same words), the help text as a tooltip, and the input.  Every value typed is validated
by the declaration itself: a value that cannot be right (NaN, inf, negative, out of
range, wrong type) is refused *in the control* -- the reason is shown beside it and
:attr:`ParameterControl.value` keeps the last valid value -- so it never reaches a model.
Nothing here knows a range: it all comes from the declaration.
"""
import html

import ipywidgets as widgets
import traitlets

from ..errors import ParameterError

__all__ = ["ParameterControl", "label_html"]

_STYLE = {"description_width": "0px"}


def label_html(parameter):
    """Label HTML: the plain-language label, PsychRNN's name under it, the help as a tooltip."""
    title = html.escape(parameter.describe(), quote=True)
    label = html.escape(parameter.display_label)
    name = html.escape(parameter.name)
    second = "" if parameter.display_label == parameter.name else (
        f"<br><code style='font-size:85%;color:#666'>{name}</code>")
    return f"<span title='{title}' style='line-height:1.1'>{label}{second}</span>"


def _input_for(parameter, value, width, options):
    kind = parameter.kind
    common = dict(layout=widgets.Layout(width=width), style=_STYLE, tooltip=parameter.describe())
    if options is not None:
        return widgets.Dropdown(options=options, value=value, **common)
    if kind == "bool":
        return widgets.Checkbox(value=bool(value), indent=False, **common)
    if kind == "choice":
        return widgets.Dropdown(options=list(parameter.choices), value=value, **common)
    if kind in ("int", "seed"):
        return widgets.IntText(value=int(value or 0), **common)
    if kind == "float":
        return widgets.FloatText(value=float(value), **common)
    return widgets.Text(value="" if value is None else str(value), continuous_update=False, **common)


class ParameterControl(widgets.VBox):
    """A control for one declared parameter.

    Args:
        parameter: the :class:`~psychrnn_widgets.params.Parameter`.
        value: the starting value (must be valid).
        where: how errors name the parameter's source (``'network_params'``, a task's class).
        width: width of the input.
        options: Dropdown options ``[(label, value), ...]`` overriding the declaration's
            choices (the value chosen is still validated by the declaration).
        convert: ``fn(raw) -> value`` applied to the input before validation (e.g. a
            panel's own encoding); default identity.

    Traits:
        value: the last valid value (what the panel uses).
        valid (bool): whether the input currently holds a valid value.
        error (str): the reason the input was refused ('' when valid).

    Attributes:
        parameter, input (the ipywidget), label (HTML), message (HTML: the refusal reason).
    """

    value = traitlets.Any()
    valid = traitlets.Bool(True)
    error = traitlets.Unicode("")
    disabled = traitlets.Bool(False)

    def __init__(self, parameter, value, where="network_params", width="120px", options=None, convert=None,
                 **kwargs):
        self.parameter = parameter
        self.where = where
        self.convert = convert or (lambda raw: raw)
        self.input = _input_for(parameter, value, width, options)
        self.label = widgets.HTML(label_html(parameter))
        self.message = widgets.HTML(layout=widgets.Layout(max_width="260px"))
        super().__init__(children=[self.label, self.input, self.message],
                         layout=widgets.Layout(margin="0 8px 4px 0", width="auto"), **kwargs)
        self.value = parameter.default
        self._on_input({"new": self.input.value})  # a starting value that cannot be right is refused too
        self.input.observe(self._on_input, names="value")

    def _on_input(self, change):
        try:
            value = self.parameter.validate(self.convert(change["new"]), self.where)
        except ParameterError as error:
            self.error = str(error)
            self.message.value = (f"<span style='color:#b00020;font-size:85%'>&#9888; must be "
                                  f"{html.escape(error.allowed or str(error))}</span>")
            self.valid = False
            return
        self.error = ""
        self.message.value = ""
        self.valid = True
        self.value = value

    @traitlets.observe("disabled")
    def _set_disabled(self, change):
        self.input.disabled = change["new"]

    def set(self, value):
        """Set the input (from code); validated like typed input."""
        self.input.value = value
