"""The task picker's NeuroGym group: absent (and nothing imported) without NeuroGym; with it, one
entry that loads NeuroGym's supervised environments when picked, each made when picked (issue 26).

NeuroGym cannot be installed beside this package's pins, so "with it" is a stand-in module whose
``make`` replays real recorded trials (tests/data/neurogym_trials.npz)."""
import sys
import types

import numpy as np
import pytest

from helpers import run_python
from neurogym_recording import ReplayEnv, load_recording
from psychrnn_widgets import NeuroGymTask, PerceptualDiscrimination
from psychrnn_widgets.widgets import neurogym_choices
from psychrnn_widgets.widgets.task_panel import TaskPanel

_, RECORDED = load_recording()
BY_ID = {}
for _recorded in RECORDED:
    BY_ID.setdefault(_recorded.meta["id"], _recorded)  # ContextDecisionMaking: its default (implicit) context


class FakeNeuroGym:
    """What the picker uses of NeuroGym: ``make(id, dt=...)`` and ``envs.registration.all_envs(tag=...)``."""

    def __init__(self):
        self.made = []
        self.module = types.ModuleType("neurogym")
        self.module.make = self.make
        envs = types.ModuleType("neurogym.envs")
        registration = types.ModuleType("neurogym.envs.registration")
        registration.all_envs = lambda tag=None: sorted(BY_ID) if tag == "supervised" else []
        envs.registration = registration
        self.module.envs = envs
        self.modules = {"neurogym": self.module, "neurogym.envs": envs, "neurogym.envs.registration": registration}

    def make(self, env_id, dt=100):
        env = ReplayEnv(BY_ID[env_id])
        self.made.append((env_id, dt))
        return env


@pytest.fixture
def fake_neurogym(monkeypatch):
    fake = FakeNeuroGym()
    for name, module in fake.modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(neurogym_choices, "installed", lambda: True)
    return fake


def test_without_neurogym_the_picker_shows_no_neurogym_group(monkeypatch):
    monkeypatch.setattr(neurogym_choices, "installed", lambda: False)
    panel = TaskPanel(PerceptualDiscrimination(20, 100, 1000, 8, seed=0))
    assert not any("NeuroGym" in name for name in panel.choice.options)


def test_the_panel_module_imports_no_neurogym_and_finds_it_without_importing():
    done = run_python("""
        import sys
        from psychrnn_widgets.widgets import task_panel, neurogym_choices
        panel = task_panel.TaskPanel()
        print(neurogym_choices.installed(), 'neurogym' in sys.modules, 'torch' in sys.modules,
              any('NeuroGym' in name for name in panel.choice.options))
    """)
    assert done.returncode == 0, done.stderr
    installed, imported, torch, listed = done.stdout.split()
    assert imported == "False" and torch == "False"
    assert listed == installed  # the group is there exactly when NeuroGym is installed


def test_the_neurogym_group_loads_when_picked_and_builds_each_environment_when_picked(fake_neurogym):
    panel = TaskPanel(PerceptualDiscrimination(20, 100, 1000, 8, seed=0), seed=0)
    options = list(panel.choice.options)
    assert options[-1] == neurogym_choices.LOAD_LABEL and not fake_neurogym.made
    assert not any(name.startswith(neurogym_choices.PREFIX) for name in options)

    panel.choice.value = neurogym_choices.LOAD_LABEL  # loads the list, shows the default environment
    options = list(panel.choice.options)
    assert neurogym_choices.LOAD_LABEL not in options
    assert [o for o in options if o.startswith(neurogym_choices.PREFIX)] == \
        [neurogym_choices.PREFIX + env_id for env_id in sorted(BY_ID)]
    assert panel.task_name == neurogym_choices.PREFIX + "PerceptualDecisionMaking-v0"
    task = panel.task
    assert isinstance(task, NeuroGymTask) and fake_neurogym.made == [("PerceptualDecisionMaking-v0", 20)]
    # dt, tau and N_batch carried over from the task shown before: dt through make (a replayed recording
    # keeps the dt it was recorded with; NeuroGymTask takes the environment's), tau and N_batch directly
    assert (task.dt, task.tau, task.N_batch) == (BY_ID["PerceptualDecisionMaking-v0"].meta["dt"], 100, 8)
    assert f"{type(task.env).__name__}</b> (NeuroGym): The recorded trials" in panel.task_help.value  # its doc
    assert panel.message.value == "" and "fixation_weight" in panel.controls
    np.testing.assert_array_equal(np.array(panel.input_lines.y, np.float32)[:, :3], panel.preview_trial()[1][:3].T)

    panel.task_name = neurogym_choices.PREFIX + "GoNogo-v0"  # made when picked
    assert fake_neurogym.made[-1] == ("GoNogo-v0", task.dt) and panel.task.N_out == 2
    env = panel.task.env
    panel.controls["fixation_weight"].value = 0.05  # a control rebuilds the task on the same environment
    rebuilt = panel.task
    assert rebuilt.fixation_weight == 0.05 and rebuilt.env is env
    assert panel.task_name == neurogym_choices.PREFIX + "GoNogo-v0"
    assert not any(name == "NeuroGymTask" for name in panel.choice.options)
    panel.task_name = "GoNoGo"
    panel.task_name = neurogym_choices.PREFIX + "GoNogo-v0"  # the edited one comes back
    assert panel.task is rebuilt and len(fake_neurogym.made) == 2


def test_a_failing_neurogym_is_a_message_not_an_exception(fake_neurogym, monkeypatch):
    def broken(tag=None):
        raise RuntimeError("registry unreadable")

    monkeypatch.setattr(fake_neurogym.modules["neurogym.envs.registration"], "all_envs", broken)
    panel = TaskPanel(PerceptualDiscrimination(20, 100, 1000, 8, seed=0))
    first = panel.task
    panel.choice.value = neurogym_choices.LOAD_LABEL
    assert "registry unreadable" in panel.message.value
    assert panel.task is first and panel.choice.value == "PerceptualDiscrimination"


def test_the_lab_trains_a_neurogym_task_with_its_loss_and_others_with_mse(fake_neurogym):
    from psychrnn_widgets.widgets.lab import Lab

    lab = Lab(task=PerceptualDiscrimination(20, 100, 1000, 8, seed=0))
    assert lab.model.loss_name == "mean_squared_error"
    lab.task_panel.task_name = neurogym_choices.LOAD_LABEL
    assert isinstance(lab.task_panel.task, NeuroGymTask)
    assert lab.model.loss_name == "categorical_cross_entropy"
    assert lab.model.N_in == lab.task_panel.task.N_in
    lab.task_panel.task_name = "PerceptualDiscrimination"
    assert lab.model.loss_name == "mean_squared_error"
