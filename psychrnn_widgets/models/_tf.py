"""TensorFlow, imported once with an actionable error if it is missing; every use of TensorFlow's internals.

TensorFlow is an optional dependency (NumPy-only layers work without it); the extras
``psychrnn_widgets[cpu]`` and ``psychrnn_widgets[gpu]`` install it.

TensorFlow's internals: what the package relies on beyond TensorFlow's documented
behaviour lives in this module and nowhere else, listed in :data:`TENSORFLOW_INTERNALS`;
``tests/test_trainer.py`` names each one, checks that it still works and that no other
module of the package reaches into TensorFlow.

Start-up: ``import tensorflow`` ends by importing ``keras.src.optimizers`` eagerly (about
1.5 s on 2 cores, matplotlib included) only so that Keras optimisers are registered for
SavedModel loading; nothing here uses Keras.  TensorFlow 2.21 has no switch for that
import.  When this module is the first to import TensorFlow, it is skipped through the one
public lever there is: TensorFlow tries ``tf_keras`` instead when ``TF_USE_LEGACY_KERAS``
is set, and ignores the ImportError when ``tf_keras`` is not installed.  The variable is
set only for the duration of the import and only when the user has not set it and
``tf_keras`` is absent; ``tf.keras`` still loads Keras 3 on first use (it reads the
variable then), exactly as without this.  TensorFlow leaves one thing behind: the
``tf_keras`` API folder it looked for, which does not exist, as a ``None`` first on
``tensorflow.__path__`` -- and ``pkgutil.iter_modules(tf.__path__)`` (documentation and
completion tools walk packages that way) raises ``TypeError`` on it.  That ``None`` is
removed (:func:`_drop_missing_keras_folder`); without the skip the entry would name
``keras/api/_v2``, which Keras 3 does not have, so nothing else changes.
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
    _drop_missing_keras_folder(tensorflow)
    KERAS_IMPORT_SKIPPED = "keras.src.optimizers" not in sys.modules
    return tensorflow


def _drop_missing_keras_folder(tensorflow):
    """Remove the ``None`` TensorFlow put on its ``__path__`` for the missing ``tf_keras`` (see the module doc).

    TensorFlow internal no. 1 of :data:`TENSORFLOW_INTERNALS`: the layout of
    ``tensorflow.__path__`` after an import with ``TF_USE_LEGACY_KERAS`` set.  Only entries
    that are not folders at all are dropped, so a release that stops adding one changes nothing.
    """
    tensorflow.__path__[:] = [path for path in tensorflow.__path__ if path is not None]


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


def batch_matmul_on_eigen(a, b, transpose_a=False):
    """``a @ b`` over a leading batch axis (``a^T b`` per batch entry with ``transpose_a``), on Eigen.

    TensorFlow internal no. 2 of :data:`TENSORFLOW_INTERNALS`: ``tf.raw_ops.BatchMatMulV3``
    (``tf.matmul`` builds ``BatchMatMulV2``, which TensorFlow's oneDNN rewrite takes over;
    ``V3`` is left to Eigen, much cheaper for small matrices, see
    :func:`psychrnn_widgets.models.leaky.matmul`).  ``a`` (K, I, J), ``b`` (K, J, L) (or
    (K, I, L) with ``transpose_a``) -> (K, I, L) or (K, J, L).
    """
    return tf.raw_ops.BatchMatMulV3(x=a, y=b, Tout=a.dtype, adj_x=transpose_a)


def is_unused_output_gradient(gradient):
    """True for the zeros TensorFlow passes as the gradient of an output nobody used (graph mode).

    TensorFlow internal no. 3 of :data:`TENSORFLOW_INTERNALS`: TensorFlow builds them with an
    op of type ``ZerosLike``.  Anything unrecognised counts as used, which is correct, only
    slower (the fused backward loop then adds a (T, B, N) tensor of zeros).
    """
    op = getattr(gradient, "op", None)  # eager tensors have none: treat as used
    return getattr(op, "type", None) == "ZerosLike"


#: Every use of TensorFlow beyond its documented behaviour, all in this module (a test names each)
TENSORFLOW_INTERNALS = {
    "tensorflow.__path__": "a None left there by the Keras start-up skip is removed (_drop_missing_keras_folder)",
    "tf.raw_ops.BatchMatMulV3": "small batched products on Eigen rather than oneDNN (batch_matmul_on_eigen)",
    "ZerosLike": "the op type of an unused output's gradient (is_unused_output_gradient)",
}


__all__ = ["tf", "GraphFunction", "KERAS_IMPORT_SKIPPED", "quiet_stderr", "batch_matmul_on_eigen",
           "is_unused_output_gradient", "TENSORFLOW_INTERNALS"]
