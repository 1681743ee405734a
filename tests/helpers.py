"""Helpers shared by the test modules (imported as ``helpers``; conftest.py holds fixtures)."""
import io
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

#: reference files written by the real PsychRNN (see tests/data/)
DATA = Path(__file__).resolve().parent / "data"
#: the repository root (its package is the one a fresh interpreter should import)
REPO = Path(__file__).resolve().parents[1]


def run_python(code, timeout=120):
    """Run ``code`` (dedented) in a fresh interpreter that imports this checkout's package.

    For import-rule tests (what a module pulls into ``sys.modules``).  Returns the
    ``subprocess.CompletedProcess`` (text output captured).
    """
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=timeout)


def network_params(task=None, **overrides):
    """``network_params`` for a hello-world-sized Basic network (override anything)."""
    params = dict(name="net", N_in=2, N_rec=50, N_out=2, N_steps=200, dt=10.0, tau=100.0, N_batch=50, seed=0)
    if task is not None:
        params.update(task.get_task_params())
        params.setdefault("name", "net")
        params["seed"] = 0
    params.update(overrides)
    return params


def wait_until(predicate, timeout=60.0, poll=0.02):
    """Poll ``predicate`` until true or ``timeout`` s pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(poll)


def object_npy(payload, shape=()):
    """A .npy member holding an object array whose pickle is ``payload``."""
    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": "|O", "fortran_order": False, "shape": shape})
    buffer.write(payload)
    return buffer.getvalue()


def with_member(source, target, key, npy_bytes):
    """Copy the .npz ``source`` to ``target`` with member ``key`` set to raw .npy bytes."""
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != key + ".npy":
                new.writestr(info.filename, old.read(info))
        new.writestr(key + ".npy", npy_bytes)
    return target


def object_pickle_holding(opcodes):
    """Pickle of a 0-d object array whose one value is what the pickle ``opcodes`` push.

    A placeholder string pickled with protocol 3 (no frames), its BINUNICODE opcode
    swapped for ``opcodes`` (which must leave exactly one value on the stack).
    """
    placeholder = "PLACEHOLDER_GLOBAL"
    payload = pickle.dumps(np.array(placeholder, dtype=object), protocol=3)
    encoded = placeholder.encode()
    opcode = b"X" + len(encoded).to_bytes(4, "little") + encoded
    assert payload.count(opcode) == 1
    return payload.replace(opcode, opcodes)


def global_reference_pickle(module, name):
    """Pickle of a 0-d object array holding the global ``module.name``, built without importing
    ``module`` (what np.savez writes for ``transfer_function=tf.nn.relu`` on PsychRNN master)."""
    return object_pickle_holding(b"c" + module.encode() + b"\n" + name.encode() + b"\n")


def laughs_pickle(fanout=10, depth=8):
    """A "billion laughs" pickle (a few hundred bytes): a 0-d object array holding a list
    that refers ``fanout`` times to the list below it, ``depth`` levels deep, down to 0.

    Pickle's memo makes the references cheap to write; expanded (``tolist()``, ``np.array``,
    a recursive copy) it is ``fanout ** depth`` values.  Memo slots from 1000 up, clear of
    the ones NumPy's own part of the pickle uses.
    """
    def put(slot):
        return b"r" + (1000 + slot).to_bytes(4, "little")  # LONG_BINPUT

    def get(slot):
        return b"j" + (1000 + slot).to_bytes(4, "little")  # LONG_BINGET

    opcodes = b"K\x00" + put(0) + b"0"  # BININT1 0, memoised, popped
    for level in range(1, depth + 1):
        opcodes += b"](" + get(level - 1) * fanout + b"e" + put(level)  # EMPTY_LIST MARK gets... APPENDS
        if level < depth:
            opcodes += b"0"  # POP: only the top list stays on the stack
    return object_pickle_holding(opcodes)


#: NumPy versions of the transfer functions, written independently of the package (float64)
NUMPY_TRANSFER = {
    "relu": lambda v: np.maximum(v, 0.0),
    "tanh": np.tanh,
    "softplus": lambda v: np.log1p(np.exp(-np.abs(v))) + np.maximum(v, 0.0),
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "elu": lambda v: np.where(v > 0, v, np.exp(np.minimum(v, 0.0)) - 1.0),
    "linear": lambda v: v,
}


def reference_run(W_in, W_rec, W_out, b_rec, b_out, init_state, x, alpha, transfer="relu", noise=None):
    """The one test oracle of DESIGN §3.2's rate network, in float64 NumPy (no package code).

    ``W_*`` are the *effective* matrices ``W[post, pre]``; ``x`` (B, T, N_in); ``noise``
    (B, T, N_rec) is added to the state after each step (``sqrt(2 alpha) rec_noise xi``),
    None for none.  Returns ``(outputs (B, T, N_out), states (B, T, N_rec))``::

        x_{t+1} = (1 - alpha) x_t + alpha (f(x_t) W_rec^T + u_t W_in^T + b_rec) [+ noise_t]
        y_{t+1} = f(x_{t+1}) W_out^T + b_out
    """
    f = NUMPY_TRANSFER[transfer] if isinstance(transfer, str) else transfer
    W_in, W_rec, W_out, b_rec, b_out = (np.asarray(a, np.float64) for a in (W_in, W_rec, W_out, b_rec, b_out))
    x = np.asarray(x, np.float64)
    state = np.repeat(np.asarray(init_state, np.float64).reshape(1, -1), x.shape[0], axis=0)
    states, outputs = [], []
    for t in range(x.shape[1]):
        state = (1 - alpha) * state + alpha * (f(state) @ W_rec.T + x[:, t] @ W_in.T + b_rec)
        if noise is not None:
            state = state + noise[:, t]
        states.append(state)
        outputs.append(f(state) @ W_out.T + b_out)
    return np.stack(outputs, 1), np.stack(states, 1)


def reference_run_weights(weights, x, alpha, transfer="relu"):
    """:func:`reference_run` on a weights dict (effective matrices, as ``get_weights()`` returns)."""
    keys = ("W_in", "W_rec", "W_out", "b_rec", "b_out", "init_state")
    return reference_run(*(weights[k] for k in keys), x, alpha, transfer)


def pd_task(N_batch=50, seed=0, T=2000, **kwargs):
    """The hello-world perceptual-discrimination task (dt 10, tau 100, T 2000 ms unless given)."""
    from psychrnn_widgets import PerceptualDiscrimination

    return PerceptualDiscrimination(dt=10, tau=100, T=T, N_batch=N_batch, seed=seed, **kwargs)


_TRAINED = {}


def trained_pd_network(dale_ratio=None):
    """A 50-unit Basic network trained on :func:`pd_task`, built once per test session.

    Without Dale's law: 10,000 trials, learning rate 0.005 (~4 s on 2 cores; every seed
    tried reached P(choice 1) = 0 / 1 at coherence -0.7 / +0.7 and accuracy ~0.9 over the
    psychometric levels, half of which are near threshold).  With ``dale_ratio=0.8``:
    15,000 trials (~7 s; Dale networks learn more slowly, 5,000-10,000 trials are not
    enough for every seed).  Returns ``(model, task)``; do not train it further.
    """
    from psychrnn_widgets import Basic

    key = dale_ratio
    if key not in _TRAINED:
        seed = 0 if dale_ratio is None else 3
        task = pd_task(seed=seed)
        params = network_params(task, name=f"trained_pd_{dale_ratio}", N_rec=50, seed=seed, dale_ratio=dale_ratio)
        model = Basic(params)
        iters = 10000 if dale_ratio is None else 15000
        model.train(task, {"training_iters": iters, "learning_rate": 0.005, "verbosity": False})
        _TRAINED[key] = (model, task)
    return _TRAINED[key]
