"""Task, network and curriculum panels, headless (ipywidgets without a browser)."""
import html
import threading
import time

import numpy as np
import pytest
import traitlets

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from psychrnn_widgets.errors import ParameterError  # noqa: E402
from psychrnn_widgets.params import TASK_CORE_PARAMS  # noqa: E402
from psychrnn_widgets.tasks import BUILTIN_TASKS, GoNoGo, MatchToCategory, PerceptualDiscrimination  # noqa: E402
from psychrnn_widgets.tasks.task import Task, TaskParameter, check_real  # noqa: E402
from psychrnn_widgets.training.curriculum import Curriculum  # noqa: E402
from psychrnn_widgets.widgets.curriculum_panel import CurriculumPanel  # noqa: E402
from psychrnn_widgets.widgets.network_panel import NetworkPanel  # noqa: E402
from psychrnn_widgets.widgets.controls import label_html  # noqa: E402
from psychrnn_widgets.widgets.task_panel import TaskPanel  # noqa: E402
from psychrnn_widgets.widgets.throttle import ThrottledUpdater  # noqa: E402


def lines_y(line):
    return np.atleast_2d(np.array(line.y, dtype=np.float32))


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# ------------------------------------------------------------------ a user's own task
def _amplitude(name, value):
    return check_real(name, value, minimum=0)


class PulseTask(Task):
    """PsychRNN-style user task: one input pulse of ``amplitude`` on top of ``baseline``; copy it out."""

    amplitude = TaskParameter(_amplitude, "Pulse height.")

    def __init__(self, dt, tau, T, N_batch, amplitude=1.0, seed=None):
        super().__init__(1, 1, dt, tau, T, N_batch, seed=seed)
        self.amplitude = amplitude
        self.baseline = 0.0  # a plain attribute, not a constructor argument

    def generate_trial_params(self, batch, trial):
        return {"onset": float(self.rng.uniform(0, self.T / 2))}

    def trial_function(self, time, params):
        on = params["onset"] <= time < params["onset"] + self.T / 4
        x = np.array([self.baseline + (self.amplitude if on else 0.0)])
        return x, x.copy(), np.ones(1)


# ------------------------------------------------------------------ task panel
def test_task_control_changes_preview_and_task():
    panel = TaskPanel(PerceptualDiscrimination(10, 100, 1000, 8, direction=0, seed=0), seed=0, preview_seed=1)
    seen = []
    panel.observe(lambda change: seen.append(change["new"]), names="task")
    before = lines_y(panel.input_lines)
    old_task = panel.task
    assert before.shape == (2, 100)  # 2 inputs, T/dt steps

    panel.controls["coherence"].value = "0.7"

    new_task = panel.task
    assert new_task is not old_task and seen == [new_task]
    assert isinstance(new_task, PerceptualDiscrimination)
    assert new_task.coherence == 0.7 and new_task.direction == 0
    after = lines_y(panel.input_lines)
    assert not np.array_equal(before, after)
    # the preview shows the new coherence: channel 0 exceeds channel 1 by 0.7 during the stimulus
    stim = after[1] > 0.5
    assert stim.sum() > 5
    assert np.median(after[0, stim] - after[1, stim]) == pytest.approx(0.7, abs=0.1)
    assert "coherence=0.7" in panel.trial_info.value

    panel.controls["T"].value = 500.0
    assert panel.task.T == 500.0
    assert lines_y(panel.input_lines).shape == (2, 50)
    assert lines_y(panel.target_lines).shape == (2, 50)
    assert float(np.max(panel.input_lines.x)) == pytest.approx(490.0)
    assert panel.message.value == ""


def test_task_invalid_value_is_refused_beside_its_control_and_keeps_task():
    panel = TaskPanel(PerceptualDiscrimination(10, 100, 1000, 8), seed=0)
    task = panel.task
    before = lines_y(panel.input_lines)
    panel.controls["T"].value = -5.0  # must not raise
    assert panel.task is task
    assert "must be a finite number &gt; 0 (ms)" in panel.errors["T"].value  # beside the control
    error = panel.parameter_controls["T"].error
    assert error == "PerceptualDiscrimination: T must be a finite number > 0 (ms), got -5.0"
    assert panel.message.value == ""
    np.testing.assert_array_equal(lines_y(panel.input_lines), before)
    panel.controls["T"].value = 800.0
    assert panel.task is not task and panel.task.T == 800.0
    assert panel.errors["T"].value == "" and panel.message.value == ""
    task = panel.task
    panel.controls["direction"].value = "2"
    assert "must be an integer in [0, 1] or None" in panel.errors["direction"].value
    assert panel.task is task
    panel.controls["direction"].value = "None"  # back to the value it had: nothing to rebuild
    assert panel.task is task and panel.task.direction is None and panel.errors["direction"].value == ""
    panel.controls["direction"].value = "1"
    assert panel.task is not task and panel.task.direction == 1


def test_resample_draws_a_new_trial_of_the_same_task():
    panel = TaskPanel(PerceptualDiscrimination(10, 100, 1000, 8, seed=0), preview_seed=3)
    task = panel.task
    rng_state = task.rng.bit_generator.state
    before = lines_y(panel.input_lines), panel.trial_info.value
    panel.resample_button.click()
    assert panel.task is task
    assert not np.array_equal(lines_y(panel.input_lines), before[0])
    assert panel.trial_info.value != before[1]
    assert task.rng.bit_generator.state == rng_state  # the preview leaves the training stream alone


def test_controls_for_a_user_subclass():
    panel = TaskPanel(PulseTask(10, 100, 400, 4, amplitude=1.0, seed=0), seed=0)
    assert {"dt", "tau", "T", "N_batch", "amplitude", "baseline"} <= set(panel.controls)
    assert "seed" not in panel.controls and "N_in" not in panel.controls
    assert np.max(lines_y(panel.input_lines)) == pytest.approx(1.0)

    panel.controls["amplitude"].value = 2.5
    assert isinstance(panel.task, PulseTask) and panel.task.amplitude == 2.5
    assert np.max(lines_y(panel.input_lines)) == pytest.approx(2.5)

    panel.controls["baseline"].value = 0.5  # a plain attribute: set on the rebuilt task
    assert panel.task.baseline == 0.5
    assert np.min(lines_y(panel.input_lines)) == pytest.approx(0.5)
    panel.controls["T"].value = 600.0  # a later rebuild keeps the edited attribute
    assert panel.task.T == 600.0 and panel.task.baseline == 0.5 and panel.task.amplitude == 2.5

    panel.locked = True
    assert all(w.disabled for w in panel.controls.values()) and not panel.resample_button.disabled
    panel.locked = False
    assert not any(w.disabled for w in panel.controls.values())

    panel.controls["amplitude"].value = -1.0
    assert "amplitude must be a finite number &gt;= 0" in panel.errors["amplitude"].value
    assert panel.task.amplitude == 2.5


def test_setting_task_from_outside_regenerates_controls():
    panel = TaskPanel(PerceptualDiscrimination(10, 100, 1000, 8, seed=0))
    panel.task = MatchToCategory(10, 100, 2000, 8, N_in=8, seed=0)
    assert "N_in" in panel.controls and "coherence" not in panel.controls
    assert lines_y(panel.input_lines).shape == (8, 200)
    n_lines = sum(lines_y(m).shape[0] for m in (panel.input_lines, panel.target_lines, panel.mask_lines))
    assert n_lines <= 20
    panel.controls["N_in"].value = 4
    assert panel.task.N_in == 4 and lines_y(panel.input_lines).shape == (4, 200)


@pytest.mark.parametrize("name", sorted(BUILTIN_TASKS))
def test_every_builtin_task_in_the_picker_with_its_own_controls_and_preview(name):
    panel = TaskPanel(PerceptualDiscrimination(20, 100, 1000, 8, seed=0), seed=0)
    assert list(panel.choice.options)[:len(BUILTIN_TASKS)] == list(BUILTIN_TASKS)
    panel.task_name = name
    task = panel.task
    assert type(task) is BUILTIN_TASKS[name] and panel.choice.value == name
    assert (task.dt, task.tau, task.N_batch) == (20, 100, 8)  # carried over from the task shown before
    assert panel.message.value == ""
    assert type(task).__name__ in panel.task_help.value and len(panel.task_help.value) > 80
    # the preview shows this task: its inputs (at most 20 lines in all), against time in ms
    n_lines = sum(lines_y(m).shape[0] for m in (panel.input_lines, panel.target_lines, panel.mask_lines))
    assert n_lines <= 20 and lines_y(panel.input_lines).shape[1] == task.N_steps
    assert float(np.max(panel.input_lines.x)) == pytest.approx((task.N_steps - 1) * task.dt)
    # every declared parameter has a control taking its label, tooltip and help line from the declaration
    declared = type(task).parameters()
    assert set(declared) - set(TASK_CORE_PARAMS) <= set(panel.controls)
    for n in [n for n in panel.controls if n in declared]:
        parameter, control = declared[n], panel.parameter_controls[n]
        assert control.label.value == label_html(parameter) and control.input is panel.controls[n]
        assert control.input.tooltip == parameter.describe()
        assert html.escape(parameter.help) in panel.help_lines[n].value
        if parameter.kind in ("int", "float") and not parameter.allow_none:
            # a refused value: the declaration's own reason, beside the control; the task stays
            bad = (parameter.low - 1) if parameter.low is not None else float("nan")
            with pytest.raises(ParameterError) as info:
                parameter.validate(bad, where=name)
            panel.controls[n].value = bad
            assert control.error == str(info.value) and panel.task is task
            assert html.escape(info.value.allowed) in panel.errors[n].value


def test_picking_tasks_by_name_keeps_each_tasks_edits():
    panel = TaskPanel(PulseTask(10, 100, 400, 4, amplitude=1.0, seed=0), seed=0, tasks=[GoNoGo])
    assert panel.task_name == "PulseTask" and "PulseTask" in panel.choice.options
    first = panel.task
    panel.controls["amplitude"].value = 2.0
    edited = panel.task
    panel.choice.value = "GoNoGo"  # the Dropdown and the trait are the same choice
    assert isinstance(panel.task, GoNoGo) and panel.task_name == "GoNoGo"
    assert "go_probability" in panel.controls and "amplitude" not in panel.controls
    assert "Go probability" in panel.parameter_controls["go_probability"].label.value
    panel.controls["go_probability"].value = 1.5
    assert "must be a finite number in [0, 1]" in panel.errors["go_probability"].value
    panel.controls["go_probability"].value = 1.0
    assert panel.task.go_probability == 1.0 and np.all(lines_y(panel.target_lines).max() == 1.0)
    panel.task_name = "PulseTask"
    assert panel.task is edited and edited is not first and panel.task.amplitude == 2.0
    panel.task_name = "GoNoGo"
    assert panel.task.go_probability == 1.0
    with pytest.raises(traitlets.TraitError, match="unknown task"):
        panel.task_name = "NoSuchTask"
    panel.locked = True
    assert panel.choice.disabled


def test_long_trials_are_downsampled():
    panel = TaskPanel(PerceptualDiscrimination(1, 100, 12000, 2, seed=0))
    assert panel.task.N_steps == 12000
    for line in (panel.input_lines, panel.target_lines, panel.mask_lines):
        assert 0 < lines_y(line).shape[1] <= 5000 and np.asarray(line.x).dtype == np.float32


# ------------------------------------------------------------------ network panel
@pytest.fixture(scope="module")
def small_task():
    return PerceptualDiscrimination(10, 100, 300, 8, seed=0)


@pytest.mark.parametrize(
    "setting, key",
    [
        (dict(dale_ratio=1.5, dale_enabled=True), "dale_ratio"),
        (dict(dale_ratio=-0.1, dale_enabled=True), "dale_ratio"),
        (dict(N_rec=0), "N_rec"),
        (dict(L2_rec=-0.5), "L2_rec"),
        (dict(L1_in=float("nan")), "L1_in"),
        (dict(rec_noise=-0.1), "rec_noise"),
        (dict(rec_noise=float("inf")), "rec_noise"),
        (dict(spec_rad=0.0), "spec_rad"),
    ],
)
def test_network_invalid_settings_show_message(small_task, setting, key):
    import html

    from psychrnn_widgets.params import NETWORK_PARAMS

    panel = NetworkPanel(dict(N_rec=20))
    good = dict(panel.network_params)
    for name, value in setting.items():
        panel.controls[name].value = value  # never raises
    expected = html.escape(f"network_params[{key!r}] must be {NETWORK_PARAMS[key].allowed}")
    assert expected in panel.message.value
    # the reason is shown beside the control too, from the same declaration
    control = panel.parameter_controls[key]
    assert not control.valid and html.escape(NETWORK_PARAMS[key].allowed) in control.message.value
    assert not panel.valid
    assert panel.network_params == good  # the last valid settings stay published
    assert panel.build_model(small_task) is None
    assert expected in panel.message.value


def test_network_mask_of_wrong_shape(small_task):
    panel = NetworkPanel(dict(N_rec=20))
    assert panel.set_rec_connectivity(np.ones((3, 4))) is False
    assert "square" in panel.message.value and panel.painted_mask is None
    assert panel.set_rec_connectivity(np.ones((10, 10))) is False
    assert "10x10 but N_rec is 20" in panel.message.value
    assert panel.build_model(small_task) is None
    panel.controls["N_rec"].value = 10  # now the mask fits
    assert panel.valid and panel.message.value == ""
    assert panel.build_model(small_task) is not None


def test_build_model_reflects_controls(small_task):
    panel = NetworkPanel()
    c = panel.controls
    c["N_rec"].value = 40
    c["dale_enabled"].value = True
    c["dale_ratio"].value = 0.75
    c["autapses"].value = False
    c["density"].value = 0.3
    c["transfer_function"].value = "tanh"
    c["rec_noise"].value = 0.05
    c["L2_rec"].value = 0.01
    assert panel.valid, panel.message.value
    p = panel.network_params
    assert p["N_rec"] == 40 and p["dale_ratio"] == 0.75 and p["autapses"] is False
    assert p["rec_connectivity"].shape == (40, 40) and p["L2_rec"] == 0.01

    events = []
    panel.observe(events.append, names="network_params")
    model = panel.build_model(small_task, name="panel_test")
    assert model is not None and model is panel.model
    assert events == []  # building publishes no change (a Lab rebuilding on changes cannot loop)
    w = model.get_weights()
    assert w["W_rec"].shape == (40, 40) and w["W_in"].shape == (40, 2) and w["W_out"].shape == (2, 40)
    assert w["dale_ratio"] == 0.75 and w["transfer_function"] == "tanh" and model.rec_noise == 0.05
    n_e = 30
    assert np.all(w["W_rec"][:, :n_e] >= 0) and np.all(w["W_rec"][:, n_e:] <= 0)
    assert np.any(w["W_rec"][:, n_e:] < 0)
    assert np.all(w["W_out"][:, n_e:] == 0)
    assert np.all(np.diag(w["W_rec"]) == 0) and np.all(np.diag(w["rec_connectivity"]) == 0)
    off_diagonal = w["rec_connectivity"][~np.eye(40, dtype=bool)]
    assert off_diagonal.mean() == pytest.approx(0.3, abs=0.06)
    assert np.all(w["W_rec"][w["rec_connectivity"] == 0] == 0)
    x, _, _, _ = small_task.generate_batch(N_batch=4)
    outputs, states = model.test(x, noise=False)
    assert outputs.shape == (4, small_task.N_steps, 2) and np.all(np.isfinite(outputs))

    c["dale_enabled"].value = False
    c["autapses"].value = True
    c["density"].value = 1.0
    c["N_rec"].value = 25
    w = panel.build_model(small_task).get_weights()
    assert w["W_rec"].shape == (25, 25) and w["dale_ratio"] is None
    assert np.all(w["rec_connectivity"] == 1) and np.any(np.diag(w["W_rec"]) != 0)
    assert np.any(w["W_rec"] < 0) and np.any(w["W_rec"] > 0)


def test_painted_mask_becomes_rec_connectivity(small_task):
    panel = NetworkPanel(dict(N_rec=30, seed=3))
    mask = (np.random.default_rng(5).random((30, 30)) < 0.4).astype(np.float32)
    assert panel.set_rec_connectivity(mask)
    np.testing.assert_array_equal(panel.network_params["rec_connectivity"], mask)
    assert panel.controls["density"].disabled and "painted mask" in panel.summary.value
    model = panel.build_model(small_task)
    np.testing.assert_array_equal(model.rec_connectivity.numpy(), mask)
    w = model.get_weights()
    np.testing.assert_array_equal(w["rec_connectivity"], mask)
    assert np.all(w["W_rec"][mask == 0] == 0) and np.all(w["W_rec"][mask == 1] != 0)

    panel.locked = True
    assert all(w.disabled for w in panel.controls.values()) and panel.clear_mask_button.disabled
    panel.locked = False
    assert not panel.controls["N_rec"].disabled and not panel.clear_mask_button.disabled
    assert panel.controls["density"].disabled  # still overridden by the mask

    panel.set_rec_connectivity(None)  # back to the density control (1.0: full)
    assert "rec_connectivity" not in panel.network_params
    assert np.all(panel.build_model(small_task).get_weights()["rec_connectivity"] == 1)


def test_other_initializers_build(small_task):
    panel = NetworkPanel(dict(N_rec=20))
    panel.controls["initializer"].value = "alpha_identity"
    panel.controls["identity_alpha"].value = 0.5
    w = panel.build_model(small_task).get_weights()
    np.testing.assert_allclose(w["W_rec"], 0.5 * np.eye(20), atol=1e-7)
    panel.controls["initializer"].value = "glorot_gauss"
    assert panel.build_model(small_task) is not None
    assert panel.initializer == "glorot_gauss" and "does not regulate" in panel.message.value


# ------------------------------------------------------------------ curriculum panel
def _curriculum(**kwargs):
    tasks = [PerceptualDiscrimination(10, 100, T, 8, coherence=c, seed=0)
             for T, c in ((500, 0.7), (800, 0.5), (1000, 0.3))]
    return Curriculum(tasks, thresholds=[0.9, 0.8, 0.7], **kwargs)


def _metric_batch(curriculum, correct=True):
    x, y, mask, _ = curriculum.current_task.generate_batch()
    output = y if correct else y[..., ::-1]
    return x, y, mask, output


def _current_rows(panel):
    return [k for k, label in enumerate(panel.stage_labels) if "&#9654;" in label.value]


def test_curriculum_panel_lists_and_steps_stages():
    cur = _curriculum()
    panel = CurriculumPanel(cur)
    assert len(panel.rows) == 3
    assert "PerceptualDiscrimination" in panel.stage_labels[0].value
    assert "T=800" in panel.stage_labels[1].value and "coherence=0.5" in panel.stage_labels[1].value
    assert _current_rows(panel) == [0] and "&#9654;" in panel.stage_labels[0].value
    assert panel.back_button.disabled and "stage 1 of 3" in panel.header.value

    panel.advance_button.click()
    assert cur.stage == 1 and cur.current_task is cur.tasks[1] and panel.stage == 1
    assert _current_rows(panel) == [1] and "&#9654;" not in panel.stage_labels[0].value
    panel.advance_button.click()
    assert cur.stage == 2
    panel.back_button.click()
    assert cur.stage == 1 and _current_rows(panel) == [1]
    panel.goto_buttons[2].click()
    assert cur.stage == 2
    panel.advance_button.click()
    assert cur.stage == 3 and cur.stop_training and "finished" in panel.header.value
    assert panel.advance_button.disabled and _current_rows(panel) == []
    cur.set_stage(0)  # from code: the panel follows
    assert panel.stage == 0 and _current_rows(panel) == [0]


def test_curriculum_thresholds_and_auto_mode():
    cur = _curriculum()
    panel = CurriculumPanel(cur)
    panel.threshold_inputs[1].value = 0.55
    assert cur.thresholds == [0.9, 0.55, 0.7]
    cur.set_threshold(2, 0.6)  # from code: the input follows
    assert panel.threshold_inputs[2].value == 0.6

    assert panel.auto_toggle.value is True
    panel.auto_toggle.value = False
    assert cur.auto_advance is False and "(manual)" in panel.header.value
    x, y, mask, out = _metric_batch(cur)
    assert cur.metric_test(x, y, mask, out, epoch=1, losses=[]) is False  # passed, but manual: no advance
    assert cur.stage == 0 and "metric 1.000" in panel.metric_labels[0].value
    panel.auto_toggle.value = True
    assert cur.auto_advance is True
    assert cur.metric_test(x, y, mask, out, epoch=2, losses=[]) is True
    assert cur.stage == 1 and _current_rows(panel) == [1]


def test_metric_from_training_thread_updates_panel():
    cur = _curriculum()
    updater = ThrottledUpdater(max_rate_hz=10)
    panel = CurriculumPanel(cur, updater=updater)
    assert "metric: -" in panel.metric_labels[0].value
    x, y, mask, bad = _metric_batch(cur, correct=False)

    thread = threading.Thread(target=cur.metric_test, args=(x, y, mask, bad, 1, []))
    thread.start()
    thread.join(5)
    assert wait_for(lambda: "metric 0.000" in panel.metric_labels[0].value)

    # a burst of checks from the thread: throttled, and the final flush shows the last one
    def burst():
        for i in range(200):
            out = y if i == 199 else bad
            cur.metric_test(x, y, mask, out, i, [])
    cur.auto_advance = False
    panel.render()
    start, flushes = time.monotonic(), updater.n_flushes
    thread = threading.Thread(target=burst)
    thread.start()
    thread.join(30)
    elapsed = time.monotonic() - start
    assert updater.n_flushes - flushes <= 10 * elapsed + 2
    updater.flush()
    assert "metric 1.000" in panel.metric_labels[0].value
    assert panel.latest[0] == 1.0


def test_curriculum_listener_never_raises_into_training():
    cur = _curriculum()
    panel = CurriculumPanel(cur)

    def broken():
        raise RuntimeError("display gone")

    panel.render = broken  # even a failing redraw must not reach metric_test's caller
    x, y, mask, out = _metric_batch(cur)
    cur.metric_test(x, y, mask, out, 1, [])
    assert cur.stage == 1
    del panel.render
    panel.render()
    assert panel.stage == 1
    panel.close()
    cur.advance()  # no longer followed
    assert panel.stage == 1
