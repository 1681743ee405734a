"""The Lab dashboard, headless: Start / Pause / Resume / Stop, errors, curriculum stepping,
control changes, the painted mask, and the message rate of the live views."""
import re
import threading
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")
pytest.importorskip("anywidget")

from helpers import network_params, wait_until  # noqa: E402
from psychrnn_widgets import PerceptualDiscrimination  # noqa: E402


def status_step(lab):
    match = re.search(r"step (\d+)", lab.training.status.value)
    return int(match.group(1)) if match else None


class MessageLog:
    """Records every comm 'update' message a widget sends (``Widget._send``): (time, widget, state keys)."""

    def __init__(self, monkeypatch):
        from ipywidgets.widgets.widget import Widget

        self.messages = []
        self.threads = set()
        original = Widget._send

        def send(widget, msg, buffers=None):
            if msg.get("method") == "update":
                self.messages.append((time.monotonic(), widget, frozenset(msg.get("state", {}))))
                self.threads.add(threading.current_thread().name)
            return original(widget, msg, buffers=buffers)

        monkeypatch.setattr(Widget, "_send", send)

    def between(self, start, stop, widget=None):
        return [m for m in self.messages if start <= m[0] <= stop and (widget is None or m[1] is widget)]


def small_task(**kwargs):
    return PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, seed=0, **kwargs)


# ------------------------------------------------------------------ the main loop
def test_lab_start_pause_resume_stop():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=30), training_iters=10**7)
    assert lab.model is not None and lab.model.N_rec == 30
    assert lab.connectivity.n == 30 and lab.trajectories3d.n_lines == 8  # composed views are fed
    w_before = lab.model.get_weights()["W_rec"]

    lab.training.start_button.click()
    assert wait_until(lambda: len(lab.training.loss_line.x) >= 3 and (status_step(lab) or 0) >= 10, 60), \
        lab.training.status.value
    assert lab.training.thread.is_alive() and lab.training.state == "running"

    # Pause: shown at once; the step count freezes once the loop reaches its next step
    t0 = time.monotonic()
    lab.training.pause_button.click()
    assert time.monotonic() - t0 < 0.5  # the click never blocks the kernel
    assert lab.training.state == "paused" and "paused" in lab.training.status.value
    assert wait_until(lambda: lab.training.control.waiting.is_set(), 60)
    paused_at = lab.training.epoch
    time.sleep(0.6)
    assert lab.training.epoch == paused_at

    lab.training.resume_button.click()
    assert wait_until(lambda: lab.training.epoch > paused_at + 5, 60)

    # Stop: returns at once, 'stopping' then 'stopped'; the network is kept, usable and trained
    t0 = time.monotonic()
    lab.training.stop_button.click()
    assert time.monotonic() - t0 < 0.5
    assert lab.training.state in ("stopping", "stopped")
    assert lab.training.wait(60) and lab.training.state == "stopped"
    assert "stopped" in lab.training.status.value
    assert not lab.training.start_button.disabled and lab.training.stop_button.disabled
    x = task.generate_batch(5)[0]
    outputs, states = lab.model.test(x, noise=False)
    assert outputs.shape == (5, task.N_steps, 2) and np.isfinite(outputs).all() and np.isfinite(states).all()
    assert not np.allclose(lab.model.get_weights()["W_rec"], w_before)
    np.testing.assert_allclose(lab.connectivity.weights_array(), lab.model.get_weights()["W_rec"], atol=1e-6)
    stopped_at = lab.training.epoch
    time.sleep(0.3)
    assert lab.training.epoch == stopped_at
    # the step and trial counters agree across Start / Stop / Start
    trials = lab.training.trials
    assert f"step {stopped_at:,}" in lab.training.status.value and f"{trials:,} trials" in lab.training.status.value
    lab.training.budget.value = 32 * 5
    lab.training.start()
    assert lab.training.wait(60) and lab.training.state == "done"
    assert lab.training.epoch == stopped_at + 5 and lab.training.trials == trials + 160
    assert f"step {stopped_at + 5:,}" in lab.training.status.value
    assert lab.training.loss_line.x[-1] == pytest.approx(trials + 160)


def test_the_whole_dashboard_sends_at_most_12_comm_messages_in_any_second(monkeypatch):
    """Issue 10: count the messages on the comm (every widget), not the flushes, while training runs."""
    from psychrnn_widgets import Curriculum
    from psychrnn_widgets.widgets import Lab

    stages = [small_task(coherence=c) for c in (0.7, 0.5)]
    curriculum = Curriculum(stages, thresholds=[0.6, 2.0], metric_epoch=5)
    lab = Lab(network_params=network_params(stages[0], N_rec=30), curriculum=curriculum, training_iters=10**7)
    log = MessageLog(monkeypatch)
    lab.training.start()
    assert wait_until(lambda: lab.training.epoch >= 5, 60)
    t_start = time.monotonic()
    time.sleep(6.0)
    lab.training.stop()
    t_end = time.monotonic()
    assert lab.training.wait(60)
    times = np.array([t for t, _, _ in log.messages])
    assert len(times) > 20  # the views did update
    windows = []
    t = t_start + 1.0  # every one-second window after the first
    while t + 1.0 <= t_end:
        windows.append(int(((times >= t) & (times < t + 1.0)).sum()))
        t += 0.25
    assert windows and max(windows) <= 12, windows
    widgets_seen = {id(w) for _, w, _ in log.between(t_start, t_end)}
    assert id(lab.training.loss_line) in widgets_seen and id(lab.training.status) in widgets_seen


def test_lab_error_in_training_thread_appears_in_status():
    from psychrnn_widgets.widgets import Lab

    class BrokenRig(PerceptualDiscrimination):
        def generate_batch(self, *args, **kwargs):
            raise ValueError("stimulus file missing: coherence table is empty")

    task = BrokenRig(dt=10, tau=100, T=500, N_batch=32, seed=0)
    lab = Lab(task, network_params(task, N_rec=20))
    assert lab.model is not None  # the probe batch does not call generate_batch
    lab.training.start_button.click()
    assert lab.training.wait(60)
    status = lab.training.status.value
    assert "failed" in status and "ValueError: stimulus file missing: coherence table is empty" in status
    assert isinstance(lab.training.error, ValueError)
    assert not lab.training.running and not lab.training.start_button.disabled
    assert np.isfinite(lab.model.test(small_task().generate_batch(3)[0], noise=False)[0]).all()


# ------------------------------------------------------------------ curriculum
class Recorded(PerceptualDiscrimination):
    """A PerceptualDiscrimination that records which stage generated each batch."""

    log = []

    def __init__(self, dt, tau, T, N_batch, coherence=None, direction=None, seed=None, label="?"):
        super().__init__(dt, tau, T, N_batch, coherence=coherence, direction=direction, seed=seed)
        self.label = label

    def generate_batch(self, *args, **kwargs):
        Recorded.log.append(self.label)
        return super().generate_batch(*args, **kwargs)


def test_lab_curriculum_advance_button_changes_the_trainers_task():
    from psychrnn_widgets import Curriculum
    from psychrnn_widgets.widgets import Lab

    Recorded.log = []
    easy = Recorded(10, 100, 500, 32, coherence=0.7, seed=1, label="easy")
    hard = Recorded(10, 100, 600, 32, coherence=0.1, seed=2, label="hard")
    curriculum = Curriculum([easy, hard], thresholds=[2.0, 2.0], metric_epoch=5)  # never advances by itself
    lab = Lab(network_params=network_params(easy, N_rec=20), curriculum=curriculum, training_iters=10**7)
    assert lab.curriculum_panel is not None and lab.task is easy
    lab.training.start_button.click()
    assert wait_until(lambda: Recorded.log.count("easy") >= 10 and "stage 1/2" in lab.training.status.value, 60)
    assert "hard" not in Recorded.log

    lab.curriculum_panel.advance_button.click()
    clicked_at = len(Recorded.log)
    assert curriculum.stage == 1
    assert wait_until(lambda: len(Recorded.log) >= clicked_at + 10, 60)
    after = Recorded.log[clicked_at:]
    assert set(after[1:]) == {"hard"}  # at most the batch in flight when clicking comes from the old stage
    assert wait_until(lambda: "stage 2/2" in lab.training.status.value, 10)
    assert lab.curriculum_panel.stage == 1

    lab.curriculum_panel.back_button.click()
    back_at = len(Recorded.log)
    assert wait_until(lambda: len(Recorded.log) >= back_at + 5, 60)
    assert set(Recorded.log[back_at + 1:]) == {"easy"}
    assert lab.stop()
    assert np.isfinite(lab.model.test(hard.generate_batch(2)[0], noise=False)[0]).all()


# ------------------------------------------------------------------ controls and the painted mask
def test_lab_controls_rebuild_an_untouched_network_at_once_and_never_discard_a_trained_one():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=30), training_iters=10**7)
    first = lab.model

    # a task change that keeps the network's shape: same model, new task for the trainer and the probe
    control = lab.task_panel.controls["coherence"]
    control.value = "0.5" if isinstance(control.value, str) else 0.5
    assert lab.task is not task and lab.task.coherence == 0.5
    assert lab.training.task is lab.task and lab.trajectories.task is lab.task
    assert lab.model is first and lab.trajectories.projection.shape[0] == 2  # one coherence x two directions

    # an untouched (never trained) network is rebuilt at once; the old one stays in the history
    lab.network_panel.controls["N_rec"].value = 24
    assert lab.model is not first and lab.model.N_rec == 24 and lab.training.model is lab.model
    assert lab.connectivity.n == 24 and lab.trajectories.model is lab.model
    assert [r.model for r in lab.history] == [first, lab.model]


def train_a_little(lab, trials=32 * 5):
    lab.training.budget.value = trials
    assert lab.training.start()
    assert lab.training.wait(60) and lab.training.state == "done", lab.training.status.value


@pytest.mark.parametrize("change", ["N_rec", "rec_noise", "mask", "task dt"])
@pytest.mark.parametrize("when", ["during", "after"])
def test_a_change_that_needs_a_new_network_is_pending_until_start_and_the_trained_one_is_kept(change, when):
    """Issue 10: the trained network stays in the history with identical weights; Start builds the new one
    only after the pending change was shown next to Start."""
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=20), training_iters=10**7)
    trained = lab.model
    train_a_little(lab)
    if when == "during":
        lab.training.budget.value = 10**7
        lab.training.start()
        assert wait_until(lambda: lab.training.epoch >= 8, 60)

    if change == "N_rec":
        lab.network_panel.controls["N_rec"].value = 24
    elif change == "rec_noise":
        lab.network_panel.controls["rec_noise"].value = 0.05
    elif change == "mask":
        mask = np.ones((20, 20), dtype=int)
        mask[:5, 10:] = 0
        lab.connectivity.mask = mask.tolist()
    else:
        lab.task_panel.controls["dt"].value = 20.0
    assert lab.model is trained and "network" in lab.pending
    pending = lab.training.pending.value
    assert "Start will build a new" in pending and "kept in the history" in pending  # shown next to Start

    if when == "during":
        assert lab.training.stop(timeout=60) and lab.training.state == "stopped"
        assert lab.model is trained and "network" in lab.pending  # Stop keeps the trained network, always
    weights = {k: np.array(v) for k, v in trained.get_weights().items() if isinstance(v, np.ndarray)}
    trained_curve = lab.training.curves()["loss"][0].copy()
    assert len(trained_curve) > 0

    assert lab.training.start()  # Start builds the new network, then trains it
    new = lab.model
    assert new is not trained and lab.pending == set() and lab.training.pending.value == ""
    assert lab.training.stop(timeout=60)
    record = lab.history.find(trained)
    assert record is not None and record is not lab.current_record
    for key, value in weights.items():  # identical weights in the history
        np.testing.assert_array_equal(record.model.get_weights()[key], value)
    np.testing.assert_array_equal(record.curves["loss"][0], trained_curve)
    if change == "N_rec":
        assert new.N_rec == 24
    elif change == "rec_noise":
        assert new.rec_noise == 0.05
    elif change == "mask":
        assert np.all(new.get_weights()["W_rec"][:5, 10:] == 0)
    else:
        assert new.dt == 20.0
    # the earlier network's loss curve is drawn behind the new one
    assert any(line.visible and len(line.x) == len(trained_curve) for line in lab.training.overlay_lines)
    # and it can be brought back, curves and all
    lab.history_panel.choice.value = lab.history.records.index(record)
    lab.history_panel.bring_back_button.click()
    assert lab.model is trained and lab.current_record is record
    np.testing.assert_array_equal(lab.training.loss_line.x, trained_curve)


def test_save_and_load_a_run_from_the_ui(tmp_path):
    """Issue 10: save from the UI, build a fresh dashboard, load: identical weights, settings and loss history."""
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=20, dale_ratio=0.8, rec_noise=0.02), training_iters=32 * 8)
    train_a_little(lab, 32 * 8)
    lab.history_panel.path.value = str(tmp_path / "runs" / "first")
    lab.history_panel.save_button.click()
    assert "saved" in lab.history_panel.message.value, lab.history_panel.message.value
    assert (tmp_path / "runs" / "first.npz").exists() and (tmp_path / "runs" / "first.json").exists()
    saved_weights = lab.model.get_weights()
    saved_curves = lab.training.curves()
    saved_settings = dict(lab.current_record.network_params)

    fresh = Lab(small_task(), network_params(task, name="other", N_rec=12))
    fresh.history_panel.path.value = str(tmp_path / "runs" / "first")
    fresh.history_panel.load_button.click()
    assert "loaded" in fresh.history_panel.message.value, fresh.history_panel.message.value
    model = fresh.model
    assert model.N_rec == 20 and model.dale_ratio == 0.8 and model.rec_noise == 0.02
    for key, value in saved_weights.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(model.get_weights()[key], value, err_msg=key)
    for name in ("loss", "accuracy"):
        for got, expected in zip(fresh.training.curves()[name], saved_curves[name]):
            np.testing.assert_array_equal(got, expected)
    for key in ("N_rec", "dale_ratio", "rec_noise", "transfer_function", "spec_rad"):
        assert fresh.current_record.network_params[key] == saved_settings[key]
    assert fresh.training.trials == lab.training.trials  # the counts continue where they were
    assert fresh.task.coherence == task.coherence and fresh.task.T == task.T
    # a missing or broken file is said in the panel, not raised
    fresh.history_panel.path.value = str(tmp_path / "nothing_here")
    fresh.history_panel.load_button.click()
    assert "not loaded" in fresh.history_panel.message.value


def test_randomised_clicks_never_leave_the_panel_stuck():
    """Issue 10: thousands of Start / Pause / Resume / Stop clicks against runs that end on their own."""
    from psychrnn_widgets import Basic, PerceptualDiscrimination
    from psychrnn_widgets.widgets.training_panel import ACTIVE, TrainingPanel

    task = PerceptualDiscrimination(dt=10, tau=100, T=60, N_batch=2, seed=0)
    model = Basic(network_params(task, N_rec=4, name="clicks"))
    panel = TrainingPanel(model, task, training_iters=2)
    rng = np.random.default_rng(0)
    actions = {"start": panel.start_button, "pause": panel.pause_button, "resume": panel.resume_button,
               "stop": panel.stop_button}
    clicks = 0
    for sequence in range(1200):
        panel.budget.value = int(rng.choice([2, 4, 10, 40]))  # runs of 1 to 20 steps
        for _ in range(int(rng.integers(2, 14))):
            name = rng.choice(list(actions))
            button = actions[name]
            if not button.disabled:
                button.click()
                clicks += 1
            if rng.random() < 0.3:
                time.sleep(float(rng.random()) * 0.004)
        # the state, the buttons and the thread agree
        with panel._lock:
            state, alive = panel.state, panel.thread is not None and panel.thread.is_alive()
            assert state in ("idle", "running", "paused", "stopping", "done", "stopped", "failed")
            assert panel.start_button.disabled == (state in ACTIVE)
            assert panel.pause_button.disabled == (state != "running")
            assert panel.resume_button.disabled == (state != "paused")
            assert panel.stop_button.disabled == (state not in ("running", "paused"))
            if state in ACTIVE:
                assert panel.thread is not None and panel.running
        if state not in ACTIVE and alive:
            panel.thread.join(5)  # a finished run's thread ends right after posting its outcome
            assert not panel.thread.is_alive()
        if panel.state == "paused" and rng.random() < 0.5:
            panel.resume_button.click()
        panel.stop()
        assert panel.wait(30), panel.state
        assert panel.state in ("done", "stopped", "idle") and not panel.start_button.disabled, panel.state
        assert panel.error is None, panel.error_traceback
    print(f"{clicks} clicks in 1200 sequences")
    assert clicks >= 2000, clicks
    panel.budget.value = 4
    assert panel.start() and panel.wait(30) and panel.state == "done"  # Start always works again


def test_lab_defaults_and_display():
    from psychrnn_widgets.widgets import Lab

    lab = Lab()
    assert isinstance(lab.task, PerceptualDiscrimination) and lab.task.T == 2000 and lab.model is not None
    assert lab.curriculum_panel is None and lab.training.curriculum is None
    bundle = lab._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    titles = list(lab.setup_tabs.titles)
    assert titles[:2] == ["Task", "Network"] and "Connectivity" in titles
    bad = Lab(small_task(), {"N_rec": -3})  # invalid settings: a message, no exception
    assert bad.model is None and "invalid" in bad.message.value
    assert bad.training.start() is False and "model" in bad.training.status.value


def test_lab_painted_mask_becomes_rec_connectivity_and_survives_training():
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=20), training_iters=32 * 30)
    mask = np.ones((20, 20), dtype=int)
    mask[:8, 10:] = 0  # cut inputs from units 10.. onto units 0..7
    lab.connectivity.mask = mask.tolist()  # as the front-end syncs it after a drag
    model = lab.model
    np.testing.assert_array_equal(model.get_weights()["rec_connectivity"], mask.astype(np.float32))
    lab.training.start()
    assert lab.training.wait(60) and lab.training.state == "done"
    W = lab.model.get_weights()["W_rec"]
    assert np.all(W[:8, 10:] == 0) and np.count_nonzero(W[mask == 1]) > 0.9 * mask.sum()
    np.testing.assert_allclose(lab.connectivity.weights_array(), W, atol=1e-6)


# ------------------------------------------------------------------ the task picker in the Task tab
def test_picking_another_task_in_the_lab_rebuilds_the_network_for_it():
    from psychrnn_widgets.widgets import Lab

    from psychrnn_widgets.tasks import GoNoGo

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=20), tasks={"my Go/No-Go": GoNoGo(T=900, N_batch=4)})
    assert lab.setup_tabs.children[0] is lab.task_panel and lab.task_panel.task_name == "PerceptualDiscrimination"
    assert "my Go/No-Go" in lab.task_panel.choice.options
    lab.task_panel.task_name = "ProAntiSaccade"
    picked = lab.task
    assert type(picked).__name__ == "ProAntiSaccade" and (picked.dt, picked.N_batch) == (10, 32)
    assert (lab.model.N_in, lab.model.N_out, lab.model.N_rec) == (11, 9, 20)
    assert lab.training.task is picked and lab.trajectories.task is picked
    lab.task_panel.choice.value = "PerceptualDiscrimination"  # back to the task as it was
    assert lab.task is task and (lab.model.N_in, lab.model.N_out) == (2, 2)
