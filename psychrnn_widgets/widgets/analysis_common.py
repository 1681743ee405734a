"""What the analysis panels share: a background job, figure helpers, an export row.

* :class:`BackgroundJob` runs one computation at a time on its own daemon worker thread,
  which stays for the next computation (see "Memory" below).  The thread never touches a
  widget itself: it stores its progress and result in the shared
  :class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater` and flushes it (at most
  ``max_rate_hz`` times a second, plus one final flush); the job's flusher then sets the
  panel's output widgets (plain value assignments, x and y together under
  ``hold_sync()``).  Starting a job while one runs queues it (the latest wins).
  ``cancel()`` asks the computation to finish early (what it found so far is shown);
  ``abandon(reason)`` drops it at its next progress report or simulation checkpoint
  (:func:`psychrnn_widgets.analysis.checkpoints`; e.g. when training starts
  again: the result would describe weights that are about to change).
* :func:`make_figure`, :func:`level_colors`: bqplot figures in one style, colours per
  evidence level (blue for choice 0, red for choice 1, grey at 0).
* :class:`ExportRow`: save the current result's figure (SVG or PNG, drawn by matplotlib
  on the server, so no browser is needed) and its data (``.npz``) to a chosen path, or
  download the bqplot figure from the browser (``Figure.save_svg``/``save_png``).

**Memory.**  An analysis allocates hundreds of megabytes of short-lived NumPy arrays (a
psychometric curve simulates 1,400 trials).  glibc's ``malloc`` gives every new thread
its own arena (up to 8 per core) and keeps what is freed there for later use, so a new
thread per computation -- the Lab refreshes every panel after each training run -- left
each run's arrays behind in yet another arena: the process grew by 20-27 MB per Start
and never shrank.  A job therefore runs all its computations on one
:class:`~psychrnn_widgets.widgets.worker.WorkerThread`: the same thread reuses the same
arena, and memory stays flat.
"""
import html
import itertools
import threading
import traceback
from pathlib import Path

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

from ..analysis import checkpoints
from .worker import WorkerThread

__all__ = ["BackgroundJob", "JobAbandoned", "ExportRow", "make_figure", "level_colors", "pick_levels", "AnalysisPanel",
           "AnalysisShared"]

_job_ids = itertools.count()
#: widget messages a panel sends to show a result (its marks and labels), for the updater's message count
RESULT_MESSAGES = 12


class JobAbandoned(Exception):
    """Raised inside an abandoned computation (:meth:`BackgroundJob.abandon`): at its next progress report or
    simulation checkpoint."""


class BackgroundJob:
    """One computation at a time on a background thread, reported through an updater.

    Args:
        updater: the shared :class:`ThrottledUpdater`.
        on_result: ``on_result(result)`` — sets widgets; called once per finished run, on
            whichever thread flushes (never with the job's lock held).
        on_progress: ``on_progress(fraction, message)`` — sets the progress widgets.
        on_error: ``on_error(exception, traceback_text)``.

    The computation is ``fn(progress, should_stop)``: ``progress(fraction, message)``
    stores a value and lets the updater flush if due; ``should_stop()`` is True after
    :meth:`cancel`.  ``fn`` must not touch widgets or print.
    """

    def __init__(self, updater, on_result, on_progress=None, on_error=None):
        self.updater = updater
        self.key = f"analysis/job{next(_job_ids)}"
        self.on_result = on_result
        self.on_progress = on_progress
        self.on_error = on_error
        self.thread = None  # the RunHandle of the last computation handed to the worker
        self.error = None
        self._worker = WorkerThread(f"psychrnn-{self.key}")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when the last queued run has ended
        self._pending = None
        self._busy = False  # True from a launch until the last queued run has finished (guarded by _lock)
        self._stop = threading.Event()
        self._abandoned = None  # the reason given to abandon(), until the next launch
        self._generation = 0
        self._shown_generation = 0
        self._shown_progress = None
        updater.add_flusher(self._flush)

    @property
    def running(self):
        """True while a computation runs or waits in the queue."""
        with self._lock:
            return self._busy

    def start(self, fn):
        """Run ``fn`` now, or after the running one (replacing any queued one); returns True if started now."""
        with self._lock:
            if self._busy:
                self._pending = fn
                return False
            self._launch(fn)
            return True

    def _launch(self, fn):
        """Hand ``fn`` to the job's worker thread (lock held)."""
        self._busy = True
        self._stop.clear()
        self._abandoned = None
        self._generation += 1
        generation = self._generation
        self.thread = self._worker.submit(lambda: self._run(fn, generation))

    def cancel(self):
        """Ask the running computation to stop (it checks ``should_stop()``) and drop a queued one."""
        with self._lock:
            self._pending = None
        self._stop.set()

    def abandon(self, reason):
        """Drop the running computation (at its next progress report or simulation checkpoint) and any queued one.

        Returns True if one ran.

        Its panel keeps showing the previous result, with ``reason`` beside the progress bar.
        """
        with self._lock:
            self._pending = None
            busy = self._busy
            if busy:
                self._abandoned = str(reason)
        self._stop.set()
        return busy

    def wait(self, timeout=None):
        """Wait until no computation runs or is queued; True if idle."""
        with self._lock:
            return self._changed.wait_for(lambda: not self._busy, timeout=timeout)

    def _run(self, fn, generation):
        def check():
            if self._abandoned is not None:
                raise JobAbandoned(self._abandoned)

        def progress(fraction, message=""):
            check()
            self.updater.push(self.key + "/progress", (float(fraction), str(message)))
            self.updater.maybe_flush()

        outcome = None
        try:
            with checkpoints(check):  # also between the simulations of an analysis
                outcome = ("result", fn(progress, self._stop.is_set))
            check()
        except JobAbandoned as abandoned:
            outcome = ("abandoned", str(abandoned))
        except BaseException as error:  # noqa: BLE001 - shown in the panel, kept in .error
            outcome = ("error", (error, traceback.format_exc()))
        self.updater.push(self.key + "/done", (generation, outcome))
        self.updater.flush_one(self._flush)  # shows the result now (the other views keep their own pace)
        with self._lock:
            pending, self._pending = self._pending, None
            if pending is not None:
                self._launch(pending)
            else:
                self._busy = False
                self._changed.notify_all()

    def _flush(self):
        """Flusher: show new progress and a new result; returns the number of widget messages (about)."""
        messages = 0
        progress = self.updater.get(self.key + "/progress")
        if progress is not None and progress != self._shown_progress and self.on_progress is not None:
            self._shown_progress = progress
            self.on_progress(*progress)
            messages += 2  # progress bar and status line
        done = self.updater.get(self.key + "/done")
        if done is None or done[0] == self._shown_generation:
            return messages
        self._shown_generation = done[0]
        kind, value = done[1]
        if kind == "abandoned":
            if self.on_progress is not None:
                self.on_progress(0.0, value)
            return messages + 2
        if kind == "result":
            self.error = None
            self.on_result(value)
            return messages + RESULT_MESSAGES
        self.error = value[0]
        if self.on_error is not None:
            self.on_error(*value)
        return messages + 1


def level_colors(levels):
    """A colour per signed evidence level: blue (choice 0) through grey (0) to red (choice 1)."""
    levels = np.asarray(levels, dtype=float)
    top = float(np.max(np.abs(levels))) if levels.size else 1.0
    top = top or 1.0
    out = []
    for level in levels:
        s = float(np.clip(level / top, -1, 1))
        end = (214, 39, 40) if s > 0 else (31, 119, 180)
        grey = (160, 160, 160)
        w = abs(s) ** 0.6
        r, g, b = (int(round(grey[i] + (end[i] - grey[i]) * w)) for i in range(3))
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def pick_levels(n_levels, most):
    """At most ``most`` level indices spread evenly over ``n_levels`` (ends included)."""
    if n_levels <= most:
        return np.arange(n_levels)
    return np.unique(np.round(np.linspace(0, n_levels - 1, most)).astype(int))


def make_figure(marks, title, x_label, y_label, width="340px", height="280px", x_scale=None, y_scale=None):
    """A bqplot Figure in the panels' style (axes on ``marks[0]``'s scales)."""
    scales = marks[0].scales
    # no num_ticks: with it bqplot spaces that many ticks evenly between the padded domain's ends
    # (0.226, 0.774, ...); without it d3 picks round values
    axes = [bq.Axis(scale=x_scale or scales["x"], label=x_label, tick_format="~g"),
            bq.Axis(scale=y_scale or scales["y"], label=y_label, side="left", tick_format="~g")]
    return bq.Figure(marks=list(marks), axes=axes, title=title, animation_duration=0,
                     fig_margin={"top": 30, "bottom": 42, "left": 55, "right": 12},
                     layout=widgets.Layout(width=width, height=height))


def f32(values):
    """``values`` as a float32 array (what goes to the front-end)."""
    return np.asarray(values, dtype=np.float32)


class ExportRow(widgets.HBox):
    """Path box + "Save" (matplotlib SVG/PNG and ``.npz`` data on the server) + browser download.

    Args:
        get_result: ``() -> AnalysisResult or None`` (what to save).
        figures: the bqplot figures the browser-download button saves.
        default_path: initial path (its suffix picks SVG or PNG).
    """

    def __init__(self, get_result, figures=(), default_path="analysis.svg"):
        self.get_result = get_result
        self.figures = list(figures)
        self.path = widgets.Text(value=default_path, description="save to", layout=widgets.Layout(width="300px"),
                                 style={"description_width": "initial"})
        self.save_button = widgets.Button(description="Save", icon="save",
                                          tooltip="figure (.svg or .png, by the suffix) and its data (.npz)")
        self.download_button = widgets.Button(description="Download", icon="download",
                                              tooltip="download the figures shown, from the browser")
        self.message = widgets.HTML("")
        self.saved = []
        self.save_button.on_click(lambda _: self.save())
        self.download_button.on_click(lambda _: self.download())
        super().__init__([self.path, self.save_button, self.download_button, self.message])

    def save(self, path=None):
        """Save the figure and its arrays; returns ``(figure path, data path)`` or None."""
        result = self.get_result()
        if result is None:
            self.message.value = "<i>nothing to save yet</i>"
            return None
        target = Path(path or self.path.value).expanduser()
        if target.suffix.lower() not in (".svg", ".png"):
            target = target.with_suffix(".svg")
        try:
            figure_path = result.save(target)
            data_path = result.save_arrays(target.with_suffix(".npz"))
        except Exception as error:  # noqa: BLE001 - shown next to the button
            self.message.value = f"<span style='color:#b00020'>{html.escape(str(error))}</span>"
            return None
        self.saved = [figure_path, data_path]
        self.message.value = f"saved {html.escape(figure_path.name)} and {html.escape(data_path.name)}"
        return figure_path, data_path

    def download(self):
        """Ask the browser to download each figure as SVG (bqplot needs a front-end for this)."""
        stem = Path(self.path.value).stem or "analysis"
        for i, figure in enumerate(self.figures):
            figure.save_svg(f"{stem}_{i}.svg" if len(self.figures) > 1 else f"{stem}.svg")


class AnalysisShared(traitlets.HasTraits):
    """What the analysis panels of one tab share, instead of calling each other.

    Traits:
        chosen_units (list of int): the units chosen for a lesion (a click in the
            connectivity heatmap toggles one; the lesion panel follows and sets it).
        fixed_points: the last :class:`~psychrnn_widgets.analysis.fixed_points.FixedPoints`
            found (the connectivity panel offers their Jacobian spectra), or None.
        lab_state: the Lab's :class:`~psychrnn_widgets.widgets.lab_state.LabState` when the
            tab is in a Lab (the compare panel offers its history's runs), else None.
        network: the network the tab analysed last (a model, weights or a file), or None.
    """

    chosen_units = traitlets.List(traitlets.Int())
    fixed_points = traitlets.Any(None, allow_none=True)
    lab_state = traitlets.Any(None, allow_none=True)
    network = traitlets.Any(None, allow_none=True)

    def toggle_unit(self, unit):
        """Add ``unit`` to :attr:`chosen_units`, or remove it when it is there."""
        self.chosen_units = sorted(set(self.chosen_units) ^ {int(unit)})


class AnalysisPanel(widgets.VBox):
    """Base of the analysis panels: a status line, a progress bar, a job, an export row.

    Every figure attribute ``<name>_figure`` carries the CSS class ``psychrnn-<name>-figure``
    (underscores as hyphens) and the panel ``psychrnn-analysis-<panel name>``, so that a
    browser test can find their SVG.  Subclasses build their controls and figures, then
    call :meth:`_finish_layout`;
    :meth:`computation` returns the background function (reading the controls on the
    calling thread) and :meth:`show` displays its result (on the flushing thread: set
    values only).
    """

    name = "analysis"
    #: the panel's text widgets that show numbers of a result (blanked when another network is analysed)
    result_texts = ()
    #: whether the panel needs a task besides the network
    needs_task = True
    #: whether the panel's constructor takes the tab's ``n_per_level`` (trials per evidence level)
    takes_n_per_level = False

    @classmethod
    def create(cls, updater, shared, n_per_level=100, seed=0):
        """The panel as an Analysis tab makes it (the tab's updater, shared state, trials per level, seed)."""
        kwargs = {"n_per_level": n_per_level} if cls.takes_n_per_level else {}
        return cls(updater, seed=seed, shared=shared, **kwargs)

    @classmethod
    def applies_to(cls, source):
        """Why this analysis does not apply to the network ``source`` (a simulator), or None when it does."""
        return None

    def __init__(self, updater, shared=None, **kwargs):
        self.updater = updater
        self.shared = shared if shared is not None else AnalysisShared()
        self.unavailable = None  # why the analysis does not apply to the current network (None: it does)
        self.source = self.task = None
        self.result = None
        self.status = widgets.HTML("")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="200px"))
        self.job = BackgroundJob(updater, self._on_result, self._on_progress, self._on_error)
        super().__init__(**kwargs)

    def _finish_layout(self, children, figures, default_path):
        # a browser test finds each figure by a stable CSS class: attribute ``psychometric_figure``
        # -> class ``psychrnn-psychometric-figure`` (and the panel by ``psychrnn-analysis-<name>``)
        for attribute, value in vars(self).items():
            if attribute.endswith("_figure") and isinstance(value, bq.Figure):
                value.add_class("psychrnn-" + attribute.replace("_", "-"))
        self.add_class("psychrnn-analysis-" + self.name.replace(" ", "-"))
        self.export = ExportRow(lambda: self.result, figures, default_path)
        self.children = list(children) + [widgets.HBox([self.progress, self.status]), self.export]

    def mark_computing(self, network):
        """Another network is analysed next (say which): blank this panel's numbers and fade its figures at once.

        They describe the previous network; they come back when this network's results
        arrive (:meth:`_on_result`).  The panel says "computing…" meanwhile (a panel that
        computes on demand only says that its results are gone).
        """
        for attribute in self.result_texts:
            getattr(self, attribute).value = ""
        self.add_class("psychrnn-analysis-computing")
        self.computing_for = str(network)
        self.progress.value = 0.0
        self.say(f"computing… (for {network})" if self.computes_on_refresh else
                 f"no results for {network} yet")

    #: whether :meth:`refresh` computes (False: the panel computes on demand, e.g. fixed points)
    computes_on_refresh = True
    #: the network the panel's results are being computed for (None: the results shown are the current network's)
    computing_for = None

    def set_source(self, source, task):
        """The network snapshot (a simulator) and the task to analyse next."""
        self.source, self.task = source, task
        self.unavailable = None if source is None else self.applies_to(source)
        if self.unavailable:
            self.say(self.unavailable)

    def refresh(self):
        """Recompute in the background (queued while one runs); False without a network or when it does not apply."""
        if self.unavailable:
            self.say(self.unavailable)
            return False
        if self.source is None or (self.needs_task and self.task is None):
            self.say("no network yet")
            return False
        self.job.start(self.computation(self.source, self.task))
        return True

    def computation(self, source, task):  # pragma: no cover - subclasses implement
        """``fn(progress, should_stop) -> result`` for the job; reads the controls now."""
        raise NotImplementedError

    def wait(self, timeout=60.0):
        """Wait for the panel's background computation (tests, scripts); True if idle."""
        return self.job.wait(timeout)

    def _on_progress(self, fraction, message):
        self.progress.value = min(max(fraction, 0.0), 1.0)
        self.say(message)

    def _on_result(self, result):
        self.remove_class("psychrnn-analysis-computing")
        self.computing_for = None
        self.result = result
        self.progress.value = 1.0
        self.say("")  # e.g. an earlier "not finished" note
        self.show(result)

    def _on_error(self, error, text):
        self.say(f"{type(error).__name__}: {error}", error=True)

    def say(self, text, error=False):
        colour = "#b00020" if error else "#555"
        value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""
        if self.status.value != value:
            self.status.value = value

    def show(self, result):  # pragma: no cover - subclasses implement
        raise NotImplementedError
