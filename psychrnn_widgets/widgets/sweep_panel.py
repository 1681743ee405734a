"""Sweep panel: a table of a sweep's runs, the loss curves of the running ones, and Open for a finished one.

    panel = SweepPanel(sweep, lab=lab)     # lab: a Lab whose Analysis tab opens finished runs (optional)
    panel              # press Start (or panel.start(n_workers=2)); Stop cancels what has not started

The sweep runs on its own background thread (:meth:`Sweep.start
<psychrnn_widgets.sweeps.sweep.Sweep.start>`); its listener stores each run's state in a
:class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater` and calls ``maybe_flush()``
(at most ~10 widget updates per second, curves float32 and downsampled to 5,000 points,
one final flush when the sweep ends).  The thread only sets values of output widgets (the
table, the curves, the status line); the list of finished runs (a control) is updated on
the main thread through a :class:`~psychrnn_widgets.widgets.main_thread.MainThreadQueue`.

**Open in dashboard** loads the picked finished run's network from the registry (an
ordinary ``Basic``) and, given a ``lab``, adds it to the dashboard's history and makes it
the current network through the Lab's shared state (its Analysis tab analyses a trained
network brought back by itself), then shows the Analysis tab; ``on_open(model, task,
state)`` replaces that behaviour.  The run opened last is :attr:`SweepPanel.opened`.

Keys this panel stores in its updater: ``sweep/states`` (``{run_id: row dict}``),
``sweep/summary`` (status line) and one history series ``sweep/loss/<run_id>`` per run
(x = trials, y = loss).
"""
import html
import threading

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from .main_thread import MainThreadQueue
from .parallel_coordinates import ParallelCoordinates
from .throttle import ThrottledUpdater

__all__ = ["SweepPanel"]

_STATUS_COLOURS = {"queued": "#777", "running": "#1f77b4", "finished": "#2ca02c", "failed": "#d62728",
                   "diverged": "#ff7f0e", "missing": "#999"}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")


def _fmt(value, spec):
    return "–" if value is None else format(value, spec)


def _values_text(values):
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "–"


class SweepPanel(widgets.VBox):
    """Follow a :class:`~psychrnn_widgets.sweeps.sweep.Sweep`; see the module docstring.

    Args:
        sweep: the sweep.
        lab: a :class:`~psychrnn_widgets.widgets.lab.Lab` to open finished runs in (optional).
        on_open: ``fn(model, task, state)`` called on Open instead of the lab's Analysis tab.
        updater: a shared :class:`ThrottledUpdater` (default: a new one at 10 Hz).
        max_curves: most loss curves drawn at once (the running runs first).
        run_options: keyword arguments of ``Sweep.start`` used by the Start button
            (``client``, ``n_workers``, ``in_process``...).

    Public attributes: ``start_button, stop_button, status`` (HTML), ``table`` (HTML), ``parallel``
    (:class:`~psychrnn_widgets.widgets.parallel_coordinates.ParallelCoordinates` over the runs with a result:
    swept values, final loss, accuracy; refreshed on the main thread when a run finishes),
    ``loss_figure``, ``loss_lines`` (bqplot Lines, one per curve slot), ``run_picker``
    (Dropdown of finished runs), ``open_button``, ``message`` (HTML), ``execution`` (the
    running or last :class:`~psychrnn_widgets.sweeps.execution.SweepExecution`),
    ``opened`` (the model opened last), ``updater``.
    """

    def __init__(self, sweep, lab=None, on_open=None, updater=None, max_curves=12, run_options=None, **kwargs):
        self.sweep = sweep
        self.lab = lab
        self.on_open = on_open
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10)
        self.run_options = dict(run_options or {})
        self.max_curves = int(max_curves)
        self.execution = None
        self.opened = None
        self._lock = threading.RLock()
        self.main_thread = MainThreadQueue(self._lock)
        self._appended = {}  # run_id -> curve points already appended to the updater
        self._slots = [None] * self.max_curves  # run_id drawn by each line
        self._specs = {run.run_id: run for run in sweep.runs}

        self.start_button = widgets.Button(description="Start", icon="play", button_style="success",
                                           tooltip="train every run that is not finished yet")
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger", disabled=True,
                                          tooltip="cancel the groups that have not started")
        self.status = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(max_height="320px", overflow="auto"))
        scales = {"x": bq.LinearScale(min=0.0, allow_padding=False), "y": bq.LogScale()}
        self.loss_lines = [bq.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), scales=scales,
                                    colors=[_PALETTE[i % len(_PALETTE)]], stroke_width=1.5, labels=[""],
                                    display_legend=False) for i in range(self.max_curves)]
        axes = [bq.Axis(scale=scales["x"], label="trials", tick_format="~s"),
                bq.Axis(scale=scales["y"], side="left", label="loss", tick_format="~g")]
        self.loss_figure = bq.Figure(marks=self.loss_lines, axes=axes, title="loss of the running runs",
                                     animation_duration=0, fig_margin={"top": 30, "bottom": 40, "left": 55,
                                                                       "right": 10},
                                     layout=widgets.Layout(width="420px", height="260px"))
        self.run_picker = widgets.Dropdown(options=[], description="finished run", style={"description_width":
                                                                                             "initial"})
        self.open_button = widgets.Button(description="Open in dashboard", icon="external-link",
                                          tooltip="load the run's trained network (Analysis tab of the dashboard)")
        self.message = widgets.HTML()
        self.parallel = ParallelCoordinates(title="runs of the sweep: hyperparameters and results", width="100%")
        self.start_button.on_click(lambda _: self.start(**self.run_options))
        self.stop_button.on_click(lambda _: self.stop())
        self.open_button.on_click(lambda _: self.open())
        self.updater.add_flusher(self._flush)
        self._load_records()
        super().__init__(children=[
            widgets.HBox([self.start_button, self.stop_button, self.status]),
            widgets.HBox([self.table, self.loss_figure], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.run_picker, self.open_button, self.message]),
            self.parallel,
        ], **kwargs)
        self._flush()
        self._refresh_picker()

    # ---------------------------------------------------------------- control
    def start(self, **run_options):
        """Run the sweep on its background thread (``Sweep.start`` arguments); False if one is running."""
        if self.running:
            return False
        options = dict(self.run_options, **run_options)
        self.execution = self.sweep.execution(listeners=[self._on_run], **options)
        self.execution.add_end_listener(self._on_end)
        for state in self.execution.states.values():
            self._appended.pop(state.run_id, None)
            self.updater.clear_series(f"sweep/loss/{state.run_id}")
        self._slots = [None] * self.max_curves
        self.start_button.disabled, self.stop_button.disabled = True, False
        self.execution.start()
        return True

    def attach(self, execution):
        """Follow an execution started elsewhere (``sweep.start(...)``)."""
        self.execution = execution
        execution.add_listener(self._on_run)
        execution.add_end_listener(self._on_end)
        for state in execution.states.values():
            self._on_run(state)

    @property
    def running(self):
        return self.execution is not None and not self.execution.done.is_set()

    def stop(self):
        """Cancel the groups that have not started (they stay ``queued`` for the next Start)."""
        if self.execution is not None:
            self.execution.stop()

    def wait(self, timeout=None):
        """Block until the sweep has ended (or ``timeout`` s); then flush and refresh; True if it ended."""
        ended = self.execution is None or self.execution.wait(timeout)
        if ended:
            self.main_thread.drain()
            self.updater.flush()
        return ended

    # ------------------------------------------------------------- from the sweep
    def _load_records(self):
        """Rows from the registry (a sweep run before, or not yet)."""
        rows = {}
        for run, record in zip(self.sweep.runs, self.sweep.records()):
            record = record or {}
            rows[run.run_id] = {"index": run.index, "values": run.values, "seed": run.seed,
                                "status": record.get("status", "missing"), "attempts": record.get("attempts", 0),
                                "epoch": None, "loss": None, "accuracy": record.get("final_accuracy"),
                                "final": record.get("final_accuracy") is not None}
        self.updater.push("sweep/states", rows)

    def _on_end(self, execution):
        """The pass ended (its driving thread): the final flush; the buttons and the picker on the main thread."""
        self.updater.flush()
        self.main_thread.post(self._ended)

    def _on_run(self, state):
        """Listener of the execution (its driving thread): store, then a throttled flush."""
        rows = dict(self.updater.get("sweep/states") or {})
        final = state.status in ("finished", "diverged", "failed")
        rows[state.run_id] = {"index": state.index, "values": state.values, "seed": state.seed,
                              "status": state.status, "attempts": state.attempts, "epoch": state.epoch,
                              "loss": state.loss,
                              "accuracy": state.final_accuracy if final else state.accuracy, "final": final}
        self.updater.push("sweep/states", rows)
        curve = list(state.curve)
        done = self._appended.get(state.run_id, 0)
        if len(curve) < done:  # a retried run starts its curve again
            self.updater.clear_series(f"sweep/loss/{state.run_id}")
            done = 0
        for trials, loss in curve[done:]:
            if loss is not None and loss > 0:
                self.updater.append(f"sweep/loss/{state.run_id}", trials, loss)
        self._appended[state.run_id] = len(curve)
        if final:
            self.main_thread.post(self._refresh_picker)
        self.updater.maybe_flush()

    def _ended(self):
        self.start_button.disabled, self.stop_button.disabled = False, True
        self._refresh_picker()

    # ------------------------------------------------------------------ views
    def _flush(self):
        """Flusher: the status line, the table and the curves (x and y together)."""
        rows = self.updater.get("sweep/states") or {}
        counts = {}
        for row in rows.values():
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        summary = " · ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        if self.execution is not None and self.execution.error is not None:
            summary += f" · <span style='color:#d62728'>stopped: {html.escape(str(self.execution.error))}</span>"
        self.status.value = f"<b>{len(rows)} runs</b> · {summary}"
        self.table.value = self._table_html(rows)
        self._assign_slots(rows)
        changed = 3
        for line, run_id in zip(self.loss_lines, self._slots):
            x, y = self.updater.series(f"sweep/loss/{run_id}") if run_id else (np.zeros(0, np.float32),) * 2
            label = f"#{rows[run_id]['index']}" if run_id in rows else ""
            running = run_id is not None and rows.get(run_id, {}).get("status") == "running"
            with line.hold_sync():
                line.x, line.y, line.labels = x, y, [label]
                line.opacities = [1.0 if running else 0.35]
            changed += 1
        return changed

    def _assign_slots(self, rows):
        """Running runs get a line (keeping the one they have); finished runs keep theirs until it is needed."""
        running = [run_id for run_id, row in rows.items() if row["status"] == "running"]
        for run_id in running:
            if run_id in self._slots:
                continue
            free = [i for i, held in enumerate(self._slots)
                    if held is None or rows.get(held, {}).get("status") != "running"]
            if not free:
                break
            self._slots[free[0]] = run_id

    @staticmethod
    def _table_html(rows):
        head = ("<tr><th>#</th><th>values</th><th>seed</th><th>status</th><th>attempts</th><th>epoch</th>"
                "<th>loss</th><th>accuracy</th></tr>")
        body = []
        for row in sorted(rows.values(), key=lambda r: r["index"]):
            colour = _STATUS_COLOURS.get(row["status"], "#000")
            accuracy = _fmt(row["accuracy"], ".3f") + (" (final)" if row["final"] and row["accuracy"] is not None
                                                        else "")
            body.append(
                f"<tr><td>{row['index']}</td><td>{html.escape(_values_text(row['values']))}</td>"
                f"<td>{str(row['seed'])[:8]}…</td><td style='color:{colour}'><b>{row['status']}</b></td>"
                f"<td>{row['attempts']}</td><td>{_fmt(row['epoch'], 'd')}</td><td>{_fmt(row['loss'], '.4g')}</td>"
                f"<td>{accuracy}</td></tr>")
        return ("<table style='border-collapse:collapse;font-size:12px' cellpadding='3'>" + head + "".join(body)
                + "</table>")

    # -------------------------------------------------------------------- open
    def parallel_rows(self):
        """``(columns, rows, colours, labels)`` of the parallel-coordinates view: one row per run of the registry
        with a result (its swept values, seed, final loss and accuracy), in run order."""
        rows = self.updater.get("sweep/states") or {}
        columns, out, colours, labels = [], [], [], []
        for run_id, row in sorted(rows.items(), key=lambda item: item[1]["index"]):
            if row["status"] not in ("finished", "diverged", "failed") and row.get("loss") is None:
                continue
            entry = dict(row["values"])
            for key in entry:
                if key not in columns:
                    columns.append(key)
            entry["final loss"] = "" if row.get("loss") is None else row["loss"]
            entry["accuracy"] = "" if row.get("accuracy") is None else row["accuracy"]
            out.append(entry)
            colours.append(_PALETTE[row["index"] % len(_PALETTE)] if row["status"] == "finished"
                           else _STATUS_COLOURS.get(row["status"], "#999"))
            labels.append(f"#{row['index']}")
        return columns + ["final loss", "accuracy"], out, colours, labels

    def _refresh_parallel(self):
        columns, rows, colours, labels = self.parallel_rows()
        self.parallel.set_data(columns if rows else [], rows, colours, labels)

    def _refresh_picker(self):
        """The finished runs in the picker and the parallel coordinates (main thread)."""
        self._refresh_parallel()
        rows = self.updater.get("sweep/states") or {}
        options = [(f"#{row['index']} · {_values_text(row['values'])} · acc {_fmt(row['accuracy'], '.2f')}", run_id)
                   for run_id, row in sorted(rows.items(), key=lambda item: item[1]["index"])
                   if row["status"] == "finished"]
        if [value for _, value in options] != [value for _, value in self.run_picker.options]:
            current = self.run_picker.value
            self.run_picker.options = options
            if current in [value for _, value in options]:
                self.run_picker.value = current

    def open(self, run_id=None):
        """Load a finished run's network and show it (the lab's Analysis tab, or ``on_open``); returns the model."""
        run_id = run_id if run_id is not None else self.run_picker.value
        if run_id is None:
            self.message.value = "no finished run to open yet"
            return None
        spec = self._specs[run_id]
        model = self.sweep.registry.model(run_id)
        task = spec.build_task()
        self.opened = model
        label = f"sweep run #{spec.index} ({_values_text(spec.values)})"
        if self.on_open is not None:
            self.on_open(model, task, (self.updater.get("sweep/states") or {}).get(run_id))
        elif self.lab is not None:
            state = self.lab.state  # the dashboard's shared state: its Analysis tab follows the run brought back
            record = state.history.add(model, dict(spec.network_params, seed=spec.seed), task, label=label)
            if not state.bring_back(record):
                state.history.records.remove(record)
                self.message.value = "stop the dashboard's training first, then open the run again"
                return model
            tabs = self.lab.view_tabs
            tabs.selected_index = list(tabs.children).index(self.lab.analysis)
        self.message.value = f"opened {html.escape(label)}"
        return model
