"""``Trajectory3D``: hidden-state trajectories on their first three PCs, drag to rotate.

Front-end: ``js/trajectory3d/`` bundled into ``static/trajectory3d.js`` (anywidget ES module).

    view = Trajectory3D()
    view.set_trajectories(pcs[:, :, :3], colors=["#d62728", "#1f77b4"], labels=["left", "right"])

Synced state: ``points`` (float32 bytes of (n_lines, n_steps, 3), C order), ``n_lines``,
``n_steps``, ``colors`` (CSS colours, one per line), ``labels`` (one per line; the legend
shows each distinct (label, colour) once), ``axis_labels``, ``title``, ``yaw`` and ``pitch``
(view angles in radians; the front-end sends them back at the end of each drag),
``width``/``height`` (px).  At most 20 lines; lines longer than 5,000 steps are thinned.
"""
import pathlib

import anywidget
import numpy as np
import traitlets

STATIC = pathlib.Path(__file__).parent / "static"

MAX_LINES = 20
MAX_STEPS = 5000
#: matplotlib's tab10, used when no colours are given
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


class Trajectory3D(anywidget.AnyWidget):
    """3-D line plot of up to 20 trajectories (n_lines, T, 3), coloured by condition, with a legend."""

    _esm = STATIC / "trajectory3d.js"

    points = traitlets.Bytes(b"", help="float32 little-endian bytes of (n_lines, n_steps, 3), C order").tag(sync=True)
    n_lines = traitlets.Int(0).tag(sync=True)
    n_steps = traitlets.Int(0).tag(sync=True)
    colors = traitlets.List(traitlets.Unicode(), help="CSS colour per line").tag(sync=True)
    labels = traitlets.List(traitlets.Unicode(), help="legend label per line").tag(sync=True)
    axis_labels = traitlets.List(traitlets.Unicode(), default_value=["PC1", "PC2", "PC3"]).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    yaw = traitlets.Float(0.6, help="rotation about the vertical axis, radians").tag(sync=True)
    pitch = traitlets.Float(0.35, help="rotation about the horizontal axis, radians, within ±pi/2").tag(sync=True)
    width = traitlets.Int(460).tag(sync=True)
    height = traitlets.Int(380).tag(sync=True)

    def __init__(self, points=None, colors=None, labels=None, **kwargs):
        unknown = sorted(k for k in kwargs if not self.has_trait(k))
        if unknown:
            raise TypeError(f"Trajectory3D got unexpected keyword argument(s) {unknown}")
        super().__init__(**kwargs)
        if points is not None:
            self.set_trajectories(points, colors, labels)

    @traitlets.validate("n_lines")
    def _check_n_lines(self, proposal):
        if not 0 <= proposal["value"] <= MAX_LINES:
            raise traitlets.TraitError(f"at most {MAX_LINES} lines per figure; got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("pitch")
    def _check_pitch(self, proposal):
        return float(np.clip(proposal["value"], -np.pi / 2, np.pi / 2))

    def set_trajectories(self, points, colors=None, labels=None, axis_labels=None):
        """Show ``points`` (n_lines <= 20, T, 3), e.g. states projected on PC1-3.

        ``colors``: one CSS colour per line (default: tab10 by line); ``labels``: one legend
        label per line (default "1", "2", ...); lines with equal label and colour share a
        legend row.  Sent as float32 with all the other traits in one message.
        """
        P = np.asarray(points, dtype=np.float32)
        if P.ndim != 3 or P.shape[2] != 3:
            raise ValueError(f"points must have shape (n_lines, T, 3); got {P.shape}")
        n_lines, T, _ = P.shape
        if n_lines > MAX_LINES:
            raise ValueError(f"at most {MAX_LINES} lines per figure (got {n_lines}): average trials by condition")
        if not np.all(np.isfinite(P)):
            raise ValueError("points have NaN or infinite entries")
        if T > MAX_STEPS:
            keep = np.unique(np.linspace(0, T - 1, MAX_STEPS).round().astype(int))
            P = P[:, keep]
        colors = [PALETTE[i % len(PALETTE)] for i in range(n_lines)] if colors is None else [str(c) for c in colors]
        labels = [str(i + 1) for i in range(n_lines)] if labels is None else [str(s) for s in labels]
        for name, values in (("colors", colors), ("labels", labels)):
            if len(values) != n_lines:
                raise ValueError(f"{name} must have one entry per line ({n_lines}); got {len(values)}")
        with self.hold_sync():
            self.n_lines = n_lines
            self.n_steps = P.shape[1]
            self.colors = colors
            self.labels = labels
            if axis_labels is not None:
                self.axis_labels = [str(s) for s in axis_labels]
            self.points = np.ascontiguousarray(P, dtype="<f4").tobytes()

    def points_array(self):
        """The points shown, float32 (n_lines, n_steps, 3)."""
        return np.frombuffer(self.points, dtype="<f4").reshape(self.n_lines, self.n_steps, 3).copy()
