"""TensorFlow, imported once with an actionable error if it is missing.

TensorFlow is an optional dependency (NumPy-only layers work without it); the extras
``psychrnn_widgets[cpu]`` and ``psychrnn_widgets[gpu]`` install it.

Start-up: ``import tensorflow`` ends by importing ``keras.src.optimizers`` eagerly (about
1.5 s on 2 cores, matplotlib included) only so that Keras optimisers are registered for
SavedModel loading; nothing here uses Keras.  When this module is the first to import
TensorFlow, that eager import is skipped: TensorFlow tries ``tf_keras`` instead when
``TF_USE_LEGACY_KERAS`` is set, and ignores the ImportError when ``tf_keras`` is not
installed.  The variable is set only for the duration of the import and only when the
user has not set it and ``tf_keras`` is absent; ``tf.keras`` still loads Keras 3 on first
use (it reads the variable then), exactly as without this.
"""
import importlib.util
import os
import sys


#: whether this process imported TensorFlow with Keras' eager import skipped (see the module doc)
KERAS_IMPORT_SKIPPED = False


#: lines TensorFlow's C++ start-up prints to the process's stderr that say nothing a user acts on
#: (in a notebook they become a red stderr box above the first output)
START_UP_CHATTER = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions",
    "Unable to register cuDNN factory", "Unable to register cuFFT factory", "Unable to register cuBLAS factory",
    "computation placer already registered", "TF-TRT Warning: Could not find TensorRT",
    "Could not find cuda drivers on your machine, GPU will not be used",
    "oneDNN supports DT_INT32 only on platforms with AVX-512",
)


class _QuietStderr:
    """Context manager: file descriptor 2 captured while inside; on leaving, every line that is not
    start-up chatter is printed as it came.

    TensorFlow's C++ code writes to the process's stderr (not Python's ``sys.stderr``), so
    only a descriptor-level capture keeps it out of the notebook.  Re-entrant across
    threads (the first to enter captures, the last to leave restores), since the first
    training step and the XLA compiler may run at the same time.
    ``PSYCHRNN_WIDGETS_TF_VERBOSE=1`` turns the filter off.
    """

    def __init__(self):
        import threading

        self._lock = threading.Lock()
        self._depth = 0
        self._saved = None
        self._captured = None

    def __enter__(self):
        if os.environ.get("PSYCHRNN_WIDGETS_TF_VERBOSE"):
            return self
        import tempfile

        with self._lock:
            if self._depth == 0:
                try:
                    sys.stderr.flush()
                    saved = os.dup(2)
                except (OSError, ValueError, AttributeError):  # no usable descriptor 2: nothing to do
                    return self
                self._saved, self._captured = saved, tempfile.TemporaryFile()
                os.dup2(self._captured.fileno(), 2)
            self._depth += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            if self._depth == 0:
                return False
            self._depth -= 1
            if self._depth:
                return False
            saved, captured, self._saved, self._captured = self._saved, self._captured, None, None
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            captured.close()
        kept = [line for line in text.splitlines(keepends=True)
                if line.strip() and not any(noise in line for noise in START_UP_CHATTER)]
        if kept:
            os.write(2, "".join(kept).encode("utf-8"))
        return False


#: use as ``with quiet_stderr: ...`` around TensorFlow calls that print start-up chatter
quiet_stderr = _QuietStderr()


def _import_quietly(do_import):
    with quiet_stderr:
        return do_import()


def _import_tensorflow():
    global KERAS_IMPORT_SKIPPED
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # INFO logs after start-up (e.g. XLA's) stay quiet too
    if "tensorflow" in sys.modules or "TF_USE_LEGACY_KERAS" in os.environ or importlib.util.find_spec("tf_keras"):
        return _import_quietly(lambda: importlib.import_module("tensorflow"))
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        tensorflow = _import_quietly(lambda: importlib.import_module("tensorflow"))
    finally:
        del os.environ["TF_USE_LEGACY_KERAS"]
    KERAS_IMPORT_SKIPPED = _restore_keras_path(tensorflow)
    return tensorflow


def _restore_keras_path(tensorflow):
    """TensorFlow put the (missing) tf_keras API folder first on its ``__path__``: restore the Keras 3 one.

    Uses TensorFlow's private ``tensorflow.python.tools.module_util`` (the test
    ``test_tensorflow_private_apis_we_rely_on_still_exist`` fails loudly if a release
    changes it).  Fallback when it is gone: import Keras' optimisers now, which is what
    TensorFlow would have done (the start-up saving is lost, ``tf.keras`` keeps working).
    Returns True if the saving was kept.
    """
    try:
        from tensorflow.python.tools import module_util

        keras_dir = module_util.get_parent_dir_for_name("keras.api._v2.keras")
        restored = [keras_dir if path is None else path for path in tensorflow.__path__]
        tensorflow.__path__[:] = [path for path in restored if path is not None]
        return True
    except Exception:  # noqa: BLE001 - a TensorFlow release changed its private layout
        tensorflow.__path__[:] = [path for path in tensorflow.__path__ if path is not None]
        try:
            import keras.src.optimizers  # noqa: F401 - what TensorFlow's own import does
        except ImportError:
            pass
        return False


try:
    tf = _import_tensorflow()
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "psychrnn_widgets models and training need TensorFlow. Install it with "
        "pip install 'psychrnn_widgets[cpu]' (CPU build) or 'psychrnn_widgets[gpu]' (CUDA build)."
    ) from error


class GraphFunction:
    """``tf.function`` traced without AutoGraph, falling back to AutoGraph when the code needs it.

    The library writes its loops with ``tf.while_loop``/``tf.cond`` and needs no AutoGraph;
    tracing without it is several times faster (0.3 s instead of 1.6 s for the hello-world
    training step).  User code (a custom loss, regulariser or model written with Python
    ``if``/``for`` over tensors) makes the plain trace raise ``OperatorNotAllowedInGraphError``;
    this wrapper then traces again with AutoGraph and keeps using that function.
    """

    def __init__(self, python_function, **kwargs):
        self._python_function = python_function
        self._kwargs = kwargs
        self.autograph = False
        self.function = tf.function(python_function, autograph=False, **kwargs)

    def _with_fallback(self, use):
        """``use(function)``; when the plain trace needs AutoGraph, retrace with it and retry."""
        try:
            return use(self.function)
        except tf.errors.OperatorNotAllowedInGraphError:
            if self.autograph:
                raise
            self.autograph = True
            self.function = tf.function(self._python_function, autograph=True, **self._kwargs)
            return use(self.function)

    def __call__(self, *args, **kwargs):
        return self._with_fallback(lambda function: function(*args, **kwargs))

    def get_concrete_function(self, *args, **kwargs):
        return self._with_fallback(lambda function: function.get_concrete_function(*args, **kwargs))


__all__ = ["tf", "GraphFunction", "KERAS_IMPORT_SKIPPED", "quiet_stderr"]
