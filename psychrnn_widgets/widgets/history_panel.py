"""History panel: the networks the dashboard built, bring one back, save one, load one.

Displays a :class:`~psychrnn_widgets.widgets.history.RunHistory`: one row per network
(label, trials trained, last loss).  **Bring back** makes the selected network the
current one (the dashboard decides what that means: see ``Lab.bring_back``); **Save**
writes the selected network's weights and history to ``<path>.npz`` and ``<path>.json``;
**Load** reads such a pair and adds it to the history as the current network.  Errors
(a bad path, a corrupt file) are shown in the panel, never raised into the notebook.

In the Lab (``lab_state=``) the list is the
:class:`~psychrnn_widgets.widgets.lab_state.LabState`'s history, redrawn when its ``run``
or ``status`` changes; Bring back and Load make a record the state's ``run`` (refused
while training).
"""
import html

import ipywidgets as widgets

from .history import load_record, save_record

__all__ = ["HistoryPanel"]


class HistoryPanel(widgets.VBox):
    """Widgets over a ``RunHistory``.

    Args:
        history: the :class:`~psychrnn_widgets.widgets.history.RunHistory` (with ``lab_state``: None, the
            state's).
        on_bring_back: ``fn(record)`` when a network is brought back (main thread).
        on_load: ``fn(record)`` when a network is loaded from disk (main thread).
        before_save: ``fn()`` run before saving (e.g. to copy the live curves into the record).
        can_change: ``fn() -> (bool, reason)``: whether bringing back / loading is allowed now.
        lab_state: the Lab's :class:`~psychrnn_widgets.widgets.lab_state.LabState` (replaces the callbacks).

    Attributes: ``choice`` (Select of records), ``bring_back_button``, ``path`` (Text),
    ``save_button``, ``load_button``, ``message`` (HTML).
    """

    def __init__(self, history=None, on_bring_back=None, on_load=None, before_save=None, can_change=None,
                 lab_state=None, **kwargs):
        self.lab_state = lab_state
        if lab_state is not None:
            history = lab_state.history
            on_bring_back = on_load = lab_state.bring_back
            can_change = (lambda: (False, "stop training first") if lab_state.running else (True, ""))
        self.history = history
        self.on_bring_back = on_bring_back
        self.on_load = on_load
        self.before_save = before_save
        self.can_change = can_change or (lambda: (True, ""))
        self.choice = widgets.Select(options=[], rows=5, layout=widgets.Layout(width="98%"))
        self.bring_back_button = widgets.Button(description="Bring back", icon="undo",
                                                tooltip="make the selected network the current one")
        self.path = widgets.Text(value="runs/my_network", description="file", style={"description_width": "initial"},
                                 layout=widgets.Layout(width="260px"), continuous_update=False,
                                 tooltip="path without suffix: <path>.npz (weights) and <path>.json (history)")
        self.save_button = widgets.Button(description="Save", icon="save", tooltip="save the selected network")
        self.load_button = widgets.Button(description="Load", icon="folder-open",
                                          tooltip="load <path>.npz/.json as a new network")
        self.message = widgets.HTML()
        self.bring_back_button.on_click(lambda _: self.bring_back())
        self.save_button.on_click(lambda _: self.save())
        self.load_button.on_click(lambda _: self.load())
        super().__init__(children=[
            widgets.HTML("<b>Networks</b> built in this dashboard (the current one is marked &#9654;)"),
            self.choice, self.bring_back_button,
            widgets.HBox([self.path, self.save_button, self.load_button], layout=widgets.Layout(flex_flow="row wrap")),
            self.message], **kwargs)
        if lab_state is not None:
            self.refresh(lab_state.run)
            lab_state.observe(lambda _: self.refresh(lab_state.run), names=["run", "status"])

    def refresh(self, current=None):
        """Redraw the list; ``current`` (a record) is marked and selected."""
        options = []
        for index, record in enumerate(self.history):
            mark = "\u25b6 " if record is current else "\u2003"
            options.append((mark + record.summary(), index))
        self.choice.options = options
        if current is not None and current in self.history.records:
            self.choice.value = self.history.records.index(current)

    def _say(self, text, error=False):
        colour = "#b00020" if error else "#2a7d2a"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def selected(self):
        value = self.choice.value
        return None if value is None else self.history[value]

    def bring_back(self):
        record = self.selected()
        if record is None:
            self._say("select a network first", error=True)
            return None
        allowed, reason = self.can_change()
        if not allowed:
            self._say(reason, error=True)
            return None
        if self.on_bring_back is not None:
            self.on_bring_back(record)
        self._say(f"{record.label} is the current network again")
        return record

    def save(self):
        record = self.selected()
        if record is None:
            self._say("select a network first", error=True)
            return None
        try:
            if self.before_save is not None:
                self.before_save()
            paths = save_record(record, self.path.value)
        except Exception as error:  # noqa: BLE001 - shown, never raised into the notebook
            self._say(f"not saved: {type(error).__name__}: {error}", error=True)
            return None
        self._say(f"saved {record.label} to {paths[0]} and {paths[1].name}")
        return paths

    def load(self):
        allowed, reason = self.can_change()
        if not allowed:
            self._say(reason, error=True)
            return None
        try:
            record = load_record(self.path.value, name=f"loaded_{len(self.history) + 1}")
        except Exception as error:  # noqa: BLE001 - shown, never raised into the notebook
            self._say(f"not loaded: {type(error).__name__}: {error}", error=True)
            return None
        if record not in self.history.records:
            self.history.records.append(record)
        if self.on_load is not None:
            self.on_load(record)
        self._say(f"loaded {record.label} from {self.path.value}")
        return record
