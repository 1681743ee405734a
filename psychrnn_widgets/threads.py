"""TensorFlow's CPU thread pools: how many threads one operation uses, and how many operations run at once.

TensorFlow runs a graph with two pools, both sized once per process when it starts:

* **intra-op** threads split one operation (a matrix product, an element-wise op) into pieces;
* **inter-op** threads run operations that do not depend on each other at the same time.

Its default sizes both to the number of cores.  For the small networks this package is
mostly used with, one intra-op thread is often faster: splitting a 50-unit product costs
more than it saves, and the inter-op threads then run the independent products of a step
side by side.  Measured on 2 cores (``benchmarks/RESULTS.md`` and ``benchmarks/README.md``,
"Ensembles"): the step of an :class:`~psychrnn_widgets.Ensemble` of 16 hello-world
networks took about 0.6 times as long, one hello-world network's plain-graph step
0.75-0.9 times; a 256-unit network's XLA step took about 1.4 times as long, so this is a
choice per workload, not a default.

:func:`set_tensorflow_threads` makes that choice before TensorFlow starts (the pools
cannot change afterwards); the environment variables ``TF_NUM_INTRAOP_THREADS`` and
``TF_NUM_INTEROP_THREADS`` (read by TensorFlow when it starts) do the same from a shell.
No TensorFlow import here: calling it before TensorFlow is loaded costs nothing.
"""
import os
import sys

from .params import THREAD_PARAMS

__all__ = ["set_tensorflow_threads", "tensorflow_threads", "environment_threads", "TensorFlowStartedError",
           "ENVIRONMENT"]

#: the environment variables TensorFlow reads when it starts, by pool
ENVIRONMENT = {"intra_op": "TF_NUM_INTRAOP_THREADS", "inter_op": "TF_NUM_INTEROP_THREADS"}


class TensorFlowStartedError(RuntimeError):
    """TensorFlow already runs in this process with other pool sizes; they cannot change any more."""


def environment_threads(pool):
    """The size the environment asks TensorFlow for in ``pool`` ('intra_op' or 'inter_op'), or None."""
    text = os.environ.get(ENVIRONMENT[pool], "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def tensorflow_threads():
    """``{'intra_op': n or None, 'inter_op': n or None}``: the sizes asked for (None: TensorFlow's default).

    Read from TensorFlow when it is loaded (what was set there), else from the environment
    variables it reads when it starts.
    """
    tf = sys.modules.get("tensorflow")
    configured = {}
    if tf is not None and hasattr(tf, "config"):
        configured = {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                      "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
    return {pool: configured.get(pool) or environment_threads(pool) for pool in ENVIRONMENT}


def set_tensorflow_threads(intra_op=None, inter_op=None):
    """Size TensorFlow's thread pools for this process; call it before anything trains or runs a network.

    Args:
        intra_op: threads that split one operation (int >= 1), or None to leave as is.
        inter_op: operations that run at once (int >= 1), or None to leave as is.

    Before TensorFlow starts, the sizes are set both in TensorFlow's configuration (if it
    is imported) and in the environment variables it reads, so child processes started
    from here inherit them.  Once TensorFlow has started (it runs its first operation
    when a network is built), asking for other sizes raises
    :class:`TensorFlowStartedError`; asking for the sizes it already has is allowed.

    Returns:
        :func:`tensorflow_threads` after the change.
    """
    asked = {"intra_op": intra_op, "inter_op": inter_op}
    wanted = {pool: THREAD_PARAMS[pool].validate(n, "set_tensorflow_threads") for pool, n in asked.items()}
    wanted = {pool: int(n) for pool, n in wanted.items() if n is not None}
    tf = sys.modules.get("tensorflow")
    if tf is not None and hasattr(tf, "config"):
        setters = {"intra_op": tf.config.threading.set_intra_op_parallelism_threads,
                   "inter_op": tf.config.threading.set_inter_op_parallelism_threads}
        current = tensorflow_threads()
        for pool, n in wanted.items():
            try:
                setters[pool](n)
            except RuntimeError:  # TensorFlow's context is initialised: the pools are fixed
                if current[pool] != n:
                    have = current[pool] if current[pool] is not None else "one per core (the default)"
                    raise TensorFlowStartedError(
                        f"TensorFlow has already started in this process with {pool} threads = {have}; its thread "
                        f"pools cannot change any more.  Restart the kernel (or Python) and call "
                        f"set_tensorflow_threads({pool}={n}) before building a network, or start Python with "
                        f"{ENVIRONMENT[pool]}={n}") from None
    for pool, n in wanted.items():
        os.environ[ENVIRONMENT[pool]] = str(n)
    return tensorflow_threads()
