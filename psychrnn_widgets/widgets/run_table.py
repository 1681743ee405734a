"""The Runs table's content: one row per network of a history, the settings that differ, sorting, CSV.

No widgets here (:class:`~psychrnn_widgets.widgets.history_panel.HistoryPanel` displays it)::

    table = RunTable.of(lab.history)
    table.columns            # ['label', 'task', 'model', 'N_rec', 'learning_rate', 'trials', 'wall time (s)', ...]
    table.sorted_rows("final loss")
    table.to_csv()           # csv.DictReader(io.StringIO(text)) gives the rows back

Columns: ``label``, ``task`` (registered name), ``model``, then every setting whose value
differs between the rows (network settings by their PsychRNN names, masks as the fraction
of connections kept, the learning rates trained with, and task parameters as
``task.<name>``), then ``trials``, ``wall time (s)``, ``final loss`` and ``accuracy``
(the last recorded values; empty when none).  A setting a row does not have is empty.
"""
from __future__ import annotations

import csv
import io
import math

import numpy as np

from .history import _task_name, registered_name

__all__ = ["RunTable", "FIXED_BEFORE", "FIXED_AFTER", "run_settings"]

FIXED_BEFORE = ("label", "task", "model")
FIXED_AFTER = ("trials", "wall time (s)", "final loss", "accuracy")
_TASK_SKIP = ("alpha", "N_steps", "N_in", "N_out")


def _cell(value):
    """A table cell for a setting: numbers and text as they are, arrays summarised, sequences joined."""
    if isinstance(value, np.ndarray):
        if value.size and set(np.unique(value).tolist()) <= {0.0, 1.0}:
            return f"{100 * float(np.mean(value)):.0f}% kept"
        return f"array {value.shape}"
    if isinstance(value, (list, tuple)):
        return " / ".join(str(_cell(v)) for v in value)
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if value is None:
        return "none"
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return value


def run_settings(record):
    """``{column: value}``: a record's network settings, learning rates and task parameters (``task.<name>``)."""
    settings = {str(key): _cell(value) for key, value in record.network_params.items() if key != "name"}
    rates = record.learning_rates
    if rates:
        settings["learning_rate"] = rates[0] if len(rates) == 1 else " → ".join(f"{r:g}" for r in rates)
    if record.task is not None:
        for key, value in record.task.get_task_params().items():
            if key not in _TASK_SKIP and not isinstance(value, np.ndarray):
                settings[f"task.{key}"] = _cell(value)
    return settings


class RunTable:
    """Rows and columns of a list of records (see the module docstring).

    Attributes: ``records`` (in history order), ``colours`` (one per record), ``rows``
    (one dict per record, keyed by column, plus ``'_index'``), ``columns``, ``varying``
    (the setting columns).
    """

    def __init__(self, records, colours=None):
        from ..training.trainer import Trainer

        self.records = list(records)
        self.colours = list(colours or ["#555555"] * len(self.records))
        settings = [run_settings(r) for r in self.records]
        keys = []
        for s in settings:
            keys.extend(k for k in s if k not in keys)
        self.varying = [k for k in keys if len({repr(s.get(k, "")) for s in settings}) > 1]
        self.columns = [*FIXED_BEFORE, *self.varying, *FIXED_AFTER]
        self.rows = []
        for index, (record, s) in enumerate(zip(self.records, settings)):
            model = record.model
            row = {"_index": index, "label": record.label,
                   "task": _task_name(type(record.task)) if record.task is not None else "",
                   "model": registered_name(type(model)) if model is not None else ""}
            row.update({k: s.get(k, "") for k in self.varying})
            loss, accuracy = record.final("loss"), record.final("accuracy")
            row.update({"trials": Trainer.of(model).trials if model is not None else 0,
                        "wall time (s)": round(record.wall_time, 1),
                        "final loss": "" if loss is None else float(f"{loss:.6g}"),
                        "accuracy": "" if accuracy is None else float(f"{accuracy:.6g}")})
            self.rows.append(row)

    @classmethod
    def of(cls, history):
        """The table of a :class:`~psychrnn_widgets.widgets.history.RunHistory` (its colours included)."""
        return cls(history.records, [history.colour_of(r) for r in history.records])

    def sorted_rows(self, column=None, descending=False):
        """The rows sorted by ``column`` (None: history order); empty cells last, numbers before text."""
        if column is None:
            return list(self.rows)
        if column not in self.columns:
            raise KeyError(f"no column {column!r}; the columns are {', '.join(self.columns)}")

        def key(row):
            value = row.get(column, "")
            if value == "" or value is None:
                return (2, 0.0, "")
            if isinstance(value, bool):
                return (0, float(value), "")
            if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
                return (0, float(value), "")
            return (1, 0.0, str(value))

        filled = [r for r in self.rows if key(r)[0] < 2]
        empty = [r for r in self.rows if key(r)[0] == 2]
        return sorted(filled, key=key, reverse=descending) + empty

    def to_csv(self, column=None, descending=False):
        """The table as CSV text (header row, then the rows in the given order)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.sorted_rows(column, descending):
            writer.writerow({k: row.get(k, "") for k in self.columns})
        return buffer.getvalue()
