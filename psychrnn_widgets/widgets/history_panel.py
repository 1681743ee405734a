"""Runs panel: every network of the dashboard as a sortable table; compare, reproduce, share.

Displays a :class:`~psychrnn_widgets.widgets.history.RunHistory` through a
:class:`~psychrnn_widgets.widgets.run_table.RunTable`: one row per network (label, task,
model, the settings that differ between the runs, trials, wall time, final loss,
accuracy).  Click a column's header to sort by it (again: reversed).  Each row's
**compare** box chooses whether the run is drawn in the overlays -- the training panel's
curves behind the current network, and the panel's own loss and accuracy figures, which
show one task at a time (``compare_task``) so runs of different tasks are never drawn
together.  Every view draws a run in the same colour (its place in the history).  Below:
a parallel-coordinates view of the runs (settings and results, one line each) and
**Export CSV** (``<path>.csv``; :attr:`csv_text` holds the text).

For the run picked in ``choice``: **Bring back** makes it the current network; **Copy as
code** shows the self-contained cell that rebuilds it (:mod:`~psychrnn_widgets.widgets.run_code`)
in ``code``; **Save as one file** writes ``<path>.npz`` (:mod:`~psychrnn_widgets.widgets.run_files`)
and **Open** reads one (the Lab's ``open``); **Save** / **Load** keep the older pair of files
``<path>.npz`` + ``<path>.json``.  **Examples** lists the trained networks shipped with the
package, each with its card (what it was trained on, the accuracy a test checks); **Open
example** opens one.  Errors (a bad path, a corrupt file) are shown in the panel, never
raised into the notebook.

In the Lab (``lab_state=``) the list is the
:class:`~psychrnn_widgets.widgets.lab_state.LabState`'s history, redrawn when its ``run``,
``status`` or ``compared`` changes; what is compared is the state's ``compared``; Bring
back, Load and Open make a record the state's ``run`` (refused while training).
"""
import html
import time
from pathlib import Path

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

from .history import load_record, save_record
from .parallel_coordinates import ParallelCoordinates
from .run_code import reproducible, run_as_code
from .run_files import example_path, examples, open_run, save_run
from .run_table import FIXED_AFTER, RunTable

LIVE_INTERVAL_S = 1.0  # the running network's row in the table: one cell at most this often (seconds)
LIVE_STATES = ("running", "paused", "stopping")  # a run goes on: its row follows it
LIVE_SPARE = 3  # ... and only while the dashboard's message budget has this many messages left this second
# the running row's cells, one per LIVE_INTERVAL_S in this order (the trial count every other time)
LIVE_COLUMNS = ("trials", "wall time (s)", "trials", "final loss", "trials", "accuracy")

__all__ = ["HistoryPanel"]


class _Selection(traitlets.HasTraits):
    """Stand-in for the Lab's state outside a Lab: which records are compared."""

    compared = traitlets.Tuple()


def _write_text_atomic(path, text):
    from .history import _write_text_atomic as write

    write(Path(path), text)


class HistoryPanel(widgets.VBox):
    """Widgets over a ``RunHistory`` (see the module docstring).

    Args:
        history: the :class:`~psychrnn_widgets.widgets.history.RunHistory` (with ``lab_state``: None, the
            state's).
        on_bring_back: ``fn(record)`` when a network is brought back (main thread).
        on_load: ``fn(record)`` when a network is loaded from disk (main thread).
        before_save: ``fn()`` run before saving (e.g. to copy the live curves into the record).
        can_change: ``fn() -> (bool, reason)``: whether bringing back / loading is allowed now.
        lab_state: the Lab's :class:`~psychrnn_widgets.widgets.lab_state.LabState` (replaces the callbacks).

    Attributes: ``table`` (the current :class:`RunTable`), ``grid`` (GridBox), ``header_buttons``
    (``{column: Button}``), ``compare_boxes`` (one Checkbox per record, history order),
    ``sort_column``, ``sort_descending``, ``choice`` (Select of records), ``bring_back_button``,
    ``code_button``, ``code`` (Textarea), ``csv_button``, ``csv_text``, ``path`` (Text),
    ``save_button``, ``load_button``, ``save_file_button``, ``open_button``, ``example_choice``,
    ``example_card``, ``example_button``, ``compare_task`` (Dropdown), ``loss_figure``,
    ``accuracy_figure``, ``loss_lines``, ``accuracy_lines``, ``parallel``
    (:class:`~psychrnn_widgets.widgets.parallel_coordinates.ParallelCoordinates`), ``message`` (HTML).
    """

    MAX_COMPARED_LINES = 12

    def __init__(self, history=None, on_bring_back=None, on_load=None, before_save=None, can_change=None,
                 lab_state=None, updater=None, **kwargs):
        self.lab_state = lab_state
        self.updater = updater  # the Lab's shared ThrottledUpdater: the running row follows the run (_flush_live)
        self._live_last = None  # when the running row last sent a cell (time.monotonic)
        self._live_next = 0  # the LIVE_COLUMNS entry it looks at next
        if lab_state is not None:
            history = lab_state.history
            on_bring_back = on_load = lab_state.bring_back
            can_change = (lambda: (False, "stop training first") if lab_state.running else (True, ""))
        self.history = history
        self.selection = lab_state if lab_state is not None else _Selection()
        self.on_bring_back = on_bring_back
        self.on_load = on_load
        self.before_save = before_save
        self.can_change = can_change or (lambda: (True, ""))
        self.sort_column = None
        self.sort_descending = False
        self.table = RunTable([])
        self.csv_text = ""
        self.header_buttons = {}
        self.compare_boxes = []
        self._cells = []  # per record: list of HTML cells
        self._current = None

        self.grid = widgets.GridBox(layout=widgets.Layout(grid_gap="1px 10px", max_height="300px", overflow="auto",
                                                          width="100%", align_items="center"))
        self.choice = widgets.Select(options=[], rows=4, layout=widgets.Layout(width="98%"))
        self.bring_back_button = widgets.Button(description="Bring back", icon="undo",
                                                tooltip="make the selected network the current one")
        self.code_button = widgets.Button(description="Copy as code", icon="code",
                                          tooltip="a Python cell that rebuilds this run: task, network, training")
        self.code = widgets.Textarea(layout=widgets.Layout(width="98%", height="160px", display="none"))
        self.code.add_class("psychrnn-run-code")
        self.csv_button = widgets.Button(description="Export CSV", icon="table",
                                         tooltip="write the table to <file>.csv")
        self.path = widgets.Text(value="runs/my_network", description="file", style={"description_width": "initial"},
                                 layout=widgets.Layout(width="260px"), continuous_update=False,
                                 tooltip="path: <path>.npz (one file), or <path>.npz + <path>.json (Save/Load)")
        self.save_file_button = widgets.Button(description="Save as one file", icon="save",
                                               tooltip="weights, settings, task, curves and versions in <file>.npz")
        self.open_button = widgets.Button(description="Open", icon="folder-open",
                                          tooltip="open a run saved as one file (<file>.npz)")
        self.save_button = widgets.Button(description="Save", icon="save",
                                          tooltip="save the selected network as <file>.npz + <file>.json")
        self.load_button = widgets.Button(description="Load", icon="folder-open",
                                          tooltip="load <file>.npz + <file>.json as a new network")
        cards = examples()
        self.example_choice = widgets.Dropdown(options=[(card.get("title", name), name) for name, card in cards.items()],
                                               description="Examples", style={"description_width": "initial"},
                                               layout=widgets.Layout(width="340px"))
        self.example_card = widgets.HTML()
        self.example_button = widgets.Button(description="Open example", icon="graduation-cap",
                                             tooltip="open this trained network (a new run in the table)")
        self.compare_task = widgets.Dropdown(options=[], description="compare on", style={"description_width":
                                                                                             "initial"})
        self.message = widgets.HTML()
        self._build_compare_figures()
        self.parallel = ParallelCoordinates(title="runs: settings and results", width="520px", height="230px")

        self.bring_back_button.on_click(lambda _: self.bring_back())
        self.code_button.on_click(lambda _: self.copy_as_code())
        self.csv_button.on_click(lambda _: self.export_csv())
        self.save_button.on_click(lambda _: self.save())
        self.load_button.on_click(lambda _: self.load())
        self.save_file_button.on_click(lambda _: self.save_file())
        self.open_button.on_click(lambda _: self.open_file())
        self.example_button.on_click(lambda _: self.open_example())
        self.example_choice.observe(lambda _: self._show_card(), names="value")
        self.compare_task.observe(lambda _: self._draw_compared(), names="value")
        self._show_card()
        row = dict(layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        super().__init__(children=[
            widgets.HTML("<b>Runs</b>: every network built in this dashboard (&#9654; the current one). Click a "
                         "header to sort; <i>compare</i> chooses the runs the loss and accuracy overlays draw."),
            self.grid,
            self.choice,  # the run the buttons below act on (the first list of the tab)
            widgets.HBox([self.bring_back_button, self.code_button, self.path, self.save_file_button,
                          self.open_button, self.save_button, self.load_button], **row),
            self.code, self.message,
            widgets.HBox([self.example_choice, self.example_button, self.example_card], **row),
            widgets.HBox([self.csv_button, self.compare_task], **row),
            widgets.HBox([self.loss_figure, self.accuracy_figure, self.parallel], **row)], **kwargs)
        self.add_class("psychrnn-runs")
        if lab_state is not None:
            self.refresh(lab_state.run)
            lab_state.observe(lambda _: self.refresh(lab_state.run), names="run")
            # a run's end rebuilds the table from the records; while it runs, _flush_live keeps its row current
            # within the updater's message budget (a rebuild at "stopping" would send the row's cells again)
            lab_state.observe(lambda change: None if change["new"] in LIVE_STATES else self.refresh(lab_state.run),
                              names="status")
            if updater is not None:
                updater.add_flusher(self._flush_live)
            lab_state.observe(lambda _: self._show_compared(), names="compared")
        else:
            self.selection.observe(lambda _: self._show_compared(), names="compared")

    # ------------------------------------------------------------------ figures
    def _build_compare_figures(self):
        empty = np.zeros(0, np.float32)
        figures, lines = [], []
        # explicit ranges: bqplot's front-end cannot place ticks on an empty domain (NaN positions, console errors)
        for name, y_scale, fmt in (("loss", bq.LogScale(min=1e-3, max=1.0, allow_padding=False), "~g"),
                                   ("accuracy", bq.LinearScale(min=0.0, max=1.0, allow_padding=False), ".2~f")):
            scales = {"x": bq.LinearScale(min=0.0, max=1000.0, allow_padding=False), "y": y_scale}
            marks = [bq.Lines(x=empty, y=empty, scales=scales, colors=["#1f77b4"], stroke_width=1.6, visible=False,
                              labels=[""], display_legend=False) for _ in range(self.MAX_COMPARED_LINES)]
            axes = [bq.Axis(scale=scales["x"], label="trials", tick_format="~s"),
                    bq.Axis(scale=scales["y"], side="left", label=name, tick_format=fmt, label_offset="40px")]
            figures.append(bq.Figure(marks=marks, axes=axes, title=f"{name} of the compared runs",
                                     animation_duration=0, fig_margin={"top": 30, "bottom": 40, "left": 55,
                                                                       "right": 10},
                                     layout=widgets.Layout(width="330px", height="230px")))
            lines.append(marks)
        self.loss_figure, self.accuracy_figure = figures
        self.loss_lines, self.accuracy_lines = lines

    # ------------------------------------------------------------------ the table
    @property
    def compared(self):
        """The records drawn in the overlays (history order)."""
        return [r for i, r in enumerate(self.history.records) if i in self.selection.compared]

    def set_compared(self, records):
        """Compare exactly ``records`` (records or history indices)."""
        indices = []
        for item in records:
            index = item if isinstance(item, int) else next(i for i, r in enumerate(self.history.records)
                                                             if r is item)
            indices.append(int(index))
        self.selection.compared = tuple(sorted(set(indices)))

    def sort_by(self, column, descending=None):
        """Sort the table by ``column`` (None: history order); ``descending`` None toggles on a repeated column."""
        if descending is None:
            descending = (not self.sort_descending) if column == self.sort_column else False
        self.sort_column, self.sort_descending = column, bool(descending)
        self._draw_table()

    def displayed_rows(self):
        """The table's rows in the order shown."""
        return self.table.sorted_rows(self.sort_column, self.sort_descending)

    def refresh(self, current=None):
        """Rebuild the table from the history; ``current`` (a record) is marked and picked."""
        if current is None and self.lab_state is not None:
            current = self.lab_state.run
        self._current = current
        self.table = RunTable.of(self.history)
        if self.sort_column is not None and self.sort_column not in self.table.columns:
            self.sort_column = None
        options = []
        for index, record in enumerate(self.history):
            mark = "\u25b6 " if record is current else "\u2003"
            options.append((mark + record.summary(), index))
        self.choice.options = options
        if current is not None and any(r is current for r in self.history.records):
            self.choice.value = next(i for i, r in enumerate(self.history.records) if r is current)
        self._draw_table()
        self._refresh_tasks()
        self._show_compared()

    def _header(self, column):
        button = self.header_buttons.get(column)
        if button is None:
            button = widgets.Button(description=column, tooltip=f"sort by {column}",
                                    layout=widgets.Layout(width="auto", min_width="40px", height="26px"))
            button.add_class("psychrnn-runs-header")
            button.on_click(lambda _, c=column: self.sort_by(c))
            self.header_buttons[column] = button
        arrow = ("\u25bc" if self.sort_descending else "\u25b2") if column == self.sort_column else ""
        button.description = f"{column} {arrow}".strip()
        return button

    def _row_widgets(self, index, n_cells):
        while len(self.compare_boxes) <= index:
            i = len(self.compare_boxes)
            box = widgets.Checkbox(value=False, indent=False, layout=widgets.Layout(width="24px"),
                                   tooltip="draw this run in the overlays")
            box.observe(lambda change, i=i: self._on_compare_box(i, change["new"]), names="value")
            self.compare_boxes.append(box)
            self._cells.append([])
        cells = self._cells[index]
        while len(cells) < n_cells:
            cells.append(widgets.HTML(layout=widgets.Layout(margin="0")))
        del cells[n_cells:]
        return self.compare_boxes[index], cells

    def _draw_table(self):
        columns = self.table.columns
        # the first column as wide as its header ("compare" whole, not cut to the checkboxes' 28 px)
        children = [widgets.HTML("<span style='font-size:12px;white-space:nowrap'><i>compare</i></span>",
                                 layout=widgets.Layout(margin="0 4px 0 0"))] + [self._header(c) for c in columns]
        for row in self.displayed_rows():
            index = row["_index"]
            record = self.table.records[index]
            box, cells = self._row_widgets(index, len(columns))
            colour = self.table.colours[index]
            for cell, column in zip(cells, columns):
                value = row.get(column, "")
                if column == "label":
                    mark = "\u25b6 " if record is self._current else ""
                    text = (f"<span style='font-size:12px;white-space:nowrap'><span style='color:{colour};"
                            f"font-size:130%'>&#9632;</span> {mark}{html.escape(str(value))}</span>")
                else:
                    text = self._cell_html(column, value)
                if cell.value != text:
                    cell.value = text
            children.append(box)
            children.extend(cells)
        self.grid.layout.grid_template_columns = "max-content " + " ".join(["auto"] * len(columns))
        self.grid.children = children
        self._draw_parallel()

    def _flush_live(self):
        """Flusher (during a run, on the training thread): the running network's row follows the run.

        In throttled flushes only (never a forced one: a stage change or the run's end, outside
        the message budget), one cell at a time takes the value the status line and the figures
        show: at most one message every ``LIVE_INTERVAL_S`` seconds, in the order of
        ``LIVE_COLUMNS`` (the trial count every 2 s, wall time, loss and accuracy every 6 s), so
        the row adds at most one message a second to the dashboard's budget and never reads 0
        trials while the network trains.  The whole table is rebuilt from the records when the
        run ends (``status`` changes).  Returns the widget messages sent (0 or 1).
        """
        state = self.lab_state
        if state is None or state.status not in LIVE_STATES or self.updater.forcing:
            return 0
        now = time.monotonic()
        if self._live_last is not None and now - self._live_last < LIVE_INTERVAL_S:
            return 0
        spare = self.updater.spare()
        if spare is not None and spare < LIVE_SPARE:  # the figures and the status line first
            return 0
        record = state.run
        index = next((i for i, r in enumerate(self.table.records) if r is record), None)
        if index is None or index >= len(self._cells) or record.model is None:
            return 0
        for _ in range(len(LIVE_COLUMNS)):
            column = LIVE_COLUMNS[self._live_next]
            self._live_next = (self._live_next + 1) % len(LIVE_COLUMNS)
            value = self._live_value(record, column)
            if value is None or column not in self.table.columns:
                continue
            cell = self._cells[index][self.table.columns.index(column)]
            text = self._cell_html(column, value)
            if cell.value != text:
                cell.value = text
                self._live_last = now
                return 1
        return 0

    def _live_value(self, record, column):
        """The running ``record``'s value of a live column now (None: nothing to show yet)."""
        if column == "trials":  # the network's trials, all runs (what the status line shows)
            trials = self.updater.get("training/trials")
            return None if trials is None else int(trials)
        if column == "wall time (s)":
            active = self.updater.get("training/active_s")  # this Start's active seconds: the progress clock
            return None if active is None else round(record.wall_time + float(active), 1)
        _, y = self.updater.series({"final loss": "training/loss", "accuracy": "training/accuracy"}[column])
        return float(f"{float(y[-1]):.6g}") if len(y) else None

    @staticmethod
    def _cell_html(column, value):
        """One cell's HTML (a value of the table's row ``column``; the label column is drawn apart)."""
        if column in FIXED_AFTER and isinstance(value, float):
            text = f"{value:,.4g}" if column != "trials" else f"{value:,.0f}"
        elif isinstance(value, int) and not isinstance(value, bool):
            text = f"{value:,}"
        else:
            text = html.escape(str(value))
        return f"<span style='font-size:12px;white-space:nowrap'>{text}</span>"

    def _on_compare_box(self, index, value):
        compared = set(self.selection.compared)
        if value == (index in compared):
            return
        compared = compared | {index} if value else compared - {index}
        self.selection.compared = tuple(sorted(compared))

    def _show_compared(self):
        """The compare boxes and the figures follow the compared set."""
        compared = set(self.selection.compared)
        for index, box in enumerate(self.compare_boxes):
            if box.value != (index in compared):
                box.value = index in compared
        self._draw_compared()
        self._draw_parallel()

    def _task_of(self, record):
        from .history import _task_name

        return _task_name(type(record.task)) if record.task is not None else "(no task)"

    def _refresh_tasks(self):
        tasks = []
        for record in self.history.records:
            name = self._task_of(record)
            if name not in tasks:
                tasks.append(name)
        current = self.compare_task.value
        if list(self.compare_task.options) != tasks:
            self.compare_task.options = tasks
        if self._current is not None:
            self.compare_task.value = self._task_of(self._current)
        elif current in tasks:
            self.compare_task.value = current

    def _draw_compared(self):
        """The compared runs of the chosen task in the panel's loss and accuracy figures (run colours)."""
        task = self.compare_task.value
        records = [(i, r) for i, r in enumerate(self.history.records)
                   if i in self.selection.compared and self._task_of(r) == task][-self.MAX_COMPARED_LINES:]
        for name, lines in (("loss", self.loss_lines), ("accuracy", self.accuracy_lines)):
            x_max = 0.0
            for k, line in enumerate(lines):
                with line.hold_sync():
                    if k < len(records):
                        index, record = records[k]
                        x, y = record.curves[name]
                        if name == "loss":
                            keep = np.asarray(y) > 0
                            x, y = np.asarray(x)[keep], np.asarray(y)[keep]
                        line.x, line.y = np.asarray(x, np.float32), np.asarray(y, np.float32)
                        line.colors = [self.history.colour_of(record)]
                        line.labels = [record.label]
                        line.visible = bool(len(x))
                        x_max = max(x_max, float(np.max(x)) if len(x) else 0.0)
                    else:
                        line.visible = False
                        line.x, line.y = np.zeros(0, np.float32), np.zeros(0, np.float32)
            scale = lines[0].scales["x"]
            bound = float(x_max * 1.02) if x_max > 0 else 1000.0
            if scale.max != bound:
                with scale.hold_sync():
                    scale.min, scale.max = 0.0, bound
            if name == "loss":
                values = np.concatenate([np.asarray(line.y, np.float64) for line in lines if line.visible]
                                        or [np.zeros(0)])
                values = values[np.isfinite(values) & (values > 0)]
                low, high = ((10 ** np.floor(np.log10(values.min())), 10 ** np.ceil(np.log10(values.max())))
                             if len(values) else (1e-3, 1.0))
                high = high * 10 if high <= low else high
                y_scale = lines[0].scales["y"]
                if (y_scale.min, y_scale.max) != (low, high):
                    with y_scale.hold_sync():
                        y_scale.min, y_scale.max = float(low), float(high)

    def _draw_parallel(self):
        table = self.table
        if not table.rows:
            self.parallel.set_data([], [])
            return
        columns = [c for c in table.columns if c not in ("label",)]
        compared = set(self.selection.compared)
        colours = [colour if row["_index"] in compared else "#cccccc"
                   for row, colour in zip(table.rows, table.colours)]
        self.parallel.set_data(columns, table.rows, colours, [r["label"] for r in table.rows])

    # ------------------------------------------------------------------ messages
    def _say(self, text, error=False):
        colour = "#b00020" if error else "#2a7d2a"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def _show_card(self):
        name = self.example_choice.value
        card = examples().get(name) if name else None
        if not card:
            self.example_card.value = "<i style='color:#777'>no examples shipped</i>" if not name else ""
            return
        self.example_card.value = (f"<span style='font-size:90%'>{html.escape(card.get('summary', ''))} · "
                                   f"<b>accuracy {float(card.get('accuracy', 0.0)):.3f}</b></span>")

    def selected(self):
        value = self.choice.value
        return None if value is None else self.history[value]

    def _picked(self):
        """The selected record, or None after saying that an action needs one."""
        record = self.selected()
        if record is None:
            self._say("select a network first", error=True)
        return record

    # ------------------------------------------------------------------ actions
    def export_csv(self, path=None):
        """Write the table (in the order shown) to ``<path>.csv``; returns the text (also in :attr:`csv_text`)."""
        self.csv_text = self.table.to_csv(self.sort_column, self.sort_descending)
        target = Path(path if path is not None else self.path.value)
        if target.suffix != ".csv":
            target = target.with_name(target.name + ".csv")
        try:
            _write_text_atomic(target.expanduser(), self.csv_text)
        except Exception as error:  # noqa: BLE001 - shown, never raised into the notebook
            self._say(f"not written: {type(error).__name__}: {error}", error=True)
            return self.csv_text
        self._say(f"wrote {len(self.table.rows)} runs to {target}")
        return self.csv_text

    def copy_as_code(self):
        """Show (and return) the cell that rebuilds the picked run."""
        record = self._picked()
        if record is None:
            return None
        try:
            text = run_as_code(record)
        except Exception as error:  # noqa: BLE001 - shown, never raised into the notebook
            self._say(f"no code: {type(error).__name__}: {error}", error=True)
            return None
        self.code.value = text
        self.code.layout.display = None
        ok, reason = reproducible(record)
        self._say(f"the cell below rebuilds {record.label}: copy it into a notebook" if ok else
                  f"the cell rebuilds {record.label}'s task and network, not its training: {reason}")
        return text

    def bring_back(self):
        record = self._picked()
        if record is None:
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
        record = self._picked()
        if record is None:
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

    def save_file(self, path=None):
        """Save the picked run as one file (``<path>.npz``); returns the path written (None on error)."""
        record = self._picked()
        if record is None:
            return None
        try:
            if self.before_save is not None:
                self.before_save()
            written = save_run(record, path if path is not None else self.path.value)
        except Exception as error:  # noqa: BLE001 - shown, never raised into the notebook
            self._say(f"not saved: {type(error).__name__}: {error}", error=True)
            return None
        self._say(f"saved {record.label} to {written}")
        return written

    def _adopt(self, record, source):
        """A record read from ``source`` joins the history (a distinct label) and becomes current."""
        if self.lab_state is None:  # in the Lab, the state gives it a distinct label (``... (loaded)``)
            record.label = self.history.unique_label(record.label)
        if not any(r is record for r in self.history.records):
            self.history.records.append(record)
        if self.on_load is not None:
            self.on_load(record)
        else:
            self.refresh(record)
        self._say(f"opened {record.label} from {source}")
        return record

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
        self._adopt(record, self.path.value)
        self._say(f"loaded {record.label} from {self.path.value}")
        return record

    def open_file(self, path=None, raise_errors=False):
        """Open a run saved as one file; returns its record (None on error, unless ``raise_errors``)."""
        allowed, reason = self.can_change()
        if not allowed:
            if raise_errors:
                raise RuntimeError(reason)
            self._say(reason, error=True)
            return None
        path = path if path is not None else self.path.value
        try:
            record = open_run(path, name=f"opened_{len(self.history) + 1}")
        except Exception as error:  # noqa: BLE001 - shown, never raised into the notebook
            if raise_errors:
                raise
            self._say(f"not opened: {type(error).__name__}: {error}", error=True)
            return None
        return self._adopt(record, path)

    def open_example(self, name=None, raise_errors=False):
        """Open a shipped example (``name``: its task's name; default the one picked); returns its record."""
        name = name if name is not None else self.example_choice.value
        try:
            path = example_path(name)
        except Exception as error:  # noqa: BLE001 - shown, never raised into the notebook
            if raise_errors:
                raise
            self._say(f"not opened: {error}", error=True)
            return None
        record = self.open_file(path, raise_errors=raise_errors)
        if record is not None:
            record.origin = f"example {name}"
        return record
