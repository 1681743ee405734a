"""``AnalysisTab``: the Analysis tab of the Lab -- every registered analysis panel, following one network.

The panels are those of the analysis-panel registry
(:mod:`~psychrnn_widgets.widgets.analysis_catalog`: behaviour, units, connectivity,
lesions, fixed points, compare, then any registered with ``register_analysis_panel``); the tab
imports none of them and they never call one another: what they share (units chosen
for a lesion, fixed points found) is an
:class:`~psychrnn_widgets.widgets.analysis_common.AnalysisShared` they all observe.

It follows the current network: :meth:`AnalysisTab.refresh` takes a snapshot of the
weights (the model's NumPy twin, float64, so training may go on) and every panel that
applies to that network recomputes from it in the background (a panel that does not --
the connectivity heatmap of an LSTM -- says why); the fixed-point search runs on demand
from its own panel.  Given the Lab's shared updater, the tab also refreshes by itself
when a training run ends (it watches ``training/outcome``); in the Lab
(``lab_state=``) it analyses the :class:`~psychrnn_widgets.widgets.lab_state.LabState`'s
current network and task, drops stale computations when a run starts, analyses again when
one ends with trained weights (the state's ``status``, on the main thread) and when a
trained network becomes the current one (brought back, loaded: the state's ``run``).

    tab = AnalysisTab(model, task)     # any model with a NumPy twin: Basic, LSTM, GRU, a user's
    tab.refresh(wait=True)             # scripts and tests: block until every panel is done
    tab.lesions.selection = [0, 1, 2]  # silence units 0-2; tab.lesions.shown holds the values drawn
"""
import html

import ipywidgets as widgets

from ..analysis._source import as_simulator
from .analysis_catalog import analysis_panels
from .analysis_common import AnalysisShared
from .styles import ROOT_CLASS, style_sheet
from .throttle import ThrottledUpdater

__all__ = ["AnalysisTab"]

_ACTIVE = ("running", "paused", "stopping")


class AnalysisTab(widgets.VBox):
    """Analysis panels gathered in tabs, following one network.

    Args:
        model: the network (a model, a weights dict, or a weight file), or None.
        task: the task its trials come from.
        model_getter, task_getter: callables returning the current model / task; they win
            over ``model`` and ``task``.
        updater: the shared :class:`ThrottledUpdater` (the Lab's: then the tab refreshes
            when training stops).
        n_per_level: trials per evidence level for the behavioural curves and lesions.
        seed: seed of the analysed trials.
        auto_refresh: compute once at construction when a network is there.
        lab_state: the Lab's :class:`~psychrnn_widgets.widgets.lab_state.LabState` (its
            ``run`` and ``task`` are analysed; a run starting drops stale computations).

    Attributes: one per registered panel under its name (``behaviour``, ``units``,
    ``connectivity``, ``lesions``, ``fixed_points``...), ``panels`` (list, in order),
    ``shared`` (:class:`~psychrnn_widgets.widgets.analysis_common.AnalysisShared`), ``tabs``,
    ``refresh_button``, ``status`` (HTML), ``source`` (the weights snapshot last
    analysed), ``n_refreshes``.
    """

    def __init__(self, model=None, task=None, *, model_getter=None, task_getter=None, updater=None, n_per_level=100,
                 seed=0, auto_refresh=True, lab_state=None, **kwargs):
        self._model, self._task = model, task
        if lab_state is not None:
            model_getter, task_getter = (lambda: lab_state.model), (lambda: lab_state.task)
        self.model_getter, self.task_getter = model_getter, task_getter
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10)
        self.source = None
        self.n_refreshes = 0
        self._analysed = None  # the network whose results the panels show (or are computing)
        self._labels = (lambda model: lab_state.label_of(model)) if lab_state is not None else None
        self._seen_outcome = (self.updater.get("training/outcome"), self.updater.get("training/trials"))

        self.shared = AnalysisShared(lab_state=lab_state)
        self.panels, titles = [], []
        for name, title, cls in analysis_panels():
            panel = cls.create(self.updater, self.shared, n_per_level=n_per_level, seed=seed)
            setattr(self, name, panel)
            self.panels.append(panel)
            titles.append(title)
        self.tabs = widgets.Tab(children=self.panels, titles=titles)
        self.refresh_button = widgets.Button(description="Analyse current network", icon="refresh",
                                             tooltip="snapshot the weights now and recompute every panel")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.status = widgets.HTML("")
        children = [widgets.HBox([self.refresh_button, self.status]), self.tabs]
        if lab_state is None:  # shown alone: the dashboards' style sheet (hidden tabs keep their size, no cut labels)
            children.insert(0, style_sheet())
        super().__init__(children=children, **kwargs)
        if lab_state is None:
            self.add_class(ROOT_CLASS)
        if lab_state is not None:
            lab_state.observe(self._on_status, names="status")  # on the main thread: starts and ends of runs
            lab_state.observe(self._on_run, names="run")
        else:
            self.updater.add_flusher(self._flush)  # alone: a run's end is seen in the shared updater
        if auto_refresh and self.model is not None:
            self.refresh()

    # ----------------------------------------------------------------- inputs
    @property
    def model(self):
        return self.model_getter() if self.model_getter is not None else self._model

    @property
    def task(self):
        return self.task_getter() if self.task_getter is not None else self._task

    def set_model(self, model, task=None, refresh=True):
        """Analyse ``model`` (and ``task`` if given) from now on; recompute when ``refresh``."""
        self._model = model
        if task is not None:
            self._task = task
        if refresh:
            self.refresh()

    # ---------------------------------------------------------------- compute
    def refresh(self, wait=False, timeout=120.0):
        """Snapshot the current weights and recompute every panel in the background.

        With ``wait``, block until all panels are done (scripts, tests).  Returns False
        (with a message) when there is no network.
        """
        model, task = self.model, self.task
        if model is None:
            self._say("no network to analyse yet")
            return False
        try:
            source = as_simulator(model)  # a model's weights are copied: training may go on
        except Exception as error:  # noqa: BLE001 - e.g. a model with no NumPy twin: shown, never raised
            self._say(f"cannot analyse this network: {error}", error=True)
            return False
        self.source = source
        self.shared.network = model
        self.n_refreshes += 1
        name = self._network_name(model)
        if model is not self._analysed:
            self._mark_computing(model)  # the results shown are another network's: blank and fade them now
        self._analysed = model
        for panel in self.panels:
            panel.set_source(source, task)
            panel.refresh()
        kind = type(model).__name__ if hasattr(model, "get_weights") else "network"
        self._say(f"analysing {name} ({kind}, {source.N_rec} units)")
        if wait:
            return self.wait(timeout)
        return True

    def training_started(self):
        """What the Lab calls when a training run starts: drop computations the run makes stale.

        They would describe weights that are about to change, and on a small machine they
        take the CPU from training; the panels keep their previous results and compute
        again when the run ends (or on Refresh).  Returns True if any was dropped.
        """
        dropped = [panel.job.abandon("not finished: training started (analysed again when the run ends)")
                   for panel in self.panels]
        return any(dropped)

    def training_stopped(self):
        """What the Lab calls when a training run ends: analyse the trained weights."""
        return self.refresh()

    def wait(self, timeout=120.0):
        """Wait for every panel's background computation; True if all are idle."""
        return all(panel.wait(timeout) for panel in self.panels)

    def _on_run(self, change):
        """Another network became the current one (main thread).

        The results shown are the previous network's: every panel blanks its numbers and fades its
        figures at once; the new network is analysed when it has trained weights (brought back,
        loaded), else the tab says that it has nothing to analyse yet.
        """
        from ..training.trainer import Trainer

        record = change["new"]
        model = None if record is None else record.model
        if model is None or model is self._analysed:
            return
        if not change["owner"].running and Trainer.of(model).trials > 0:
            self.refresh()
            return
        for panel in self.panels:
            panel.job.abandon("another network is the current one")
        self._mark_computing(model, untrained=True)
        self._analysed = model
        self._say(f"{self._network_name(model)} is not trained yet: its analyses appear when a run ends")

    def _network_name(self, model):
        label = self._labels(model) if self._labels is not None else None
        return label or getattr(model, "name", type(model).__name__)

    def _mark_computing(self, model, untrained=False):
        """Every panel blanks and fades the previous network's results and says what comes instead."""
        name = self._network_name(model)
        for panel in self.panels:
            panel.mark_computing(name)
            if untrained:
                panel.say(f"{name} is not trained yet")

    def _on_status(self, change):
        if change["new"] == "running" and change["old"] not in _ACTIVE:  # a run starts (not a resume)
            self.training_started()
        elif change["old"] in _ACTIVE and change["new"] in ("done", "stopped"):  # trained weights to analyse
            self.training_stopped()

    def _flush(self):
        """Flusher: refresh once after each training run that ended with trained weights (done or stopped)."""
        outcome = (self.updater.get("training/outcome"), self.updater.get("training/trials"))
        if outcome == self._seen_outcome:
            return 0
        self._seen_outcome = outcome
        if outcome[0] not in ("done", "stopped"):
            return 0
        self.training_stopped()
        return 1  # the status line (the panels report their own results when they arrive)

    def _say(self, text, error=False):
        colour = "#b00020" if error else "#555"
        self.status.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""
