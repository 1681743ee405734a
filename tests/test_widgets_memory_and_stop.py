"""Flat memory over many Start / Stop in a headless Lab, and a fixed-point search that stops at once.

Each Start used to add 20-27 MB that never came back: every training run and every
analysis computation ran on a new thread, and glibc's malloc gave each new thread another
arena in which the run's freed arrays stayed behind.  Runs and computations now reuse
one worker thread each (``widgets/worker.py``).  A fixed-point search on a 256-unit
network used to return 24-62 s after Stop (the polishing and the final analysis ran on);
it now checks between pieces of about 0.2 s.
"""
import gc
import threading
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from helpers import network_params, wait_until  # noqa: E402
from psychrnn_widgets import PerceptualDiscrimination  # noqa: E402


# ---------------------------------------------------------------- the cause
def test_every_training_run_of_a_panel_runs_on_the_same_thread():
    from psychrnn_widgets import Basic
    from psychrnn_widgets.widgets.training_panel import TrainingPanel

    task = PerceptualDiscrimination(dt=10, tau=100, T=100, N_batch=4, seed=0)
    panel = TrainingPanel(Basic(network_params(task, N_rec=8, name="same_thread")), task, training_iters=4 * 3)
    idents = set()
    panel.extra_callbacks.append(lambda event: idents.add(threading.get_ident()))
    for _ in range(4):
        assert panel.start()
        assert panel.wait(60) and panel.state == "done"
        assert not panel.thread.is_alive()  # the run is over; the thread waits for the next one
    assert len(idents) == 1 and threading.get_ident() not in idents


def test_every_computation_of_an_analysis_job_runs_on_the_same_thread():
    from psychrnn_widgets.widgets.analysis_common import BackgroundJob
    from psychrnn_widgets.widgets.throttle import ThrottledUpdater

    results = []
    job = BackgroundJob(ThrottledUpdater(max_rate_hz=1000), results.append)
    for _ in range(5):
        job.start(lambda progress, should_stop: threading.get_ident())
        assert job.wait(10)
    assert len(results) == 5 and len(set(results)) == 1


def test_a_discarded_jobs_worker_keeps_nothing_of_it():
    import weakref

    from psychrnn_widgets.widgets.analysis_common import BackgroundJob
    from psychrnn_widgets.widgets.throttle import ThrottledUpdater

    updater = ThrottledUpdater(max_rate_hz=1000)
    job = BackgroundJob(updater, lambda result: None)
    job.start(lambda progress, should_stop: np.zeros(10))
    assert job.wait(10)
    ref = weakref.ref(job)
    del job, updater
    gc.collect()
    assert ref() is None  # the idle worker thread does not keep the job (or its panel) alive


# ---------------------------------------------------------------- the must-show
#: thirty Start / Stop cycles of a headless Lab, measured in a fresh interpreter (a kernel is
#: a process of its own; the test process carries every earlier test's caches and graphs)
CYCLES_SCRIPT = """
import gc, json, os, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests"))
from helpers import network_params
from psychrnn_widgets import PerceptualDiscrimination
from psychrnn_widgets.widgets import Lab

def rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20

task = PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=32, seed=0)
lab = Lab(task, network_params(task, N_rec=50), training_iters=10 ** 7)
rss, epochs, states = [], [], []
started = time.monotonic()
for _ in range(30):
    lab.training.start_button.click()  # abandons the analysis the last run's end started
    time.sleep(0.8)
    lab.training.stop_button.click()
    states.append(bool(lab.training.wait(60)) and lab.training.state)
    assert lab.analysis.wait(60)
    gc.collect()
    rss.append(rss_mb())  # a quiet moment: no run, no analysis
    epochs.append(lab.training.epoch)
    lab.updater.flush()  # the run's end: every analysis panel computes again in the background
    time.sleep(0.5)
print(json.dumps(dict(rss=rss, epochs=epochs, states=states, elapsed=time.monotonic() - started)))
"""


def test_thirty_start_stop_cycles_keep_memory_flat():
    """RSS grows by at most 2 MB per cycle after the first three (a least-squares slope, and end to end)."""
    import json

    from helpers import run_python

    done = run_python(CYCLES_SCRIPT, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    rss, epochs = measured["rss"], measured["epochs"]
    assert all(state == "stopped" for state in measured["states"]), measured["states"]
    assert epochs[-1] > epochs[2] > 0  # it trained in every cycle
    after = np.array(rss[3:])
    slope = np.polyfit(np.arange(len(after)), after, 1)[0]
    growth = (np.median(rss[-5:]) - np.median(rss[2:5])) / (len(rss) - 5)
    summary = (f"RSS per cycle (MB): {np.round(rss, 1).tolist()}; slope {slope:.2f} MB/cycle, "
               f"{measured['elapsed']:.0f} s")
    assert slope <= 2.0, summary
    assert growth <= 2.0, summary


# ---------------------------------------------------------------- prompt Stop
def big_network(n_rec=256, seed=0):
    """Weights of a random 256-unit tanh network (chaotic enough that the search does not end early)."""
    rng = np.random.default_rng(seed)
    return {"W_in": rng.normal(0, 0.5, (n_rec, 2)), "W_rec": rng.normal(0, 1.5 / np.sqrt(n_rec), (n_rec, n_rec)),
            "W_out": rng.normal(0, 0.1, (2, n_rec)), "b_rec": np.zeros(n_rec), "b_out": np.zeros(2),
            "init_state": np.zeros((1, n_rec)), "dt": 10.0, "tau": 100.0, "transfer_function": "tanh"}


def stop_latency(model, initial, phase):
    """Seconds from a Stop during ``phase`` of a search to its return (and the result)."""
    from psychrnn_widgets.analysis import find_fixed_points

    stop, asked = threading.Event(), []

    def ask():
        asked.append(time.perf_counter())
        stop.set()

    def progress(fraction, message):
        if phase in message and not asked and not stop.is_set():
            threading.Timer(0.05, ask).start()  # a click while the search works

    found = find_fixed_points(model, initial, q_tolerance=1.0, max_iterations=200, chunk=100, newton_steps=1,
                              progress=progress, should_stop=stop.is_set)
    returned = time.perf_counter()
    assert asked, f"the search never reached {phase!r}"
    return returned - asked[0], found


@pytest.mark.parametrize("phase", ["Adam step", "Newton step", "points analysed"])
def test_stopping_a_fixed_point_search_on_256_units_returns_within_a_second(phase):
    """Best of three tries (a shared machine may stall one): a search that runs on after Stop fails all three."""
    pytest.importorskip("tensorflow")
    from psychrnn_widgets.analysis import as_tf_model

    model = as_tf_model(big_network())
    initial = np.random.default_rng(1).normal(0, 1, (64, 256)).astype(np.float32)
    latencies = []
    for _ in range(3):
        latency, found = stop_latency(model, initial, phase)
        latencies.append(latency)
        assert found.stopped
        assert len(found) == len(found.q) == len(found.stable) <= found.initial_states.shape[0]
        if latency < 1.0:
            break
    assert min(latencies) < 1.0, f"returned {np.round(latencies, 2).tolist()} s after Stop ({phase})"


def test_the_fixed_point_panels_stop_button_returns_within_a_second():
    pytest.importorskip("tensorflow")
    from psychrnn_widgets.widgets.analysis_fixed_points import FixedPointPanel
    from psychrnn_widgets.widgets.throttle import ThrottledUpdater

    panel = FixedPointPanel(ThrottledUpdater(max_rate_hz=20))
    panel.set_source(big_network(), PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=8, seed=0))
    panel.max_iterations.value = 300
    for phase in ("Adam step", "Newton step"):
        latencies = []
        for _ in range(3):  # best of three, as above
            assert panel.find()
            assert wait_until(lambda: phase in panel.status.value, 120), panel.status.value
            clicked = time.perf_counter()
            panel.stop_button.click()
            assert panel.wait(30)
            latencies.append(time.perf_counter() - clicked)
            assert panel.result is not None and panel.result.stopped
            assert "search stopped" in panel.summary.value
            assert not panel.find_button.disabled and panel.stop_button.disabled
            if latencies[-1] < 1.0:
                break
        assert min(latencies) < 1.0, f"{np.round(latencies, 2).tolist()} s after Stop ({phase})"
