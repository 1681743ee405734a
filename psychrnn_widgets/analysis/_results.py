"""What every analysis result can do: give its data as arrays, draw itself, save a figure.

Result objects are dataclasses.  :meth:`AnalysisResult.to_arrays` collects their array
and number fields (nested results with a ``'name/'`` prefix);
:meth:`AnalysisResult.to_figure` draws them with matplotlib, imported only then, into a
plain :class:`matplotlib.figure.Figure` (no pyplot state, no display needed), and
:meth:`AnalysisResult.save` writes that figure as SVG or PNG (by the path's suffix).  In a
notebook a result shows its figure (PNG) when it is the value of a cell.
"""
import dataclasses
import io
import os
from numbers import Number
from pathlib import Path

import numpy as np

from ..errors import ParameterError

__all__ = ["AnalysisResult", "save_figure", "level_colors"]

_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}


def level_colors(levels):
    """A matplotlib colour (RGBA) per signed evidence level: blue for choice 0, grey at 0, red for choice 1."""
    import matplotlib as mpl

    levels = np.asarray(levels, dtype=np.float64)
    top = float(np.max(np.abs(levels))) if levels.size else 1.0
    cmap = mpl.colormaps["coolwarm"]
    return [cmap(0.5 + 0.5 * level / (top or 1.0)) for level in levels]


def save_figure(figure, path, dpi=150):
    """Write a matplotlib ``figure`` to ``path`` (``.svg``, ``.png`` or ``.pdf``); returns the Path.

    Raises ``ParameterError`` naming ``path`` for another suffix (or a path that is not one).
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ParameterError(f"save_figure: path must be a file path ending in .svg, .png or .pdf, got {path!r}",
                             parameter="path", value=path, allowed="a path ending in .svg, .png or .pdf")
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ParameterError(f"save_figure: path must end in .svg, .png or .pdf, got {path.name!r}", parameter="path",
                             value=path, allowed="a path ending in .svg, .png or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight")
    return path


class AnalysisResult:
    """Mixin of the result dataclasses: ``to_arrays()``, ``to_figure()``, ``save(path)``.

    Subclasses implement ``plot(ax)`` (one axes) or override ``draw(figure)`` (several).
    """

    #: matplotlib figure size in inches
    figsize = (4.5, 3.5)

    def to_arrays(self):
        """The result's data as a flat dict of NumPy arrays (nested results prefixed ``'name/'``)."""
        out = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, AnalysisResult):
                out.update({f"{item.name}/{k}": v for k, v in value.to_arrays().items()})
            elif isinstance(value, np.ndarray) and value.dtype != object:
                out[item.name] = value
            elif isinstance(value, (Number, np.number, bool)) and value is not None:
                out[item.name] = np.asarray(value)
        return out

    def plot(self, ax):  # pragma: no cover - subclasses implement
        raise NotImplementedError

    def draw(self, figure):
        """Draw into an empty matplotlib ``figure`` (default: one axes and :meth:`plot`)."""
        self.plot(figure.add_subplot(1, 1, 1))

    def to_figure(self, figsize=None):
        """A new :class:`matplotlib.figure.Figure` showing the result (no display, no pyplot)."""
        from matplotlib.figure import Figure

        figure = Figure(figsize=figsize or self.figsize, layout="constrained")
        self.draw(figure)
        return figure

    def save(self, path, dpi=150):
        """Save the figure as SVG or PNG (chosen by ``path``'s suffix); returns the Path."""
        return save_figure(self.to_figure(), path, dpi=dpi)

    def __repr__(self):
        parts = []
        for key, value in self.to_arrays().items():
            parts.append(f"{key}={value.item():.4g}" if value.ndim == 0 and value.dtype.kind in "fiub"
                         else f"{key}: {value.dtype}{list(value.shape)}")
        return f"{type(self).__name__}({', '.join(parts[:12])}{', ...' if len(parts) > 12 else ''})"

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Notebook display: the figure as PNG, and a one-line text summary."""
        buffer = io.BytesIO()
        self.to_figure().savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return {"image/png": buffer.getvalue(), "text/plain": repr(self)}

    def save_arrays(self, path):
        """Save :meth:`to_arrays` as an ``.npz`` file (no pickles); returns the Path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{k.replace("/", "__"): v for k, v in self.to_arrays().items()})
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
