"""Models layer: rate networks (TensorFlow), their constraints, initialisers, losses.

Submodules are imported on demand; ``constraints`` and ``initializers`` are NumPy-only.
"""
