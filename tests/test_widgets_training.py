"""Throttled update loop, training panel and trajectory view, headless (no browser)."""
import threading
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from helpers import network_params, wait_until  # noqa: E402
from psychrnn_widgets.widgets.throttle import Series, ThrottledUpdater  # noqa: E402


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


# --------------------------------------------------------------------------- throttle
@pytest.mark.parametrize("max_points", [5000, 7, 8])
@pytest.mark.parametrize("n", [0, 1, 6, 9, 4999, 5000, 5001, 23456])
def test_series_is_downsampled_float32_and_ends_with_latest(max_points, n):
    series = Series(max_points)
    for i in range(n):
        series.append(i, 2.0 * i)
    x, y = series.arrays()
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert len(x) <= max_points
    assert np.array_equal(y, 2 * x)
    if n:
        assert x[0] == 0 and x[-1] == n - 1  # first and latest point kept
        assert np.all(np.diff(x) > 0)
        if n <= max_points:
            assert len(x) == n  # nothing dropped until the buffer is full
        else:
            assert len(x) >= max_points // 4  # downsampled, not emptied
            strides = np.diff(x)[:-1]
            assert len(set(strides.tolist())) <= 1  # evenly spaced (except the latest point)


def test_maybe_flush_is_rate_limited_by_the_clock():
    clock = FakeClock()
    upd = ThrottledUpdater(max_rate_hz=10, clock=clock)
    calls = []
    upd.add_flusher(lambda: calls.append(upd.get("v")))
    for i in range(1000):  # 1000 pushes over 2 simulated seconds
        clock.now = i * 0.002
        upd.push("v", i)
        upd.maybe_flush()
    assert upd.n_flushes == len(calls)
    assert 19 <= len(calls) <= 21
    assert calls[0] == 0 and calls[-1] >= 950
    # nothing new: no flush even when due; flush() always runs (the final flush)
    clock.now += 1.0
    assert upd.maybe_flush() is True  # value 999 not shown yet
    clock.now += 1.0
    assert upd.maybe_flush() is False
    upd.flush()
    assert calls[-1] == 999 and upd.n_flushes == len(calls)


def test_spare_counts_the_last_second_and_the_flush_in_progress():
    clock = FakeClock()
    upd = ThrottledUpdater(max_rate_hz=10, clock=clock, message_budget=10)
    assert ThrottledUpdater().spare() is None  # no budget: no limit to tell
    seen = []
    upd.add_flusher(lambda: 4)  # a view that sends 4 messages per flush
    upd.add_flusher(lambda: seen.append(upd.spare()) or 0)  # a low-priority view asks what is left
    upd.push("v", 1)
    assert upd.maybe_flush() and seen == [6]  # 10 - the 4 just sent in this flush
    assert upd.spare() == 6  # after it: the 4 are within the last second
    clock.now += 0.5
    upd.push("v", 2)
    assert upd.maybe_flush() and seen == [6, 2]
    clock.now += 1.01  # both flushes are more than a second old
    assert upd.spare() == 10


def test_flusher_errors_are_kept_not_raised_and_forcing_is_visible():
    upd = ThrottledUpdater()
    seen = []

    def broken():
        raise ValueError("view bug")

    upd.add_flusher(broken)
    upd.add_flusher(lambda: seen.append(upd.forcing))
    upd.push("a", 1)
    assert upd.maybe_flush()
    upd.flush()
    assert seen == [False, True]
    assert len(upd.errors) == 2 and isinstance(upd.errors[0][1], ValueError)
    upd.remove_flusher(broken)
    upd.flush()
    assert len(upd.errors) == 2


def test_updater_from_threads_keeps_the_rate_and_every_point():
    upd = ThrottledUpdater(max_rate_hz=10)
    upd.add_flusher(lambda: upd.series("s"))

    def worker(offset):
        deadline = time.monotonic() + 1.0
        i = 0
        while time.monotonic() < deadline:
            upd.append("s", offset + i, i)
            upd.maybe_flush()
            i += 1

    threads = [threading.Thread(target=worker, args=(k * 10**7,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert upd.n_flushes <= 12  # 10 Hz over ~1 s, plus the first one
    assert upd.n_flushes >= 5
    x, y = upd.series("s")
    assert len(x) <= 5000 and x.dtype == np.float32
    assert upd.n_appended("s") > 5000  # the threads appended far more than is kept


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def pd_task():
    from psychrnn_widgets import PerceptualDiscrimination

    return PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, seed=0)


@pytest.fixture
def model(pd_task):
    from psychrnn_widgets import Basic

    return Basic(network_params(pd_task, N_rec=30))


class MessageLog:
    """Counts the comm messages widgets send (``Widget._send``), with their time and state keys."""

    def __init__(self, monkeypatch):
        from ipywidgets.widgets.widget import Widget

        self.messages = []
        original = Widget._send

        def send(widget, msg, buffers=None):
            if msg.get("method") == "update":
                self.messages.append((time.monotonic(), widget, frozenset(msg.get("state", {}))))
            return original(widget, msg, buffers=buffers)

        monkeypatch.setattr(Widget, "_send", send)

    def to(self, widget, start=-np.inf, stop=np.inf):
        return [m for m in self.messages if m[1] is widget and start <= m[0] <= stop]


def status_step(panel):
    import re

    match = re.search(r"step (\d+)", panel.status.value)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- training panel
def test_training_panel_runs_in_background_with_bounded_message_rate(pd_task, model, monkeypatch):
    from psychrnn_widgets.training import step as step_module
    from psychrnn_widgets.widgets.training_panel import TrainingPanel

    # no switch to XLA in the measured window: on a busy machine the wait for the compiler
    # (honouring stop and pause, but sending no updates) could fill it
    monkeypatch.setattr(step_module, "XLA_AFTER_STEPS", 10 ** 9)
    log = MessageLog(monkeypatch)
    panel = TrainingPanel(model, pd_task, training_iters=10**7, loss_epoch=5)
    panel.start_button.click()
    assert panel.running and panel.start_button.disabled and not panel.stop_button.disabled
    assert wait_until(lambda: len(panel.loss_line.x) >= 3, 60), panel.status.value
    # the kernel (this thread) stays usable while training runs
    assert panel.thread.is_alive() and np.isfinite(model.test(pd_task.generate_batch(4)[0], noise=False)[0]).all()
    t0 = time.monotonic()
    flushes0 = panel.updater.n_flushes
    epoch0 = panel.epoch
    time.sleep(2.0)
    t1 = time.monotonic()
    window = t1 - t0
    steps = panel.epoch - epoch0
    flushes = panel.updater.n_flushes - flushes0
    loss_msgs = log.to(panel.loss_line, t0, t1)
    status_msgs = log.to(panel.status, t0, t1)
    assert steps > 20  # many more steps than updates: the updates are throttled
    assert 2 <= len(loss_msgs) <= 10 * window + 2
    assert len(status_msgs) <= 10 * window + 2
    assert flushes <= 10 * window + 2
    assert all({"x", "y"} <= keys for _, _, keys in loss_msgs)  # x and y in one message (hold_sync)
    all_msgs = [m for m in log.messages if t0 <= m[0] <= t1]
    assert len(all_msgs) <= 6 * (10 * window + 2)  # a handful of widgets per flush at most
    assert panel.loss_line.x.dtype == np.float32 and panel.loss_line.y.dtype == np.float32
    assert len(panel.accuracy_line.x) >= 1  # accuracy every loss_epoch epochs
    assert panel.stop(timeout=30) and not panel.thread.is_alive()
    assert panel.state == "stopped" and not panel.running and not panel.start_button.disabled
    assert "stopped" in panel.status.value and panel.outcome == "stopped"


def test_learning_rate_change_applies_live_and_history_continues(pd_task, model):
    from psychrnn_widgets.widgets.training_panel import TrainingPanel

    panel = TrainingPanel(model, pd_task, training_iters=32 * 40)
    panel.start()
    assert wait_until(lambda: panel.epoch >= 2, 60)
    panel.learning_rate.value = 0.0123
    assert panel.wait(60) and panel.state == "done"
    from psychrnn_widgets.training.trainer import Trainer

    assert Trainer.of(model).optimizer_state.adam.learning_rate.numpy() == pytest.approx(0.0123)
    assert panel.trials == 32 * 40 and status_step(panel) == 40
    first_run_x = panel.loss_line.x.copy()
    panel.start()
    assert panel.wait(60) and panel.state == "done"
    # a second Start continues: the curve goes on along the trial axis
    assert panel.trials == 2 * 32 * 40
    assert panel.loss_line.x[-1] == pytest.approx(2 * 32 * 40) and first_run_x[-1] == pytest.approx(32 * 40)
    assert len(panel.loss_line.x) == 80
    first_line = panel.status.value.split("</div>")[0]  # the counts line (the second is this run's progress)
    assert "done" in first_line and "1,280" not in first_line and "2,560 trials" in first_line


def test_error_in_training_thread_shows_in_status(pd_task, model):
    from psychrnn_widgets import PerceptualDiscrimination
    from psychrnn_widgets.widgets.training_panel import TrainingPanel

    class Flaky(PerceptualDiscrimination):
        calls = 0

        def generate_batch(self, *args, **kwargs):
            Flaky.calls += 1
            if Flaky.calls > 6:
                raise RuntimeError("the rig lost its <stimulus> file")
            return super().generate_batch(*args, **kwargs)

    task = Flaky(dt=10, tau=100, T=500, N_batch=32, seed=1)
    panel = TrainingPanel(model, task, training_iters=10**6)
    panel.start()
    assert panel.wait(60)
    assert panel.state == "failed" and isinstance(panel.error, RuntimeError)
    assert "RuntimeError: the rig lost its &lt;stimulus&gt; file" in panel.status.value  # escaped HTML
    assert "Traceback" in panel.error_traceback
    assert panel.outcome == "failed" and not panel.start_button.disabled
    assert len(panel.loss_line.x) >= 1  # the steps before the error are kept
    assert np.isfinite(model.test(pd_task.generate_batch(4)[0], noise=False)[0]).all()


def test_start_without_model_says_so_and_pause_resume_states(pd_task, model):
    from psychrnn_widgets.widgets.training_panel import TrainingPanel

    panel = TrainingPanel(None, pd_task)
    assert panel.start() is False and "model" in panel.status.value and not panel.running
    panel.model = model
    panel.start()
    assert panel.pause() and panel.state == "paused" and not panel.resume_button.disabled
    assert wait_until(lambda: panel.control.waiting.is_set(), 60)  # the loop waits before its next step
    frozen = panel.epoch
    time.sleep(0.4)
    assert panel.epoch == frozen
    with pytest.raises(RuntimeError):
        panel.model = None  # not while training
    assert panel.resume() and panel.state == "running"
    assert wait_until(lambda: panel.epoch > frozen + 3, 60)
    assert panel.stop(timeout=30) and panel.state == "stopped"


# --------------------------------------------------------------------------- trajectory view
def test_pca_project_matches_numpy():
    from psychrnn_widgets.widgets.trajectory_view import pca_project

    rng = np.random.default_rng(0)
    states = rng.standard_normal((6, 40, 12)) @ np.diag(np.linspace(3, 0.1, 12))
    proj, comps, explained = pca_project(states, 3)
    assert proj.shape == (6, 40, 3) and proj.dtype == np.float32
    flat = states.reshape(-1, 12) - states.reshape(-1, 12).mean(0)
    eig = np.sort(np.linalg.eigvalsh(flat.T @ flat))[::-1]
    np.testing.assert_allclose(explained, eig[:3] / eig.sum(), rtol=1e-6)
    np.testing.assert_allclose(comps @ comps.T, np.eye(3), atol=1e-10)
    # signs follow the previous basis
    flipped, comps2, _ = pca_project(states, 3, previous=-comps)
    np.testing.assert_allclose(flipped, -proj, rtol=1e-5, atol=1e-5)
    # fewer units than components: zero padded
    small, _, ex = pca_project(states[:, :, :2], 3)
    assert small.shape == (6, 40, 3) and np.all(small[..., 2] == 0) and ex[2] == 0


def test_trajectory_view_probe_conditions_and_refresh(pd_task, model):
    from psychrnn_widgets.widgets.trajectory_view import TrajectoryView

    view = TrajectoryView(model, pd_task)
    assert view.message.value == ""
    assert view.projection.shape == (8, pd_task.N_steps, 3)  # 4 coherences x 2 directions
    assert view.lines.x.shape == (8, pd_task.N_steps) and view.lines.x.dtype == np.float32
    assert len(set(view.colors)) == 8 and view.labels[0] == "ch0 coh 0.1"
    x, *_ = view.probe()
    assert np.array_equal(x, view.probe()[0])  # fixed probe, no noise
    before = view.lines.x.copy()
    model.train(pd_task, {"training_iters": 32 * 30, "verbosity": False, "learning_rate": 0.01})
    assert view.refresh() and view.n_refreshes == 2
    assert not np.allclose(view.lines.x, before)
    view.pc_y.value = 2
    np.testing.assert_array_equal(view.lines.y, view.projection[:, :, 2])


def test_trajectory_view_generic_tasks_and_errors():
    from psychrnn_widgets import Basic, MatchToCategory
    from psychrnn_widgets.widgets.trajectory_view import TrajectoryView

    task = MatchToCategory(dt=50, tau=100, T=2000, N_batch=8, seed=3)
    state = task.rng.bit_generator.state
    net = Basic(network_params(task, N_rec=20))
    view = TrajectoryView(net, task)
    assert task.rng.bit_generator.state == state  # the probe does not use the task's own random stream
    n = view.projection.shape[0]
    assert 1 <= n <= 20 and len(view.colors) == n
    assert set(view.labels) <= {"target 0", "target 1"}
    bad = Basic(network_params(None, N_in=3, N_rec=20))
    view.set_model(bad)  # wrong N_in: a message, no exception
    assert "cannot compute trajectories" in view.message.value
    view.set_model(net)
    assert view.message.value == ""


def test_trajectory_view_refresh_rate_during_training(pd_task, model, monkeypatch):
    from psychrnn_widgets.widgets.training_panel import TrainingPanel
    from psychrnn_widgets.widgets.trajectory_view import TrajectoryView

    log = MessageLog(monkeypatch)
    upd = ThrottledUpdater(max_rate_hz=10)
    panel = TrainingPanel(model, pd_task, updater=upd, training_iters=10**7)
    view = TrajectoryView(model, pd_task, updater=upd, max_rate_hz=2)
    panel.start()
    assert wait_until(lambda: view.n_refreshes >= 2, 60)
    t0, n0 = time.monotonic(), view.n_refreshes
    time.sleep(2.0)
    t1, n1 = time.monotonic(), view.n_refreshes
    assert panel.stop(timeout=30)
    assert 1 <= n1 - n0 <= 2 * (t1 - t0) + 1
    assert len(log.to(view.lines, t0, t1)) <= 2 * (t1 - t0) + 1
    final = view.n_refreshes
    assert final >= n1  # the final flush refreshed once more (or nothing changed since)
    _, states = model.test(view.probe()[0], noise=False)
    from psychrnn_widgets.widgets.trajectory_view import pca_project

    np.testing.assert_allclose(np.abs(view.projection), np.abs(pca_project(states, 3)[0]), rtol=1e-4, atol=1e-4)


def test_every_flush_reports_at_least_the_comm_messages_it_sends(monkeypatch):
    """Issue 20: the message budget counts at the throttled updater (nothing replaces an ipywidgets method): each
    flusher's report of the messages it sent is at least what really left, for a whole Lab training run."""
    import collections
    import threading

    from ipywidgets.widgets.widget import Widget

    from psychrnn_widgets import PerceptualDiscrimination
    from psychrnn_widgets.widgets import Lab

    task = PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, seed=0)
    lab = Lab(task, network_params(task, N_rec=20), training_iters=32 * 60)
    sent = collections.Counter()  # thread -> messages sent by it (this test's instrument only)
    original = Widget._send

    def send(widget, msg, buffers=None):
        sent[threading.get_ident()] += 1
        return original(widget, msg, buffers=buffers)

    monkeypatch.setattr(Widget, "_send", send)
    calls = []

    def measured(fn):
        def flusher():
            me = threading.get_ident()
            before = sent[me]
            reported = fn()
            calls.append((getattr(fn, "__qualname__", repr(fn)), 1 if reported is None else reported,
                          sent[me] - before))
            return reported
        return flusher

    for fn in lab.updater.flushers:
        lab.updater.remove_flusher(fn)
        lab.updater.add_flusher(measured(fn))
    lab.training.start()
    assert lab.training.wait(120) and lab.training.state == "done"
    assert lab.analysis.wait(120)
    assert len(calls) > 20 and sum(real for _, _, real in calls) > 20
    under = [(name, reported, real) for name, reported, real in calls if reported < real]
    assert not under, under
