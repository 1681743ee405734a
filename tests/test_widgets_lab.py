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
def test_lab_start_pause_resume_stop_and_message_rate(monkeypatch):
    from psychrnn_widgets.widgets import Lab

    task = small_task()
    lab = Lab(task, network_params(task, N_rec=30), training_iters=10**7)
    assert lab.model is not None and lab.model.N_rec == 30
    assert lab.connectivity.n == 30 and lab.trajectories3d.n_lines == 8  # composed views are fed
    w_before = lab.model.get_weights()["W_rec"]
    log = MessageLog(monkeypatch)

    lab.training.start_button.click()
    assert wait_until(lambda: len(lab.training.loss_line.x) >= 10 and (status_step(lab) or 0) >= 10, 60), \
        lab.training.status.value
    assert lab.training.thread.is_alive()

    # the live views: <= ~10 updates per second, x and y in one message
    t0, flushes0, steps0 = time.monotonic(), lab.updater.n_flushes, lab.training.epoch
    time.sleep(2.5)
    t1, flushes1, steps1 = time.monotonic(), lab.updater.n_flushes, lab.training.epoch
    window = t1 - t0
    assert steps1 - steps0 > 30  # training ran much faster than the display
    assert flushes1 - flushes0 <= 10 * window + 2
    live = [lab.training.loss_line, lab.training.accuracy_line, lab.training.status, lab.training.progress,
            lab.trajectories.lines, lab.trajectories3d]
    for widget in live:
        assert len(log.between(t0, t1, widget)) <= 10 * window + 2, type(widget).__name__
    loss_msgs = log.between(t0, t1, lab.training.loss_line)
    assert len(loss_msgs) >= 5 and all({"x", "y"} <= keys for _, _, keys in loss_msgs)
    assert len(log.between(t0, t1, lab.trajectories.lines)) <= 2 * window + 2  # PCA refresh <= 2 Hz
    assert len(log.between(t0, t1)) <= 8 * (10 * window + 2)  # every widget of the dashboard together
    assert "psychrnn-training" in log.threads  # the thread itself sets the (throttled) values

    # Pause freezes the step count
    lab.training.pause_button.click()
    assert lab.training.state == "paused" and lab.training.control.waiting.is_set()
    paused_at = status_step(lab)
    n_points = len(lab.training.loss_line.x)
    time.sleep(0.6)
    assert status_step(lab) == paused_at == lab.training.epoch
    assert len(lab.training.loss_line.x) == n_points
    assert "paused" in lab.training.status.value

    # Resume continues
    lab.training.resume_button.click()
    assert wait_until(lambda: (status_step(lab) or 0) > paused_at + 5, 60)
    assert len(lab.training.loss_line.x) > n_points

    # Stop joins the thread; the model stays usable with finite outputs and trained weights
    lab.training.stop_button.click()
    assert not lab.training.thread.is_alive()
    assert lab.training.state == "stopped" and "stopped" in lab.training.status.value
    assert not lab.training.start_button.disabled and lab.training.stop_button.disabled
    x = task.generate_batch(5)[0]
    outputs, states = lab.model.test(x, noise=False)
    assert outputs.shape == (5, task.N_steps, 2) and np.isfinite(outputs).all() and np.isfinite(states).all()
    assert not np.allclose(lab.model.get_weights()["W_rec"], w_before)
    np.testing.assert_allclose(lab.connectivity.weights_array(), lab.model.get_weights()["W_rec"], atol=1e-6)
    stopped_at = lab.training.epoch
    time.sleep(0.3)
    assert lab.training.epoch == stopped_at


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
def test_lab_controls_rebuild_only_when_not_training():
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

    # a network change rebuilds the model
    lab.network_panel.controls["N_rec"].value = 24
    assert lab.model is not first and lab.model.N_rec == 24 and lab.training.model is lab.model
    assert lab.connectivity.n == 24 and lab.trajectories.model is lab.model

    # while training: changes wait for Stop
    lab.training.start_button.click()
    assert wait_until(lambda: lab.training.epoch >= 2, 60)
    running_model = lab.model
    lab.network_panel.controls["N_rec"].value = 26
    assert lab.model is running_model and "network" in lab.pending
    lab.training.stop_button.click()
    assert not lab.training.thread.is_alive()
    assert lab.pending == set() and lab.model.N_rec == 26
    # a new model starts a new history
    assert len(lab.training.loss_line.x) == 0 and lab.training.trials == 0 and lab.training.state == "idle"
    assert lab.trajectories.model is lab.model and lab.connectivity.n == 26


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
