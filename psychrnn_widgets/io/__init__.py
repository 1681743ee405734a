"""Weight files (NumPy only): save, load (also PsychRNN 1.0 files, safely) and export.

See :mod:`psychrnn_widgets.io.weight_files` for the file format.
"""
from .weight_files import FORMAT, export_psychrnn, load_weights, read_npz_safely, save_weights

__all__ = ["FORMAT", "save_weights", "load_weights", "export_psychrnn", "read_npz_safely"]
