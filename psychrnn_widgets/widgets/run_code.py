""""Copy as code": a run of the Lab as one self-contained Python cell.

:func:`run_as_code` writes the cell that rebuilds a record's task, network and training
from its settings and training log (:mod:`~psychrnn_widgets.widgets.run_log`): the task
with its parameters, the network with every setting (seed included; masks written inline
as base64), then for every Start the task's random state as it was when Start was pressed
and one ``model.train`` per learning rate, for exactly the steps trained.  Run in a fresh
kernel it gives the run's weights (on the same CPU build: within 1e-6).  The Lab switches to
the XLA-compiled training step when the compiler is ready (step 101 or later); the two
programs are not bit-equal (their recurrent noise differs), so the log says which steps ran
which program and the cell replays each piece on the same one (``jit_compile`` False / True,
the XLA step compiled by a dry run first).  A log without that (an older file) is replayed
with the default switch at step 101: close, and equal without recurrent noise to ~1e-7.

Runs the cell cannot rebuild say so in the cell: a curriculum run (its stages advance on
measured accuracy), a run whose training was not recorded (opened from a file written
without a training log, a shipped example, a sweep run) -- then the cell rebuilds the
task and the untrained network only.

Classes are named by their registered names; a user's registered task or model must be
defined (and registered) before the cell runs.  No widgets here.
"""
from __future__ import annotations

import base64
import inspect

import numpy as np

from ..catalog import TASKS
from ..errors import UnknownClassError
from .history import _rebuild_task, package_versions, registered_name
from .lab_state import network_params_for

__all__ = ["run_as_code", "reproducible"]

_SKIP_TASK_KEYS = ("alpha", "N_steps", "seed")


def reproducible(record):
    """``(bool, reason)``: whether :func:`run_as_code` rebuilds the trained weights of ``record``."""
    if not record.training:
        return False, "its training was not recorded (it was not trained in this Lab, or the file has no log)"
    for segment in record.training:
        if segment.get("curriculum"):
            return False, "it was trained through a curriculum (stages advance on measured accuracy)"
        if segment.get("task_state") is None:
            return False, "the task's random state at a Start was not recorded"
        if "steps_kept" in segment:
            return False, "a Start diverged and was rolled back"
    return True, ""


def _literal(value):
    """A Python literal for a JSON-able value, or the ``_array(...)`` call that rebuilds an array exactly."""
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        data = base64.b64encode(array.tobytes()).decode("ascii")
        return f"_array({data!r}, {str(array.dtype)!r}, {tuple(array.shape)!r})"
    if isinstance(value, (np.floating,)):
        return repr(float(value))
    if isinstance(value, (np.integer,)):
        return repr(int(value))
    if isinstance(value, (np.bool_,)):
        return repr(bool(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    return repr(value)


def _class_expression(kind, name, imports):
    """The expression naming a registered class: its top-level import when the package exports it."""
    import psychrnn_widgets

    if name.isidentifier() and getattr(psychrnn_widgets, name, None) is not None:
        imports.add(name)
        return name
    imports.add(f"catalog:{kind}")
    return f"{kind}_class({name!r})"


def _task_code(info, imports, variable="task"):
    """Lines building the task ``{'class': name, 'params': {...}}`` as ``_rebuild_task`` does."""
    name, params = info["class"], dict(info.get("params") or {})
    try:
        cls = TASKS.get(name)
    except UnknownClassError:
        cls = None
    expression = _class_expression("task", name, imports)
    if cls is None:
        kwargs = {k: v for k, v in params.items() if k not in _SKIP_TASK_KEYS}
        return [f"{variable} = {expression}(**{_literal(kwargs)})"]
    signature = inspect.signature(cls.__init__)
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()
              if k in signature.parameters and k != "self"}
    lines = [f"{variable} = {expression}({', '.join(f'{k}={_literal(v)}' for k, v in kwargs.items())})"]
    built = _rebuild_task(cls, params)
    fresh = cls(**kwargs)
    for key, value in params.items():
        if key in kwargs or key in _SKIP_TASK_KEYS or not hasattr(fresh, key):
            continue
        value = tuple(value) if isinstance(value, list) else value
        if getattr(built, key, None) != value or getattr(fresh, key, None) == value:
            continue  # not settable, or already the constructor's value
        lines.append(f"{variable}.{key} = {_literal(value)}")
    return lines


def run_as_code(record):
    """The Python cell (text) that rebuilds ``record``'s task, network and training; see the module docstring."""
    from ..training.trainer import Trainer

    model = record.model
    imports = {"numpy"}
    ok, reason = reproducible(record)
    versions = package_versions()
    header = [f"# {record.label}: rebuilt by psychrnn_widgets' \"Copy as code\"",
              "# written with " + ", ".join(f"{k} {v}" for k, v in versions.items() if v)]
    body = []
    first_task = record.training[0]["task"] if record.training else None
    if first_task is None and record.task is not None:
        from .history import _task_name, jsonable_dict

        first_task = {"class": _task_name(type(record.task)), "params": jsonable_dict(record.task.get_task_params())}
    if first_task is None:
        return "\n".join(header + ["# the run has no task to rebuild"]) + "\n"
    body += _task_code(first_task, imports)
    task = _rebuild_task(TASKS.get(first_task["class"]), first_task.get("params") or {})
    params = network_params_for(record.network_params, task, getattr(model, "name", "lab_net"))
    model_expression = _class_expression("model", registered_name(type(model)), imports)
    body.append("network_params = " + _literal(params))
    body.append(f"model = {model_expression}(network_params)")
    if not ok:
        body.append(f"# training not rebuilt: {reason}")
    else:
        flagged = all(len(piece) == 3 for segment in record.training for piece in segment["pieces"])
        if not flagged and float(params.get("rec_noise") or 0) > 0 and Trainer.of(model).epoch > 100:
            body.append("# note: recurrent noise and more than 100 steps, and the log does not say which steps ran "
                        "the XLA-compiled step (an older file): the noise may differ, the weights come out close")
        current = first_task
        xla_ready = False
        for i, segment in enumerate(record.training):
            steps = sum(piece[1] for piece in segment["pieces"])
            body.append("")
            body.append(f"# Start {i + 1}: {steps} steps of {segment['N_batch']} trials"
                        f" ({segment.get('outcome') or 'ended'} in the Lab after {segment.get('wall_s', 0):.1f} s)")
            if segment["task"] != current:
                body += _task_code(segment["task"], imports)
                current = segment["task"]
            if segment.get("noise_counter") is not None:
                body.append(f"model.noise_counter = {int(segment['noise_counter'])}   # noisy passes run so far")
            body.append(f"task.rng.bit_generator.state = {_literal(_state_value(segment['task_state']))}")
            for piece in segment["pieces"]:
                rate, n = piece[0], piece[1]
                if not n:
                    continue
                program = ""
                if len(piece) == 3:
                    if piece[2] and not xla_ready:
                        body.append("_use_xla_now(model, task)   # the Lab ran the next steps on the XLA-compiled step")
                        xla_ready = True
                    program = f", 'jit_compile': {bool(piece[2])!r}"
                body.append(f"model.train(task, {{'learning_rate': {rate!r}, 'training_iters': "
                            f"{n * segment['N_batch']}, 'verbosity': False{program}}})")
        trainer = Trainer.of(model)
        body.append("")
        body.append(f"weights = model.get_weights()   # the run's weights after {trainer.epoch:,} steps "
                    f"({trainer.trials:,} trials)")
    arrays = "_array(" in "\n".join(body)
    lines = header + (["import base64"] if arrays else []) + _import_lines(imports) + [""]
    if arrays:
        lines += ["", "def _array(data, dtype, shape):",
                  "    return np.frombuffer(base64.b64decode(data), dtype=dtype).reshape(shape).copy()", "", ""]
    if "_use_xla_now(" in "\n".join(body):
        lines += ["", "def _use_xla_now(model, task):",
                  '    """From the next step on, train on the XLA-compiled step (as the Lab did from this step)."""',
                  "    from psychrnn_widgets.training.trainer import Trainer",
                  "",
                  "    batch = [np.zeros((task.N_batch, task.N_steps, n), np.float32) for n in (task.N_in, task.N_out, "
                  "task.N_out)]",
                  "    Trainer.of(model).training_step(jit_compile=True).compile_xla_now(*batch)   # a dry run: "
                  "nothing changes", "", ""]
    return "\n".join(lines + body) + "\n"


def _state_value(state):
    """A JSON-stored bit-generator state back as the dict NumPy takes (arrays restored)."""
    if isinstance(state, dict):
        if set(state) == {"__array__", "dtype"}:
            return np.asarray(state["__array__"], dtype=state["dtype"])
        return {k: _state_value(v) for k, v in state.items()}
    return state


def _import_lines(imports):
    lines = ["import numpy as np"]
    names = sorted(n for n in imports if n != "numpy" and not n.startswith("catalog:"))
    if names:
        lines.append(f"from psychrnn_widgets import {', '.join(names)}")
    catalog = sorted(n.split(":")[1] + "_class" for n in imports if n.startswith("catalog:"))
    if catalog:
        lines.append(f"from psychrnn_widgets.catalog import {', '.join(catalog)}")
    return lines
