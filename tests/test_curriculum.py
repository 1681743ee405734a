"""Curriculum: PsychRNN semantics, live stepping from another thread, observability."""
import threading
import time

import numpy as np
import pytest

from helpers import network_params
from psychrnn_widgets import (Basic, Curriculum, MatchToCategory, ParameterError, PerceptualDiscrimination,
                              TrainingControl, default_metric)


class RecordingTask(PerceptualDiscrimination):
    """PerceptualDiscrimination that logs which stage produced each batch."""

    def __init__(self, label, log, **kwargs):
        super().__init__(dt=10, tau=100, N_batch=50, **kwargs)
        self.label, self.log = label, log

    def generate_batch(self, *args, **kwargs):
        self.log.append(self.label)
        return super().generate_batch(*args, **kwargs)


def coherence_stages(coherences=(0.7, 0.5, 0.3, 0.1), seed=0):
    return [PerceptualDiscrimination(dt=10, tau=100, T=2000, N_batch=50, coherence=c, seed=seed + i)
            for i, c in enumerate(coherences)]


def test_four_stage_curriculum_advances_through_every_stage_and_stops(tmp_path, capsys):
    tasks = coherence_stages()
    curriculum = Curriculum(tasks, thresholds=[0.9] * 4, metric_epoch=5, output_file=str(tmp_path / "metrics"))
    changes = []
    curriculum.observe(changes.append)
    model = Basic(network_params(tasks[0], seed=0))
    losses, _, _ = model.train(None, dict(curriculum=curriculum, training_iters=100000, learning_rate=0.005,
                                          verbosity=True))
    out = capsys.readouterr().out
    assert curriculum.stop_training and curriculum.stage == 4
    stages_seen = [int(s) for _, s in curriculum.metric_values]
    assert stages_seen == sorted(stages_seen) and set(stages_seen) == {0, 1, 2, 3}
    assert all(0 <= v <= 1 for v, _ in curriculum.metric_values)
    for stage in range(4):  # each stage left with a passing check
        assert max(v for v, s in curriculum.metric_values if s == stage) >= 0.9
    assert [c.stage for c in changes if c.kind == "stage"] == [1, 2, 3, 4]
    assert "Stage 4" in out and "Accuracy: " in out
    saved = np.load(tmp_path / "metrics.npy")
    np.testing.assert_allclose(saved, np.asarray(curriculum.metric_values))
    assert len(losses) < 100000 / 50 / 10  # stopped early, at the end of the curriculum


def test_hand_stepping_from_another_thread_changes_the_next_training_batch():
    log = []
    tasks = [RecordingTask(k, log, T=2000 - 500 * k, seed=k) for k in range(3)]
    curriculum = Curriculum(tasks, thresholds=[2.0] * 3, metric_epoch=10 ** 6)  # never advances by itself
    model = Basic(network_params(tasks[0]))
    stage_at_step = []
    state = {}

    def on_event(event):
        if event.kind == "step":
            stage_at_step.append(event.stage)
            state["steps"] = event.epoch

    control = TrainingControl()
    thread = threading.Thread(target=model.train, args=(None, dict(
        curriculum=curriculum, training_iters=10 ** 7, verbosity=False, callbacks=on_event, control=control)))
    thread.start()

    def wait_steps(n):
        deadline = time.time() + 60
        target = state.get("steps", 0) + n
        while state.get("steps", 0) < target and time.time() < deadline:
            time.sleep(0.02)

    try:
        wait_steps(2)
        for action, expected in ((curriculum.advance, 1), (curriculum.advance, 2), (curriculum.back, 1),
                                 (lambda: curriculum.set_stage(0), 0), (lambda: curriculum.set_stage(2), 2)):
            control.pause()
            time.sleep(0.3)  # let the current step finish
            action()
            n_before = len(log)
            control.resume()
            wait_steps(2)
            assert log[n_before] == expected  # the very next batch comes from the new stage
            assert curriculum.stage == expected
    finally:
        control.request_stop()
        thread.join(60)
    assert not thread.is_alive()
    assert set(stage_at_step) == {0, 1, 2}


def test_thresholds_editable_auto_mode_and_events():
    tasks = coherence_stages((0.7, 0.1))
    curriculum = Curriculum(tasks, metric_epoch=1)
    changes = []
    curriculum.observe(changes.append)
    x, y, mask, _ = tasks[0].get_trial_batch()
    assert curriculum.metric_test(x, y, mask, y, 1, [], False) is True  # perfect output advances
    assert curriculum.stage == 1
    curriculum.set_threshold(1, 1.5)
    x, y, mask, _ = tasks[1].get_trial_batch()
    assert curriculum.metric_test(x, y, mask, y, 2, [], False) is False  # 1.0 < 1.5
    curriculum.set_threshold(1, 0.5)
    curriculum.auto_advance = False
    assert curriculum.metric_test(x, y, mask, y, 3, [], False) is False and curriculum.stage == 1
    curriculum.auto_advance = True
    assert curriculum.metric_test(x, y, mask, y, 4, [], False) is True and curriculum.stop_training
    assert curriculum.metric_values == [[1.0, 0], [1.0, 1], [1.0, 1], [1.0, 1]]
    kinds = [c.kind for c in changes]
    assert kinds == ["metric", "stage", "threshold", "metric", "threshold", "metric", "metric", "stage"]
    curriculum.back()
    assert curriculum.stage == 1 and not curriculum.stop_training


def test_psychrnn_api_details():
    tasks = coherence_stages((0.7, 0.3))
    curriculum = Curriculum(tasks)
    assert curriculum.thresholds == [0.9, 0.9] and curriculum.metric_epoch == 10
    with pytest.warns(DeprecationWarning):
        generator = curriculum.get_generator_function()
    assert next(generator)[0].shape == (50, 200, 2)
    advance, value = default_metric(curriculum._params(), None, np.eye(2)[None].repeat(3, 0), np.ones((3, 2, 2)),
                                    np.eye(2)[None].repeat(3, 0), 1, [], False)
    assert advance and value == 1.0
    with pytest.raises(ParameterError, match="thresholds"):
        Curriculum(tasks, thresholds=[0.9])
    with pytest.raises(ParameterError, match="stage"):
        curriculum.set_stage(5)
    with pytest.raises(ParameterError, match="N_in"):
        Curriculum([tasks[0], MatchToCategory(dt=10, tau=100, T=2000, N_batch=5)])
