"""``Lab``: one dashboard composing the task, network, training, trajectory, curriculum,
connectivity, history and analysis panels (JupyterLab 4, Notebook 7 and Voilà: plain
ipywidgets, bqplot and anywidget front-ends).

    lab = Lab(PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=64), network_params)
    lab = Lab(task, network_params, model=LSTM)   # any registered model class, or pick it in the Network tab
    lab                                           # press Start; edit the task or the network between runs

**The composition root.**  The Lab builds one
:class:`~psychrnn_widgets.widgets.lab_state.LabState` and hands it to every panel; the
panels observe it and change it and never call one another (the state says what each
trait means and who writes it).  This module is the one place that knows every panel:
it builds them, lays them out and feeds the two plain views that are not panels (the
connectivity editor and the 3-D trajectories).  ``network_params`` goes from the
Network tab to the state to the training panel's model without passing through here.

**Layout** (two screens at 1280x720, in JupyterLab with its side bar open): the training
panel (Start..., learning rate and budget, the status and progress lines, the loss and
accuracy curves) on top, then one row of tabs -- Task, Network, Connectivity, Curriculum,
Runs, Trajectories (PCA, selected at first), 3-D, Analysis -- then **New network** and the
message line.  :mod:`~psychrnn_widgets.widgets.styles` keeps hidden tabs laid out (no
zero-size figures), lets no button or label be cut, and shows a note when the kernel
behind the dashboard restarted or stopped.

**A trained network is never discarded silently.**  Every network the dashboard builds
goes into :attr:`Lab.history` with its settings and curves; earlier networks' loss curves
are drawn behind the current one, and any network can be brought back (the Runs tab).
A change of the model class, of a network control, of the painted mask, or of a task
parameter the network depends on (``N_in``, ``N_out``, ``dt``, ``tau``) needs a new
network.  While the current network is untouched (never trained, not training) the new
one is built at once; otherwise the change is *pending*: the line next to Start says what
Start will do ("Start will build a new 100-unit Basic network: the trained one is kept in
the history"), and Start (or **New network**) builds it.  Stop never changes the network.
Other task changes apply at once, or at the next Start while training runs.

With a curriculum, the task tab and the trajectory probe follow the curriculum's
current stage, and stage changes are marked on the loss and accuracy curves.

Threading: widgets are created and changed on the main thread; the training thread only
stores values in the shared :class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater`
(rate- and message-limited) and posts what must happen on the main thread through a
:class:`~psychrnn_widgets.widgets.main_thread.MainThreadQueue`.
"""
import html

import ipywidgets as widgets
import numpy as np

from .analysis_tab import AnalysisTab
from .curriculum_panel import CurriculumPanel
from .history_panel import HistoryPanel
from .lab_state import LabState, resolve_model_name
from .network_panel import NetworkPanel
from .run_log import TrainingRecorder
from .styles import ROOT_CLASS, disconnected_note, style_sheet
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
        updater: the shared :class:`ThrottledUpdater` (default: 10 Hz, 10 comm messages per second).
        learning_rate, training_iters: initial training inputs.
        tasks: more tasks for the Task tab's picker (classes or objects, a list or ``{name: ...}``),
            besides every task of the task catalog and ``task``.
        model: the model class (``Basic``, ``LSTM``, ``GRU``, an ``RNN`` subclass) or its
            registered name; default ``'Basic'``.  A class not registered yet is registered
            under its class name (it then appears in the Network tab's picker).

    Attributes: ``tabs`` (the one Tab; ``setup_tabs`` and ``view_tabs`` name it too),
    ``disconnected_note`` (shown once the kernel restarted or stopped), ``state`` (the
    :class:`~psychrnn_widgets.widgets.lab_state.LabState`),
    ``task_panel, network_panel, training, trajectories, trajectories3d, connectivity,
    analysis`` (the :class:`~psychrnn_widgets.widgets.analysis_tab.AnalysisTab`),
    ``curriculum_panel`` (None without a curriculum), ``history`` (a
    :class:`~psychrnn_widgets.widgets.history.RunHistory`), ``history_panel`` (the Runs tab),
    ``run_log`` (the :class:`~psychrnn_widgets.widgets.run_log.TrainingRecorder` that logs each
    Start for "Copy as code"), ``updater``, ``message`` (HTML), ``rebuild_button``, ``pending``
    (set of ``'network'`` / ``'task'`` changes waiting for Start).

    A run saved as one file opens with :meth:`open_run`, a shipped example with
    :meth:`open_example`.
    """

    def __init__(self, task=None, network_params=None, curriculum=None, updater=None, learning_rate=0.001,
                 training_iters=50000, tasks=None, model="Basic", **kwargs):
        if task is None:
            task = curriculum.current_task if curriculum is not None else default_task()
        network_params = dict(network_params or {})
        self.curriculum = curriculum
        self.updater = updater if updater is not None else ThrottledUpdater(max_rate_hz=10, message_budget=10)
        state = self.state = LabState(task, resolve_model_name(model), curriculum=curriculum, updater=self.updater,
                                      name=str(network_params.get("name", "lab_net")))
        self.history = state.history

        self.message = widgets.HTML()
        self.message.add_class("psychrnn-lab-message")  # stable handles for browser tests
        self.task_panel = TaskPanel(task, tasks=tasks, lab_state=state)
        self.network_panel = NetworkPanel(network_params, model=state.model_name, lab_state=state)  # builds
        self.training = TrainingPanel(curriculum=curriculum, updater=self.updater, learning_rate=learning_rate,
                                      training_iters=training_iters, lab_state=state)
        self.trajectories = TrajectoryView(updater=self.updater, max_rate_hz=0.5, lab_state=state)
        self.curriculum_panel = CurriculumPanel(curriculum, updater=self.updater) if curriculum is not None else None
        self.history_panel = HistoryPanel(lab_state=state, updater=self.updater)
        self.run_log = TrainingRecorder(state, self.training)  # what each Start trains: "Copy as code" reads it
        # refreshes itself when a run ends (shared updater) and drops stale work when one starts (state)
        self.analysis = AnalysisTab(updater=self.updater, auto_refresh=False, lab_state=state)
        self.analysis.behaviour.follow_learning(state)  # psychometric/chronometric curves during training, per stage

        ConnectivityEditor, Trajectory3D = _optional_views()
        self.trajectories3d = Trajectory3D() if Trajectory3D is not None else None
        self.connectivity = ConnectivityEditor() if ConnectivityEditor is not None else None
        self.connectivity_note = widgets.HTML()
        if self.trajectories3d is not None:
            self.trajectories.on_refresh(self._feed_3d)
            self._feed_3d(self.trajectories)
        if self.connectivity is not None:
            self._show_weights()
            self.connectivity.observe(self._on_painted, names="mask")
            state.observe(lambda _: self._show_weights(), names="run")
            state.observe(lambda change: None if state.running else self._show_weights(), names="status")
        state.observe(lambda _: self._show_message(), names=["message", "message_is_error"])
        self._show_message()

        self.rebuild_button = widgets.Button(description="New network", icon="random",
                                             tooltip="build a fresh network from the controls (the current one is "
                                                     "kept in the history)")
        self.rebuild_button.on_click(lambda _: self.rebuild())

        # one row of tabs under the training panel (not stacked sections): the Lab fits two screens at 1280x720
        tabs = [(self.task_panel, "Task"), (self.network_panel, "Network")]
        if self.connectivity is not None:
            tabs.append((widgets.VBox([self.connectivity_note, self.connectivity]), "Connectivity"))
        if self.curriculum_panel is not None:
            tabs.append((self.curriculum_panel, "Curriculum"))
        tabs.append((self.history_panel, "Runs"))
        tabs.append((self.trajectories, "Trajectories (PCA)"))
        if self.trajectories3d is not None:
            tabs.append((self.trajectories3d, "3-D"))
        tabs.append((self.analysis, "Analysis"))
        self.tabs = widgets.Tab(children=[w for w, _ in tabs], titles=[t for _, t in tabs])
        self.tabs.selected_index = [w for w, _ in tabs].index(self.trajectories)  # what Start changes
        self.tabs.add_class("psychrnn-lab-tabs")
        header = widgets.HTML("<b>PsychRNN lab</b> — press Start; the tabs below show the trajectories, set up "
                              "the task and the network, and analyse what was trained.")
        self.disconnected_note = disconnected_note()
        super().__init__(children=[style_sheet(), self.disconnected_note, header, self.training, self.tabs,
                                   widgets.HBox([self.rebuild_button, self.message],
                                                layout=widgets.Layout(align_items="center"))], **kwargs)
        self.add_class(ROOT_CLASS)
        self.add_class("psychrnn-lab")
        if state.run is None:
            state.say("the network settings are invalid: see the Network tab", error=True)

    # ----------------------------------------------------------------- shortcuts
    @property
    def setup_tabs(self):
        """The Lab's tabs (one row: set-up, runs, views and analysis); also :attr:`view_tabs`."""
        return self.tabs

    @property
    def view_tabs(self):
        """The Lab's tabs (one row: set-up, runs, views and analysis); also :attr:`setup_tabs`."""
        return self.tabs

    def show_tab(self, panel):
        """Select the tab that holds ``panel`` (e.g. ``lab.analysis``); False if no tab holds it."""
        children = list(self.tabs.children)
        if panel not in children:
            return False
        self.tabs.selected_index = children.index(panel)
        return True

    @property
    def model(self):
        """The current network (None while the network settings are invalid and nothing was built)."""
        return self.state.model

    @property
    def task(self):
        """The task shown in the task panel."""
        return self.state.task

    @property
    def current_record(self):
        """The history record of the current network."""
        return self.state.run

    @property
    def pending(self):
        """The changes waiting for Start: a set of ``'network'`` and/or ``'task'``."""
        return set(self.state.pending)

    def start(self):
        return self.training.start()

    def stop(self, timeout=30.0):
        """Stop the run and wait for it (at most ``timeout`` s); True if it ended."""
        return self.training.stop(timeout=timeout)

    def rebuild(self):
        """Build a fresh network from the controls for the current task; the current one stays in the history.

        Refused while training.  Returns the new model (None if the settings are invalid).
        """
        return self.state.build()

    def bring_back(self, record):
        """Make ``record``'s network the current one (its curves, task and weights); not while training."""
        return self.state.bring_back(record)

    def apply_pending(self):
        """Apply the changes waiting for Start (main thread, not while training); True if something changed."""
        return self.state.apply_pending()

    def open_run(self, path):
        """Open a run saved as one file (the Runs tab's *Save as one file*): its network becomes the current one.

        Returns its record; raises ``ParameterError`` for a damaged file (nothing changes) and
        refuses while training.  (Not ``open``: ipywidgets' ``Widget.open`` opens the comm.)
        """
        return self.history_panel.open_file(path, raise_errors=True)

    def open_example(self, name):
        """Open the trained example shipped for task ``name`` (e.g. ``'PerceptualDiscrimination'``); its record."""
        return self.history_panel.open_example(name, raise_errors=True)

    # ------------------------------------------------------------------ views
    def _show_message(self):
        text, error = self.state.message, self.state.message_is_error
        colour = "#b00020" if error else "#555"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>" if text else ""

    def _on_painted(self, change):
        """The connectivity editor's mask changed: a painted mask is the state's (a resize for new weights is not)."""
        if len(change["old"]) != len(change["new"]):
            return  # the editor resized its mask to show a network of another size: nothing was painted
        mask = self.connectivity.mask_array()
        self.state.painted_mask = None if mask.all() else mask

    def _feed_3d(self, view):
        if self.trajectories3d is None or view.projection is None:
            return
        self.trajectories3d.set_trajectories(view.projection[:, :, :3], colors=view.colors, labels=view.labels)

    def _show_weights(self):
        """Show the current network's W_rec in the connectivity editor (a rate network's; others have none)."""
        model = self.model
        if self.connectivity is None or model is None:
            return
        if not getattr(model, "uses_rate_weights", True):
            self.connectivity.layout.display = "none"
            self.connectivity_note.value = (f"<span style='color:#777'>{html.escape(type(model).__name__)} has no "
                                            "recurrent weight matrix W_rec to show or paint (its gates each have "
                                            "their own): the connectivity editor applies to rate networks.</span>")
            return
        self.connectivity.layout.display = None
        self.connectivity_note.value = ""
        self.connectivity.set_weights(np.asarray(model.get_weights()["W_rec"]), getattr(model, "dale_ratio", None))
