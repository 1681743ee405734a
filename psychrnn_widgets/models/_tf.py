"""TensorFlow, imported once with an actionable error if it is missing.

TensorFlow is an optional dependency (NumPy-only layers work without it); the extras
``psychrnn_widgets[cpu]`` and ``psychrnn_widgets[gpu]`` install it.
"""
try:
    import tensorflow as tf
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "psychrnn_widgets models and training need TensorFlow. Install it with "
        "pip install 'psychrnn_widgets[cpu]' (CPU build) or 'psychrnn_widgets[gpu]' (CUDA build)."
    ) from error

__all__ = ["tf"]
