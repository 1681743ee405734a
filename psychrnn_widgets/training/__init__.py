"""Training layer: the compiled training step, the epoch loop, events and the curriculum."""
