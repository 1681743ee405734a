"""Curriculum panel: the stages, the current one highlighted, metric vs threshold, manual stepping.

Follows :meth:`Curriculum.observe` events, which arrive from the training thread during a
run (metric checks, automatic advances).  Those never touch widgets directly: they record
the value and go through the shared :class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater`
(at most ``max_rate_hz`` redraws a second, plain value assignments only, no printing).
Events caused on the main thread (buttons, threshold edits, a manual ``metric_test``)
redraw the panel at once.
"""
from __future__ import annotations

import html
import itertools
import threading

import ipywidgets as widgets
import numpy as np
import traitlets

from psychrnn_widgets.widgets.throttle import ThrottledUpdater

__all__ = ["CurriculumPanel"]

_ids = itertools.count()


def _stage_descriptions(tasks):
    """One short text per task: its class and the parameters that differ between stages (else T)."""
    params = []
    for task in tasks:
        try:
            params.append(task.get_task_params())
        except Exception:  # noqa: BLE001 - a user task with odd attributes still gets a row
            params.append({})
    keys = []
    for key in params[0] if params else ():
        if key in ("alpha", "N_steps"):
            continue
        values = [p.get(key) for p in params]
        try:
            differs = any(not np.array_equal(np.asarray(values[0], dtype=object), np.asarray(v, dtype=object))
                          for v in values[1:])
        except Exception:  # noqa: BLE001
            differs = True
        if differs:
            keys.append(key)
    if not keys:
        keys = ["T"]
    out = []
    for task, p in zip(tasks, params):
        shown = ", ".join(f"{k}={_short(p.get(k))}" for k in keys[:4] if k in p)
        out.append(f"{type(task).__name__}({shown})")
    return out


def _short(value):
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


class CurriculumPanel(widgets.VBox):
    """Stages of a :class:`~psychrnn_widgets.training.curriculum.Curriculum` with manual control.

    Args:
        curriculum: the Curriculum to show and drive.
        updater (ThrottledUpdater, optional): the shared update loop (e.g. the training
            panel's); by default the panel makes its own (10 Hz).

    Traits:
        stage (int): the curriculum's stage as last shown (``n_stages`` once finished).

    Attributes:
        header (HTML): "stage k of n" (1-based) or "finished".
        rows (list of HBox): one per stage; the current one's label is marked and bold.
        stage_labels, metric_labels (lists of HTML): stage description (current one bold,
            with a marker) and "latest metric / threshold" per stage.
        threshold_inputs (list of FloatText): editing one calls ``set_threshold``.
        goto_buttons (list of Button): jump to that stage (``set_stage``).
        advance_button, back_button (Button): ``curriculum.advance()`` / ``back()``.
        auto_toggle (ToggleButton): ``curriculum.auto_advance``.
        latest (dict): stage -> latest metric value seen.
    """

    stage = traitlets.Int(0)

    def __init__(self, curriculum, updater=None, **kwargs):
        self.curriculum = curriculum
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10)
        self._key = f"curriculum_panel_{next(_ids)}"
        self._lock = threading.Lock()
        self._rendering = False
        self._dirty = False
        self.latest = {}
        for value, stage in list(curriculum.metric_values):
            self.latest[int(stage)] = float(value)
        n = curriculum.n_stages
        self.descriptions = [html.escape(f"{k + 1}. {d}") for k, d in enumerate(_stage_descriptions(curriculum.tasks))]
        self.header = widgets.HTML()
        self.stage_labels, self.metric_labels, self.threshold_inputs, self.goto_buttons, self.rows = [], [], [], [], []
        for k in range(n):
            label = widgets.HTML(layout=widgets.Layout(width="380px"))
            metric = widgets.HTML(layout=widgets.Layout(width="170px"))
            threshold = widgets.FloatText(value=float(curriculum.thresholds[k]), description="threshold",
                                          style={"description_width": "initial"},
                                          layout=widgets.Layout(width="150px"), step=0.01)
            threshold.observe(self._threshold_edited(k), names="value")
            go = widgets.Button(description="Go", tooltip=f"jump to stage {k + 1}", layout=widgets.Layout(width="50px"))
            go.on_click(self._goto(k))
            row = widgets.HBox([label, metric, threshold, go], layout=widgets.Layout(padding="1px"))
            self.stage_labels.append(label)
            self.metric_labels.append(metric)
            self.threshold_inputs.append(threshold)
            self.goto_buttons.append(go)
            self.rows.append(row)
        self.back_button = widgets.Button(description="Back", icon="step-backward", tooltip="previous stage")
        self.advance_button = widgets.Button(description="Advance", icon="step-forward", tooltip="next stage")
        self.auto_toggle = widgets.ToggleButton(value=bool(curriculum.auto_advance), description="Auto advance",
                                                icon="magic", tooltip="advance when the metric reaches the threshold")
        self.message = widgets.HTML()
        self.back_button.on_click(lambda _: self._call(self.curriculum.back))
        self.advance_button.on_click(lambda _: self._call(self.curriculum.advance))
        self.auto_toggle.observe(self._auto_changed, names="value")
        super().__init__(children=[self.header, *self.rows,
                                   widgets.HBox([self.back_button, self.advance_button, self.auto_toggle]),
                                   self.message], **kwargs)
        self.updater.add_flusher(self._flush)
        curriculum.observe(self._on_change)
        self.render()

    # ------------------------------------------------------------ curriculum events (any thread)
    def _on_change(self, change):
        """Curriculum listener; must never raise (it runs inside ``metric_test`` on the training thread)."""
        try:
            if change.kind == "metric" and change.value is not None:
                with self._lock:
                    self.latest[int(change.stage)] = float(change.value)
            if threading.current_thread() is threading.main_thread():
                self.render()
            else:
                self._dirty = True
                self.updater.push(self._key, change)
                self.updater.maybe_flush()
        except Exception:  # noqa: BLE001 - a display problem must not stop training
            pass

    def _flush(self):
        """Flusher: redraw after curriculum events from the training thread; returns messages sent."""
        if self._dirty:
            self._dirty = False
            return self.render()
        return 0

    # ------------------------------------------------------------ main-thread actions
    def _call(self, fn, *args):
        try:
            fn(*args)
            self.message.value = ""
        except Exception as err:  # noqa: BLE001 - show, never raise into the notebook
            text = html.escape(f"{type(err).__name__}: {err}")
            self.message.value = f'<span style="color:#b00020">&#9888; {text}</span>'
        self.render()

    def _goto(self, k):
        return lambda _: self._call(self.curriculum.set_stage, k)

    def _threshold_edited(self, k):
        def edited(change):
            if self._rendering:
                return
            self._call(self.curriculum.set_threshold, k, change["new"])
        return edited

    def _auto_changed(self, change):
        if not self._rendering:
            self.curriculum.auto_advance = bool(change["new"])
            self.render()

    # ------------------------------------------------------------ drawing
    @staticmethod
    def _set(owner, name, value):
        """Assign if different; 1 if a message is sent."""
        if getattr(owner, name) == value:
            return 0
        setattr(owner, name, value)
        return 1

    def render(self):
        """Redraw from the curriculum's current state (plain value assignments only); returns messages sent."""
        cur = self.curriculum
        n = cur.n_stages
        stage = int(cur.stage)
        thresholds = list(cur.thresholds)
        with self._lock:
            latest = dict(self.latest)
        self._rendering = True
        sent = 0
        try:
            if stage >= n:
                header = f"<b>Curriculum</b>: finished (all {n} stages passed)"
            else:
                header = f"<b>Curriculum</b>: stage {stage + 1} of {n}{'' if cur.auto_advance else ' (manual)'}"
            sent += self._set(self.header, "value", header)
            for k in range(n):
                current = k == stage
                text = self.descriptions[k]
                label = (f"<span style='background:#e3eefb;padding:1px 3px'>&#9654; <b>{text}</b></span>" if current
                         else f"&nbsp;&nbsp;&nbsp;{text}")
                sent += self._set(self.stage_labels[k], "value", label)
                value = latest.get(k)
                if value is None:
                    metric = '<span style="color:#777">metric: -</span>'
                else:
                    passed = value >= thresholds[k]
                    colour = "#2a7d2a" if passed else "#333"
                    metric = (f'<span style="color:{colour}">metric {value:.3f} '
                              f'{"&ge;" if passed else "&lt;"} {thresholds[k]:g}</span>')
                sent += self._set(self.metric_labels[k], "value", metric)
                sent += self._set(self.threshold_inputs[k], "value", thresholds[k])
            sent += self._set(self.back_button, "disabled", stage <= 0)
            sent += self._set(self.advance_button, "disabled", stage >= n)
            sent += self._set(self.auto_toggle, "value", bool(cur.auto_advance))
            self.stage = stage
        finally:
            self._rendering = False
        return sent

    def flush(self):
        """Redraw now (e.g. after a run, to show the very last metric)."""
        self.render()

    def close(self):
        """Stop following the curriculum and the updater, then close the widgets."""
        try:
            self.curriculum.unobserve(self._on_change)
        except ValueError:
            pass
        self.updater.remove_flusher(self._flush)
        super().close()
