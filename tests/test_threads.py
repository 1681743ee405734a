"""``set_tensorflow_threads``: TensorFlow's pool sizes chosen before it starts, and a clear refusal after."""
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from psychrnn_widgets import ParameterError, set_tensorflow_threads
from psychrnn_widgets.threads import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("pool", ["intra_op", "inter_op"])
@pytest.mark.parametrize("value", [0, -3, 2.5, math.nan, "1", True, [2]])
def test_a_bad_size_is_refused_naming_the_pool_and_changes_nothing(pool, value):
    before = {variable: os.environ.get(variable) for variable in ENVIRONMENT.values()}
    with pytest.raises(ParameterError, match=pool) as caught:
        set_tensorflow_threads(**{pool: value})
    assert caught.value.parameter == pool
    assert {variable: os.environ.get(variable) for variable in ENVIRONMENT.values()} == before


def run_script(source):
    env = {key: value for key, value in os.environ.items() if key not in ENVIRONMENT.values()}
    env.update(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_sizes_set_before_tensorflow_starts_reach_it_and_child_processes_and_cannot_change_after():
    out = run_script("""
        import os, subprocess, sys
        from psychrnn_widgets import set_tensorflow_threads
        from psychrnn_widgets.threads import TensorFlowStartedError, tensorflow_threads

        assert tensorflow_threads() == {"intra_op": None, "inter_op": None}
        assert "tensorflow" not in sys.modules          # choosing costs no TensorFlow import
        assert set_tensorflow_threads(intra_op=1, inter_op=2) == {"intra_op": 1, "inter_op": 2}
        assert "tensorflow" not in sys.modules
        child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['TF_NUM_INTRAOP_THREADS'])"],
                               capture_output=True, text=True)
        assert child.stdout.strip() == "1"
        from psychrnn_widgets import Basic
        model = Basic(dict(name="t", N_in=2, N_rec=5, N_out=1, N_steps=10, dt=10, tau=100, N_batch=2))
        import tensorflow as tf
        assert tensorflow_threads() == {"intra_op": 1, "inter_op": 2}
        assert set_tensorflow_threads(intra_op=1) == {"intra_op": 1, "inter_op": 2}  # what it has: allowed
        for ask in (dict(intra_op=2), dict(inter_op=1)):
            try:
                set_tensorflow_threads(**ask)
            except TensorFlowStartedError as error:
                print(error)
            else:
                raise AssertionError(f"{ask} was accepted after TensorFlow started")
        assert os.environ["TF_NUM_INTRAOP_THREADS"] == "1"  # a refused change leaves everything as it was
    """)
    refusals = out.strip().splitlines()
    assert len(refusals) == 2
    assert "intra_op threads = 1" in refusals[0] and "TF_NUM_INTRAOP_THREADS=2" in refusals[0]
    assert "inter_op threads = 2" in refusals[1] and "set_tensorflow_threads(inter_op=1)" in refusals[1]


def test_sizes_set_after_import_but_before_the_first_operation_are_taken_by_tensorflow():
    run_script("""
        import tensorflow as tf
        from psychrnn_widgets import set_tensorflow_threads
        set_tensorflow_threads(intra_op=1)
        assert tf.config.threading.get_intra_op_parallelism_threads() == 1
        tf.constant(1.0) + 1.0
        assert tf.config.threading.get_intra_op_parallelism_threads() == 1
    """)


def test_a_sweep_worker_gives_tensorflow_one_intra_op_thread_and_its_cores_as_inter_op_threads():
    out = run_script("""
        import os
        from psychrnn_widgets.sweeps.worker import configure_threads
        from psychrnn_widgets.threads import tensorflow_threads
        configure_threads(3)
        print(tensorflow_threads())
        import tensorflow as tf
        tf.constant(1.0) + 1.0                  # started: a later task on the worker keeps what it has
        configure_threads(2)
        print(tensorflow_threads())
    """)
    assert out.split("\n")[:2] == ["{'intra_op': 1, 'inter_op': 3}"] * 2
    kept = run_script("""
        import os
        os.environ["TF_NUM_INTRAOP_THREADS"] = "2"  # the worker's environment wins
        from psychrnn_widgets.sweeps.worker import configure_threads
        from psychrnn_widgets.threads import tensorflow_threads
        configure_threads(4)
        print(tensorflow_threads())
    """)
    assert kept.strip() == "{'intra_op': 2, 'inter_op': 4}"
