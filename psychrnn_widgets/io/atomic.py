"""Atomic file writes: a reader sees the old file or the complete new one, never a part (NumPy-free).

:func:`write_atomic` writes through a temporary file in the target's directory
(``.<name>.<pid>.<random>.tmp``), flushes and fsyncs it, gives it the mode a plain
``open`` would (umask honoured), renames it over the target with ``os.replace`` and
fsyncs the directory so the rename survives a power cut.  If anything fails the
temporary file is removed and the target is untouched.  Temporary files left behind by
a process that died mid-write are removed by the next write to the same target.

Used by weight files (:mod:`psychrnn_widgets.io.weight_files`) and the sweep registry's
JSON records (:mod:`psychrnn_widgets.sweeps.registry`).
"""
import contextlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "write_json_atomic"]


def write_atomic(target, write):
    """Create or replace ``target`` with what ``write(binary_file)`` writes; returns ``target`` as a Path."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(target)}{os.getpid()}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename durable (POSIX)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target


def write_json_atomic(target, data):
    """Write ``data`` as indented UTF-8 JSON to ``target`` atomically (NaN and infinities are refused)."""
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False, ensure_ascii=False)
    return write_atomic(target, lambda fh: fh.write(text.encode("utf-8") + b"\n"))


def _temp_prefix(target):
    return f".{target.name}."


def _remove_stale_temporaries(target):
    """Delete temporary files that earlier writes to ``target`` left behind when their process died.

    A temporary file is named ``.<name>.<pid>.<random>.tmp``; it is stale when no process
    with that pid exists any more (a running writer's file is never touched).
    """
    prefix = _temp_prefix(target)
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid = name[len(prefix):].split(".", 1)[0]
            if pid.isdigit() and not _process_alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _process_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _umask():
    """The process umask, read without changing it (``os.umask`` is not thread-safe)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    return 0o022
