"""``Lab``: one dashboard composing the task, network, training, trajectory, curriculum,
connectivity and history panels (JupyterLab 4, Notebook 7 and Voilà: plain ipywidgets,
bqplot and anywidget front-ends).

    lab = Lab(PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=64), network_params)
    lab                                # press Start; edit the task or the network between runs

**A trained network is never discarded silently.**  Every network the dashboard builds
goes into :attr:`Lab.history` with its settings and curves; earlier networks' loss curves
are drawn behind the current one, and any network can be brought back (the Runs tab).
A change of a network control, of the painted mask, or of a task parameter the network
depends on (``N_in``, ``N_out``, ``dt``, ``tau``) needs a new network.  While the current
network is untouched (never trained, not training) the new one is built at once;
otherwise the change is *pending*: the line next to Start says what Start will do
("Start will build a new 100-unit network: the trained one is kept in the history"),
and Start (or **New network**) builds it.  Stop never changes the network.  Other task
changes apply at once, or at the next Start while training runs.

With a curriculum, the task tab and the trajectory probe follow the curriculum's
current stage, and stage changes are marked on the loss and accuracy curves.

Threading: widgets are created and changed on the main thread; the training thread only
stores values in the shared :class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater`
(rate- and message-limited) and posts what must happen on the main thread through the
training panel's :class:`~psychrnn_widgets.widgets.main_thread.MainThreadQueue`.
"""
import contextlib
import html

import ipywidgets as widgets
import numpy as np

from ..params import NETWORK_PARAMS
from ..training.trainer import Trainer
from .analysis_tab import AnalysisTab
from .curriculum_panel import CurriculumPanel
from .history import RunHistory
from .history_panel import HistoryPanel
from .network_panel import NetworkPanel
from .task_panel import TaskPanel
from .throttle import ThrottledUpdater
from .training_panel import ACTIVE, TrainingPanel
from .trajectory_view import TrajectoryView

__all__ = ["Lab", "default_task"]

#: task parameters a network depends on: changing one needs a new network
NETWORK_SHAPING_TASK_KEYS = ("N_in", "N_out", "dt", "tau")


def default_task():
    """PsychRNN's hello-world task: perceptual discrimination, dt 10 ms, tau 100 ms, T 2 s, 64 trials."""
    from ..tasks.perceptual_discrimination import PerceptualDiscrimination

    return PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=64)


def _optional_views():
    """The anywidget views, or None each if their front-end module cannot be imported."""
    try:
        from .connectivity import ConnectivityEditor
    except ImportError:  # pragma: no cover - anywidget missing
        ConnectivityEditor = None
    try:
        from .trajectory3d import Trajectory3D
    except ImportError:  # pragma: no cover - anywidget missing
        Trajectory3D = None
    return ConnectivityEditor, Trajectory3D


def _task_shape(task):
    """The task's sizes a network depends on, and the loss the task names (the network is trained with it)."""
    loss = task.get_task_params().get("loss_function", NETWORK_PARAMS["loss_function"].default)
    return (*(float(getattr(task, key)) for key in NETWORK_SHAPING_TASK_KEYS), loss)


def _model_shape(model):
    return (float(model.N_in), float(model.N_out), float(model.dt), float(model.tau), model.loss_name)


class Lab(widgets.VBox):
    """The dashboard.

    Args:
        task: a Task (default :func:`default_task`; with a curriculum, its current task).
        network_params: PsychRNN ``network_params`` (task keys are taken from the task;
            ``name`` names the model, default ``'lab_net'``).
        curriculum: a :class:`~psychrnn_widgets.training.curriculum.Curriculum` or None.
        updater: the shared :class:`ThrottledUpdater` (default: 10 Hz, 10 comm messages per second).
        learning_rate, training_iters: initial training inputs.
        tasks: more tasks for the Task tab's picker (classes or objects, a list or ``{name: ...}``),
            besides every built-in task and ``task``.

    Attributes: ``task_panel, network_panel, training, trajectories, trajectories3d,
    connectivity, analysis`` (the :class:`~psychrnn_widgets.widgets.analysis_tab.AnalysisTab`),
    ``curriculum_panel`` (None without a curriculum), ``history`` (a
    :class:`~psychrnn_widgets.widgets.history.RunHistory`), ``history_panel``, ``updater``,
    ``message`` (HTML), ``rebuild_button``, ``pending`` (set of ``'network'`` / ``'task'``
    changes waiting for Start).
    """

    def __init__(self, task=None, network_params=None, curriculum=None, updater=None, learning_rate=0.001,
                 training_iters=50000, tasks=None, **kwargs):
        if task is None:
            task = curriculum.current_task if curriculum is not None else default_task()
        network_params = dict(network_params or {})
        self.name = str(network_params.get("name", "lab_net"))
        self.curriculum = curriculum
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10, message_budget=10)
        self.pending = set()
        self.history = RunHistory()
        self._pending_mask = None
        self._syncing_mask = False
        self._following_stage = False
        self._holding = False
        self._task_stage = None if curriculum is None else min(curriculum.stage, curriculum.n_stages - 1)
        self._record = None

        self.message = widgets.HTML()
        self.task_panel = TaskPanel(task, tasks=tasks)
        self.network_panel = NetworkPanel(network_params)
        model = self.network_panel.build_model(self.task_panel.task, name=self._next_model_name())
        self.training = TrainingPanel(model, self.task_panel.task, curriculum, updater=self.updater,
                                      learning_rate=learning_rate, training_iters=training_iters)
        self.trajectories = TrajectoryView(model, self.task_panel.task, updater=self.updater, max_rate_hz=0.5)
        self.curriculum_panel = CurriculumPanel(curriculum, updater=self.updater) if curriculum is not None else None
        self.history_panel = HistoryPanel(self.history, on_bring_back=self.bring_back, on_load=self.bring_back,
                                          before_save=self._archive_curves, can_change=self._can_change)
        # the Analysis tab follows lab.model and lab.task and refreshes itself when a run ends (shared updater)
        self.analysis = AnalysisTab(model_getter=lambda: self.model, task_getter=lambda: self.task,
                                    updater=self.updater, auto_refresh=False)

        ConnectivityEditor, Trajectory3D = _optional_views()
        self.trajectories3d = Trajectory3D() if Trajectory3D is not None else None
        self.connectivity = ConnectivityEditor() if ConnectivityEditor is not None else None
        if self.trajectories3d is not None:
            self.trajectories.on_refresh(self._feed_3d)
            self._feed_3d(self.trajectories)
        if self.connectivity is not None:
            self._show_weights()
            self.connectivity.observe(self._on_mask, names="mask")
        if model is not None:
            self._record = self.history.add(model, self.network_panel.network_params, self.task_panel.task)
        self.history_panel.refresh(self._record)

        self.rebuild_button = widgets.Button(description="New network", icon="random",
                                             tooltip="build a fresh network from the controls (the current one is "
                                                     "kept in the history)")
        self.rebuild_button.on_click(lambda _: self.rebuild())
        self.task_panel.observe(self._on_task, names="task")
        self.network_panel.observe(self._on_network, names="network_params")
        self.training.before_start.append(lambda _panel: self.apply_pending())
        self.training.observe(self._on_training_state, names="state")
        self.training.after_run.append(self._after_run)
        if curriculum is not None:
            curriculum.observe(self._on_curriculum_change)
            self.updater.add_flusher(self._flush_stage)

        setup_tabs = [(self.task_panel, "Task"), (self.network_panel, "Network")]
        if self.connectivity is not None:
            setup_tabs.append((self.connectivity, "Connectivity"))
        if self.curriculum_panel is not None:
            setup_tabs.append((self.curriculum_panel, "Curriculum"))
        setup_tabs.append((self.history_panel, "Runs"))
        self.setup_tabs = widgets.Tab(children=[w for w, _ in setup_tabs], titles=[t for _, t in setup_tabs])
        view_tabs = [(self.trajectories, "Trajectories (PCA)")]
        if self.trajectories3d is not None:
            view_tabs.append((self.trajectories3d, "3-D"))
        view_tabs.append((self.analysis, "Analysis"))
        self.view_tabs = widgets.Tab(children=[w for w, _ in view_tabs], titles=[t for _, t in view_tabs])
        header = widgets.HTML("<b>PsychRNN lab</b> — set up a task and a network, press Start, "
                              "watch the loss and the trajectories.")
        column = dict(flex="1 1 560px", min_width="420px")
        left = widgets.VBox([self.setup_tabs, widgets.HBox([self.rebuild_button, self.message])],
                            layout=widgets.Layout(**column))
        right = widgets.VBox([self.training, self.view_tabs], layout=widgets.Layout(**column))
        body = widgets.HBox([right, left], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        super().__init__(children=[header, body], **kwargs)
        if model is None:
            self._say("the network settings are invalid: see the Network tab", error=True)

    # ----------------------------------------------------------------- shortcuts
    @property
    def model(self):
        """The model the training panel trains (None while the network settings are invalid)."""
        return self.training.model

    @property
    def task(self):
        """The task shown in the task panel."""
        return self.task_panel.task

    @property
    def current_record(self):
        """The history record of the current network."""
        return self._record

    def start(self):
        return self.training.start()

    def stop(self, timeout=30.0):
        """Stop the run and wait for it (at most ``timeout`` s); True if it ended."""
        return self.training.stop(timeout=timeout)

    def _next_model_name(self):
        return f"{self.name}_{len(self.history) + 1}" if self.history.records else self.name

    # ------------------------------------------------------------------ changes
    def _say(self, text, error=False):
        colour = "#b00020" if error else "#555"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def _current_is_untouched(self):
        """No trained network would be set aside: the current one never trained and is not training."""
        model = self.model
        return not self.training.running and (model is None or Trainer.of(model).trials == 0)

    def _can_change(self):
        if self.training.running:
            return False, "stop training first"
        return True, ""

    def _mark_pending(self, what):
        self.pending.add(what)
        self._show_pending()

    def _show_pending(self):
        if not self.pending:
            self.training.set_pending("")
            return
        if "network" in self.pending:
            params = self.network_panel.network_params
            units = params.get("N_rec", "?")
            text = f"Start will build a new {units}-unit network: the trained one is kept in the history"
            if not self.network_panel.valid:
                text = "the network settings are invalid (see the Network tab): Start keeps the current network"
        else:
            text = "the task change applies at the next Start"
        self.training.set_pending(text)

    def _needs_new_network(self, task):
        model = self.model
        return model is None or _model_shape(model) != _task_shape(task)

    def _on_task(self, change):
        if self._following_stage:
            return
        task = self.task_panel.task
        if self._needs_new_network(task):
            if self._current_is_untouched():
                self.rebuild()
            else:
                self._mark_pending("network")
        elif self.training.running:
            self._mark_pending("task")
        else:
            self._apply_task()

    @contextlib.contextmanager
    def changes_held(self):
        """Inside, network-control changes do not rebuild or mark anything pending (the caller decides after)."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def _on_network(self, change):
        if self._holding:
            return
        if self._current_is_untouched():
            self.rebuild()
        else:
            self._mark_pending("network")

    def _on_mask(self, change):
        if self._syncing_mask or self.connectivity is None:
            return
        mask = self.connectivity.mask_array()
        if mask.size and mask.all() and self.network_panel.painted_mask is None:
            return  # all connections allowed and nothing painted before: nothing to do
        if not self._current_is_untouched():
            self._pending_mask = mask
            self._mark_pending("network")
            return
        before = self.model
        self.network_panel.set_rec_connectivity(None if mask.all() else mask)
        if self.model is before and self.network_panel.valid:
            self.rebuild()  # the panel's network_params did not announce the change

    def apply_pending(self):
        """Apply the changes waiting for Start (main thread, not while training); True if something changed."""
        if self.training.running or not self.pending:
            return False
        pending, self.pending = set(self.pending), set()
        mask, self._pending_mask = self._pending_mask, None
        if mask is not None:
            self.network_panel.set_rec_connectivity(None if mask.all() else mask)
        if "network" in pending:
            self.rebuild()
        elif "task" in pending:
            self._apply_task()
        self._show_pending()
        return True

    def _apply_task(self):
        task = self.task_panel.task
        if self.curriculum is not None:
            stage = self._task_stage
            old = self.curriculum.tasks[stage]
            if (task.N_in, task.N_out) != (old.N_in, old.N_out):
                self._say(f"stage {stage + 1} needs N_in={old.N_in}, N_out={old.N_out}; the task was not changed",
                          error=True)
                return
            self.curriculum.tasks[stage] = task
        self.training.task = task
        self.trajectories.set_task(task)
        if self._record is not None:
            self._record.task = task
        self._say("")

    def rebuild(self):
        """Build a fresh network from the controls for the current task; the current one stays in the history.

        Refused while training.  Returns the new model (None if the settings are invalid).
        """
        if self.training.running:
            self._say("stop training before building a new network", error=True)
            return None
        task = self.task_panel.task
        model = self.network_panel.build_model(task, name=self._next_model_name())
        if model is None:
            self._say("the network settings are invalid: see the Network tab", error=True)
            return None
        self._archive_curves()
        if self.curriculum is not None:
            self.curriculum.tasks[self._task_stage] = task
        self.training.task = task
        self.training.model = model  # resets the panel's curves
        self.trajectories.set_model(model, task=task)
        self._record = self.history.add(model, self.network_panel.network_params, task)
        self.pending.discard("network")
        self._pending_mask = None
        self._show_pending()
        self._show_weights()
        self._show_overlays()
        self.history_panel.refresh(self._record)
        self._say(f"new network: {model.N_rec} units ({self._record.label})")
        return model

    def bring_back(self, record):
        """Make ``record``'s network the current one (its curves, task and weights); not while training."""
        if self.training.running:
            self._say("stop training before bringing a network back", error=True)
            return False
        self._archive_curves()
        task = record.task if record.task is not None else self.task_panel.task
        self._following_stage = True
        try:
            if record.task is not None and record.task is not self.task_panel.task:
                self.task_panel.task = record.task
        finally:
            self._following_stage = False
        self.training.task = task
        self.training.model = record.model
        self.training.show_curves(record.curves)
        self.trajectories.set_model(record.model, task=task)
        self._record = record
        self.pending.clear()
        self._pending_mask = None
        self._show_pending()
        self._show_weights()
        self._show_overlays()
        self.history_panel.refresh(record)
        self._say(f"{record.label} is the current network")
        return True

    # ------------------------------------------------------------------ runs
    def _archive_curves(self):
        """Copy the live curves into the current network's record."""
        if self._record is not None and self._record.model is self.model:
            self._record.curves = self.training.curves()

    def _show_overlays(self):
        others = [(r.label, *r.curves["loss"]) for r in self.history if r is not self._record
                  and len(r.curves["loss"][0])]
        self.training.set_overlays(others)

    def _on_training_state(self, change):
        if change["new"] == "running" and change["old"] not in ACTIVE:  # a run starts (not a resume)
            self.analysis.training_started()

    def _after_run(self, outcome):
        """A run ended (main thread): keep its curves, show the trained weights, refresh the history."""
        self._archive_curves()
        self._show_weights()
        self.history_panel.refresh(self._record)
        if self.curriculum is not None:
            self._follow_stage()

    # ------------------------------------------------------------------ curriculum
    #: comm messages following a stage costs (task preview, controls, trajectory probe): reserved in the budget
    STAGE_FOLLOW_MESSAGES = 6

    def _on_curriculum_change(self, change):
        if change.kind == "stage" and not self.training.running:
            self.training.main_thread.post(self._follow_stage)

    def _flush_stage(self):
        """Flusher (training thread): after a stage change, have the main thread follow it, within the budget."""
        curriculum = self.curriculum
        if min(curriculum.stage, curriculum.n_stages - 1) == self._task_stage:
            return 0
        self.training.main_thread.post(self._follow_stage)
        return self.STAGE_FOLLOW_MESSAGES

    def _follow_stage(self):
        """Show the curriculum's current stage in the task tab and use it for the trajectory probe (main thread)."""
        curriculum = self.curriculum
        stage = min(curriculum.stage, curriculum.n_stages - 1)
        if stage == self._task_stage and self.task_panel.task is curriculum.tasks[stage]:
            return
        self._task_stage = stage
        task = curriculum.tasks[stage]
        self._following_stage = True
        try:
            self.task_panel.task = task
        finally:
            self._following_stage = False
        # while training, the trajectories follow at their next throttled flush: a stage change then costs the
        # task tab's messages now and the redraw's later, each within the message budget
        self.trajectories.set_task(task, refresh=not self.training.running)
        if not self.training.running:
            self.training.task = task

    # ------------------------------------------------------------------ views
    def _feed_3d(self, view):
        if self.trajectories3d is None or view.projection is None:
            return
        self.trajectories3d.set_trajectories(view.projection[:, :, :3], colors=view.colors, labels=view.labels)

    def _show_weights(self):
        model = self.model
        if self.connectivity is None or model is None:
            return
        self._syncing_mask = True
        try:
            self.connectivity.set_weights(np.asarray(model.get_weights()["W_rec"]), getattr(model, "dale_ratio", None))
        finally:
            self._syncing_mask = False
