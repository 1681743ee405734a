"""``Lab``: one dashboard composing the task, network, training, trajectory, curriculum and
connectivity panels (JupyterLab 4, Notebook 7 and Voilà: plain ipywidgets, bqplot and
anywidget front-ends).

    lab = Lab(PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=64), network_params)
    lab                                # press Start; edit the task or the network between runs

Wiring (all on the main thread, except what the training thread does through the shared
:class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater`):

* the task panel's ``task`` becomes the trainer's task (or, with a curriculum, replaces
  the stage it was showing) and the trajectory view's probe task; a new network is only
  built when the task's ``N_in``, ``N_out``, ``dt`` or ``tau`` no longer match the model;
* the network panel's ``network_params`` (and a mask painted in the connectivity editor,
  which becomes ``rec_connectivity``) rebuild the model;
* while training runs, such changes wait: they are applied when Stop is pressed or at
  the next Start (``lab.pending`` says what waits);
* the trajectory view feeds the 3-D view (first three PCs); the connectivity heatmap
  shows the model's W_rec_eff after every build and at the end of every run.
"""
import html
import threading

import ipywidgets as widgets

from .curriculum_panel import CurriculumPanel
from .network_panel import NetworkPanel
from .task_panel import TaskPanel
from .throttle import ThrottledUpdater
from .training_panel import TrainingPanel
from .trajectory_view import TrajectoryView

__all__ = ["Lab", "default_task"]


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


class Lab(widgets.VBox):
    """The dashboard.

    Args:
        task: a Task (default :func:`default_task`; with a curriculum, its current task).
        network_params: PsychRNN ``network_params`` (task keys are taken from the task;
            ``name`` names the model, default ``'lab_net'``).
        curriculum: a :class:`~psychrnn_widgets.training.curriculum.Curriculum` or None.
        updater: the shared :class:`ThrottledUpdater` (default: a new one at 10 Hz).
        learning_rate, training_iters: initial training inputs.
        tasks: more tasks for the Task tab's picker (classes or objects, a list or ``{name: ...}``),
            besides every built-in task and ``task``.

    Attributes: ``task_panel, network_panel, training, trajectories, trajectories3d,
    connectivity, curriculum_panel`` (None without a curriculum), ``updater``,
    ``message`` (HTML), ``rebuild_button`` (a fresh network from the controls), ``pending``
    (set of ``'task'`` / ``'network'`` changes waiting for the run to end).
    """

    def __init__(self, task=None, network_params=None, curriculum=None, updater=None, learning_rate=0.001,
                 training_iters=50000, tasks=None, **kwargs):
        if task is None:
            task = curriculum.current_task if curriculum is not None else default_task()
        network_params = dict(network_params or {})
        self.name = str(network_params.get("name", "lab_net"))
        self.curriculum = curriculum
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10)
        self.pending = set()
        self._syncing_mask = False
        self._pending_mask = None
        self._applying = False
        self._task_stage = None if curriculum is None else min(curriculum.stage, curriculum.n_stages - 1)

        self.message = widgets.HTML()
        self.task_panel = TaskPanel(task, tasks=tasks)
        self.network_panel = NetworkPanel(network_params)
        model = self.network_panel.build_model(self.task_panel.task, name=self.name)
        self.training = TrainingPanel(model, self.task_panel.task, curriculum, updater=self.updater,
                                      learning_rate=learning_rate, training_iters=training_iters)
        self.trajectories = TrajectoryView(model, self.task_panel.task, updater=self.updater)
        self.curriculum_panel = CurriculumPanel(curriculum, updater=self.updater) if curriculum is not None else None

        ConnectivityEditor, Trajectory3D = _optional_views()
        self.trajectories3d = Trajectory3D() if Trajectory3D is not None else None
        self.connectivity = ConnectivityEditor() if ConnectivityEditor is not None else None
        if self.trajectories3d is not None:
            self.trajectories.on_refresh(self._feed_3d)
            self._feed_3d(self.trajectories)
        if self.connectivity is not None:
            self._show_weights()
            self.connectivity.observe(self._on_mask, names="mask")

        self.rebuild_button = widgets.Button(description="New network", icon="random",
                                             tooltip="re-initialise the network from the controls (not while training)")
        self.rebuild_button.on_click(lambda _: self.rebuild())
        self.task_panel.observe(self._on_task, names="task")
        self.network_panel.observe(self._on_network, names="network_params")
        self.training.before_start.append(lambda _panel: self.apply_pending())
        self.training.stop_button.on_click(lambda _: self.apply_pending())  # runs after the panel's join
        self.training.observe(self._on_running, names="running")
        self.updater.add_flusher(self._flush)

        setup_tabs = [(self.task_panel, "Task"), (self.network_panel, "Network")]
        if self.connectivity is not None:
            setup_tabs.append((self.connectivity, "Connectivity"))
        if self.curriculum_panel is not None:
            setup_tabs.append((self.curriculum_panel, "Curriculum"))
        self.setup_tabs = widgets.Tab(children=[w for w, _ in setup_tabs], titles=[t for _, t in setup_tabs])
        view_tabs = [(self.trajectories, "Trajectories (PCA)")]
        if self.trajectories3d is not None:
            view_tabs.append((self.trajectories3d, "3-D"))
        self.view_tabs = widgets.Tab(children=[w for w, _ in view_tabs], titles=[t for _, t in view_tabs])
        header = widgets.HTML("<b>PsychRNN lab</b> — set up a task and a network, press Start, "
                              "watch the loss and the trajectories.")
        column = dict(flex="1 1 560px", min_width="420px")
        left = widgets.VBox([self.setup_tabs], layout=widgets.Layout(**column))
        right = widgets.VBox([self.training, self.view_tabs], layout=widgets.Layout(**column))
        body = widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        super().__init__(children=[header, body, widgets.HBox([self.rebuild_button, self.message])], **kwargs)
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

    def start(self):
        return self.training.start()

    def stop(self, timeout=30.0):
        joined = self.training.stop(timeout)
        if joined:
            self.apply_pending()
        return joined

    # ------------------------------------------------------------------ changes
    def _say(self, text, error=False):
        colour = "#b00020" if error else "#555"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def _defer(self, what):
        self.pending.add(what)
        self._say(f"the {what} change applies when training stops (or at the next Start)")

    def _on_task(self, change):
        if self.training.running:
            self._defer("task")
        else:
            self._apply_task()

    def _on_network(self, change):
        if self._applying:
            return  # apply_pending rebuilds once at the end
        if self.training.running:
            self._defer("network")
        else:
            self.rebuild()

    def _on_mask(self, change):
        if self._syncing_mask or self.connectivity is None:
            return
        mask = self.connectivity.mask_array()
        before = self.model
        if mask.size and mask.all() and self.network_panel.painted_mask is None:
            return  # all connections allowed and nothing painted before: nothing to do
        if self.training.running:
            self._pending_mask = mask
            self._defer("network")
            return
        self.network_panel.set_rec_connectivity(None if mask.all() else mask)
        if self.model is before and self.network_panel.valid:
            self.rebuild()  # the panel's network_params did not announce the change

    def _on_running(self, change):
        if not change["new"] and threading.current_thread() is threading.main_thread():
            self.apply_pending()

    def apply_pending(self):
        """Apply the task/network changes made while training ran (main thread, not while training)."""
        if self.training.running or not self.pending:
            return False
        pending, self.pending = set(self.pending), set()
        mask, self._pending_mask = self._pending_mask, None
        if mask is not None:
            self._applying = True
            try:
                self.network_panel.set_rec_connectivity(None if mask.all() else mask)
            finally:
                self._applying = False
        if "network" in pending or mask is not None:
            self.rebuild(task_too="task" in pending)
        elif "task" in pending:
            self._apply_task()
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
        model = self.model
        shape = (task.N_in, task.N_out, float(task.dt), float(task.tau))
        if model is None or (model.N_in, model.N_out, model.dt, model.tau) != shape:
            self.rebuild()
            return
        self.trajectories.set_task(task)
        self._say("")

    def rebuild(self, task_too=True):
        """Build a fresh network from the controls for the current task; refused while training."""
        if self.training.running:
            self._say("stop training before building a new network", error=True)
            return None
        task = self.task_panel.task
        if task_too:
            if self.curriculum is not None:
                self.curriculum.tasks[self._task_stage] = task
            self.training.task = task
        model = self.network_panel.build_model(task, name=self.name)
        self.training.model = model
        self.trajectories.set_model(model, task=task)
        self._show_weights()
        if model is None:
            self._say("the network settings are invalid: see the Network tab", error=True)
        else:
            self._say(f"new network: {model.N_rec} units")
        return model

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
            self.connectivity.set_weights(model.get_effective_W_rec().numpy(), getattr(model, "dale_ratio", None))
        finally:
            self._syncing_mask = False

    def _flush(self):
        """Flusher: after a run (the final, forced flush) show the trained W_rec_eff."""
        if self.updater.forcing and not self.training.running and self.updater.get("training/outcome"):
            self._show_weights()
