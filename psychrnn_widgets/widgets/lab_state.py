"""``LabState``: the one observable object the Lab's panels meet in (DESIGN §8).

The dashboard is a set of panels that never call one another.  Each one observes the
traits of a shared :class:`LabState` it cares about and changes the ones it owns; the
rules that tie them together -- when a change needs a new network, when it waits for
Start, what bringing a network back means, following a curriculum's stage -- live here,
once, and nowhere else::

    Task tab ──task──▶ LabState ◀──model_name, network_params, network_valid── Network tab
    Connectivity editor ──painted_mask──▶ LabState ──painted_mask──▶ Network tab
    Training panel ──status──▶ LabState ──run, task, pending_note──▶ Training panel
    LabState ──run, task, status──▶ trajectories, Analysis tab, Runs tab, the Lab's views

Traits:
    task (Task): the task set up in the Task tab (with a curriculum: the shown stage's).
    model_name (str): the model class picked in the Network tab, by its registered name.
    network_params (dict): the Network tab's last valid task-independent settings.
    network_valid (bool): whether the Network tab's controls make a valid network now.
    painted_mask (array or None): the recurrent mask painted in the Connectivity editor,
        float32 (N_rec, N_rec) 0/1; None: nothing painted.
    run (NetworkRecord): the current network with its settings, task and curves (None while
        the settings are invalid and nothing was built yet).
    stage (int): the curriculum stage shown (0-based; -1 without a curriculum).
    status (str): the training panel's state (``idle``, ``running``, ``paused``, ``stopping``,
        ``done``, ``stopped``, ``failed``).
    pending (set): changes waiting for Start: ``'network'`` (a new network will be built)
        and/or ``'task'`` (the task changed while training ran).
    pending_note (str): what Start will do, in words ('' when nothing waits).
    message (str), message_is_error (bool): the Lab's message line.
    compared (tuple of int): the history's records (by index) the loss/accuracy overlays draw,
        chosen in the Runs tab; a network joins it when it becomes current for the first time.

**A trained network is never discarded silently.**  A change of the model class, of the
network settings or of a task parameter the network depends on (``N_in``, ``N_out``,
``dt``, ``tau``, the loss the task names) needs a new network: while the current one is
untouched (never trained, not training) it is built at once; otherwise the change is
pending until Start (or :meth:`build`), and every network stays in :attr:`history`.

Threading: traits change on the main thread only.  Curriculum events may come from the
training thread; they are handed to the main thread (:class:`MainThreadQueue`), during
training at the shared updater's pace (:meth:`_flush_stage`).
"""
from __future__ import annotations

import warnings

import numpy as np
import traitlets

from ..catalog import MODELS, model_class
from ..errors import ParameterError
from ..params import NETWORK_PARAMS
from ..tasks.task import Task
from .history import NetworkRecord, RunHistory, registered_name
from .main_thread import MainThreadQueue

__all__ = ["LabState", "build_network", "network_params_for", "network_shape", "task_shape", "ACTIVE_STATUSES", "TASK_KEYS",
           "NETWORK_SHAPING_TASK_KEYS"]

#: training statuses with a live training thread
ACTIVE_STATUSES = ("running", "paused", "stopping")
#: task parameters a network depends on: changing one needs a new network
NETWORK_SHAPING_TASK_KEYS = ("N_in", "N_out", "dt", "tau")
#: task keys copied into a network's params when it is built
TASK_KEYS = ("N_in", "N_out", "N_steps", "dt", "tau", "N_batch")


def task_shape(task):
    """The task's sizes a network depends on, and the loss the task names (the network is trained with it)."""
    loss = task.get_task_params().get("loss_function", NETWORK_PARAMS["loss_function"].default)
    return (*(float(getattr(task, key)) for key in NETWORK_SHAPING_TASK_KEYS), loss)


def network_shape(model):
    """What :func:`task_shape` must equal for ``model`` to train on a task."""
    return (float(model.N_in), float(model.N_out), float(model.dt), float(model.tau), model.loss_name)


def network_params_for(settings, task, name="lab_net"):
    """Complete ``network_params``: the task's ``N_in, N_out, N_steps, dt, tau, N_batch``, the loss its
    ``get_task_params()`` names (a task's ``preferred_loss``; none for PsychRNN's mean squared error), then the
    task-independent ``settings`` and ``name``."""
    params = {key: getattr(task, key) for key in TASK_KEYS}
    loss = task.get_task_params().get("loss_function")
    if loss is not None:
        params["loss_function"] = loss
    params.update(settings)
    params["name"] = name
    return params


def build_network(model_name, settings, task, name="lab_net"):
    """A new network of the registered class ``model_name`` for ``task``, from task-independent ``settings``.

    The params are the task's ``N_in, N_out, N_steps, dt, tau, N_batch``, the loss its
    ``get_task_params()`` names (e.g. NeuroGym's cross-entropy), then ``settings`` and
    ``name``.  Returns ``(model, notes)``: the warnings raised while building, as text.
    Raises whatever the class raises for bad settings (``ParameterError`` naming the key).
    """
    cls = model_class(model_name)
    params = network_params_for(settings, task, name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = cls(params)
    notes = [str(w.message) for w in caught
             if "does not regulate" not in str(w.message) and "eigenvalues" not in str(w.message)]
    return model, notes


def same_settings(a, b):
    """``a == b`` for settings dicts that may hold NumPy arrays."""
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if isinstance(value, np.ndarray) or isinstance(other, np.ndarray):
            if not np.array_equal(np.asarray(value), np.asarray(other)):
                return False
        elif value != other:
            return False
    return True


class LabState(traitlets.HasTraits):
    """The Lab's shared state and the rules between its parts (see the module docstring).

    Args:
        task: the starting task.
        model_name: the starting model class's registered name.
        curriculum: a :class:`~psychrnn_widgets.training.curriculum.Curriculum` or None.
        updater: the shared :class:`~psychrnn_widgets.widgets.throttle.ThrottledUpdater` (stage following
            during training goes at its pace).
        name: the models' name (``name``, then ``name_2``...).

    Attributes: ``history`` (:class:`~psychrnn_widgets.widgets.history.RunHistory`),
    ``curriculum``, ``main_thread`` (:class:`MainThreadQueue`), ``notes`` (warnings of the
    last build).
    """

    task = traitlets.Instance(Task, allow_none=True)
    model_name = traitlets.Unicode("Basic")
    network_params = traitlets.Dict()
    network_valid = traitlets.Bool(True)
    painted_mask = traitlets.Any(None, allow_none=True)
    run = traitlets.Instance(NetworkRecord, allow_none=True)
    stage = traitlets.Int(-1)
    status = traitlets.Unicode("idle")
    pending = traitlets.Set()
    pending_note = traitlets.Unicode("")
    message = traitlets.Unicode("")
    message_is_error = traitlets.Bool(False)
    compared = traitlets.Tuple()

    #: comm messages following a stage costs (task preview, controls, trajectory probe): reserved in the budget
    STAGE_FOLLOW_MESSAGES = 6

    def __init__(self, task, model_name="Basic", curriculum=None, updater=None, name="lab_net"):
        super().__init__()
        self.history = RunHistory()
        self._seen_runs = set()  # ids of the records that were current once (compared from then on)
        self.curriculum = curriculum
        self.name = str(name)
        self.notes = []
        self.main_thread = MainThreadQueue()
        self.updater = updater
        if curriculum is not None:
            self.stage = min(curriculum.stage, curriculum.n_stages - 1)
        self.model_name = model_name
        self.task = task  # nothing is built yet: the Network tab has not said its settings
        if curriculum is not None:
            curriculum.observe(self._on_curriculum_change)
            if updater is not None:
                updater.add_flusher(self._flush_stage)

    # ----------------------------------------------------------------- reading
    @property
    def model(self):
        """The current network (None while none could be built)."""
        return None if self.run is None else self.run.model

    @property
    def running(self):
        """Whether a training thread is live."""
        return self.status in ACTIVE_STATUSES

    def untouched(self):
        """No trained network would be set aside: the current one never trained and is not training."""
        from ..training.trainer import Trainer

        model = self.model
        return not self.running and (model is None or Trainer.of(model).trials == 0)

    def say(self, text, error=False):
        """Set the Lab's message line ('' clears it)."""
        with self.hold_trait_notifications():
            self.message_is_error = bool(error)
            self.message = str(text)

    def next_model_name(self):
        return f"{self.name}_{len(self.history) + 1}" if self.history.records else self.name

    def _settings_are_current(self):
        run = self.run
        return (run is not None and registered_name(type(run.model)) == self.model_name
                and same_settings(run.network_params, self.network_params))

    def _needs_new_network(self, task):
        model = self.model
        return model is None or network_shape(model) != task_shape(task)

    def _stage_index(self):
        return min(self.curriculum.stage, self.curriculum.n_stages - 1)

    # ----------------------------------------------------------------- rules
    @traitlets.observe("model_name", "network_params")
    def _on_settings(self, change):
        if self.task is None or not self.network_params or self._settings_are_current():
            return  # no settings said yet, or those of the current network
        if self.untouched():
            self.build()
        else:
            self._mark_pending("network")

    @traitlets.observe("network_valid")
    def _on_validity(self, change):
        self._show_pending()

    @traitlets.observe("task")
    def _on_task(self, change):
        task = change["new"]
        if task is None or not self.network_params:
            return
        if self._needs_new_network(task):
            if self.untouched():
                self.build()
            else:
                self._mark_pending("network")
            return
        following = self.curriculum is not None and task is self.curriculum.tasks[self._stage_index()]
        if self.running:
            if not following:
                self._mark_pending("task")
        else:
            self._apply_task(task)

    def _apply_task(self, task):
        if self.curriculum is not None:
            stage = self._stage_index()
            old = self.curriculum.tasks[stage]
            if task is not old:
                if (task.N_in, task.N_out) != (old.N_in, old.N_out):
                    self.say(f"stage {stage + 1} needs N_in={old.N_in}, N_out={old.N_out}; the task was not "
                             "changed", error=True)
                    return
                self.curriculum.tasks[stage] = task
        if self.run is not None:
            self.run.task = task
        self.say("")

    def _mark_pending(self, what):
        self.pending = self.pending | {what}
        self._show_pending()

    @traitlets.observe("pending")
    def _pending_changed(self, change):
        self._show_pending()

    def _show_pending(self):
        if not self.pending:
            note = ""
        elif "network" in self.pending:
            units = self.network_params.get("N_rec", "?")
            note = (f"Start will build a new {units}-unit {self.model_name} network: the trained one is kept in "
                    "the history")
            if not self.network_valid:
                note = "the network settings are invalid (see the Network tab): Start keeps the current network"
        else:
            note = "the task change applies at the next Start"
        self.pending_note = note

    # ----------------------------------------------------------------- actions
    def build(self):
        """Build a fresh network from the settings for the current task; the current one stays in the history.

        Refused while training.  Returns the new model (None if the settings are invalid).
        """
        if self.running:
            self.say("stop training before building a new network", error=True)
            return None
        if not self.network_valid:
            self.say("the network settings are invalid: see the Network tab", error=True)
            return None
        task = self.task
        try:
            model, self.notes = build_network(self.model_name, self.network_params, task, self.next_model_name())
        except Exception as error:  # noqa: BLE001 - shown in the message line, never raised into the notebook
            kind = "" if isinstance(error, ParameterError) else f"{type(error).__name__}: "
            self.say(f"cannot build the network: {kind}{error}", error=True)
            return None
        if self.curriculum is not None:
            self.curriculum.tasks[self._stage_index()] = task
        record = self.history.add(model, self.network_params, task)
        with self.hold_trait_notifications():
            self.pending = set()
            self.run = record
        self.say(f"new network: {model.N_rec} units ({record.label})")
        return model

    def apply_pending(self):
        """Apply the changes waiting for Start (main thread, not while training); True if something changed."""
        if self.running or not self.pending:
            return False
        pending, self.pending = set(self.pending), set()
        if "network" in pending:
            self.build()  # invalid settings: a message, and Start trains the current network
        else:
            self._apply_task(self.task)
        return True

    def bring_back(self, record):
        """Make ``record``'s network the current one (its curves, task and weights); not while training.

        A record not yet in :attr:`history` (loaded from a file) is added to it.
        """
        if self.running:
            self.say("stop training before bringing a network back", error=True)
            return False
        if record not in self.history.records:
            self.history.records.append(record)
        self._distinct_label(record)
        with self.hold_trait_notifications():
            self.pending = set()
            self.run = record
        if record.task is not None and record.task is not self.task:
            self.task = record.task
        self.say(f"{record.label} is the current network")
        return True

    def label_of(self, model):
        """The history label of ``model`` (None if it is not in the history)."""
        for record in self.history.records:
            if record.model is model:
                return record.label
        return None

    def _distinct_label(self, record):
        """Give ``record`` a label no other record has (a run loaded from a file keeps its saved label:
        ``'#1 · 50 units'`` twice becomes ``'#1 · 50 units'`` and ``'#1 · 50 units (loaded)'``)."""
        taken = {r.label for r in self.history.records if r is not record}
        if record.label not in taken:
            return
        base, n = f"{record.label} (loaded)", 2
        label = base
        while label in taken:
            label, n = f"{base[:-1]} {n})", n + 1
        record.label = label

    @traitlets.observe("run")
    def _compare_new_runs(self, change):
        """A network current for the first time is compared (drawn behind the later ones) until unticked."""
        record = change["new"]
        if record is None or id(record) in self._seen_runs:
            return
        self._seen_runs.add(id(record))
        index = next((i for i, r in enumerate(self.history.records) if r is record), None)
        if index is not None and index not in self.compared:
            self.compared = tuple(sorted((*self.compared, index)))

    def task_key(self, record):
        """What overlays must share to be drawn together: the task's registered class name (None: no task)."""
        from .history import _task_name

        return None if record is None or record.task is None else _task_name(type(record.task))

    def overlay_records(self):
        """The compared records drawn behind the current one: same task, with a loss curve, in history order."""
        current = self.run
        key = self.task_key(current)
        return [r for i, r in enumerate(self.history.records)
                if i in self.compared and r is not current and len(r.curves["loss"][0]) and self.task_key(r) == key]

    # ----------------------------------------------------------------- curriculum
    @traitlets.observe("status")
    def _on_status(self, change):
        if change["old"] in ACTIVE_STATUSES and change["new"] not in ACTIVE_STATUSES and self.curriculum is not None:
            self.follow_stage()

    def _on_curriculum_change(self, change):
        """Curriculum observer (any thread): follow a stage change on the main thread when nothing trains."""
        if change.kind == "stage" and not self.running:
            self.main_thread.post(self.follow_stage)

    def _flush_stage(self):
        """Flusher (training thread): after a stage change, have the main thread follow it, within the budget."""
        if self._stage_index() == self.stage:
            return 0
        self.main_thread.post(self.follow_stage)
        return self.STAGE_FOLLOW_MESSAGES

    def follow_stage(self):
        """Show the curriculum's current stage as the task (main thread)."""
        stage = self._stage_index()
        task = self.curriculum.tasks[stage]
        if stage == self.stage and self.task is task:
            return
        self.stage = stage
        self.task = task


def resolve_model_name(model):
    """The registered name of ``model`` (a name, or a model class: registered under its class name if new)."""
    if isinstance(model, str):
        model_class(model)  # an unknown name: UnknownClassError listing the known ones
        return model
    if isinstance(model, type):
        from ..errors import UnknownClassError

        try:
            return MODELS.name_of(model)
        except UnknownClassError:
            from ..catalog import register_model

            register_model(model)  # the caller handed the class over (as a Sweep does)
            return MODELS.name_of(model)
    raise ParameterError(f"model must be a model class or its registered name, got {model!r}", parameter="model",
                         value=model, allowed="Basic, LSTM, GRU or a registered RNN subclass")
