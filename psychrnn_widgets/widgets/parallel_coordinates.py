"""A parallel-coordinates view: one line per run across its settings and results (bqplot).

    view = ParallelCoordinates()
    view.set_data(["N_rec", "learning_rate", "final loss"], rows, colours=["#1f77b4", ...], labels=[...])

Each column is a vertical axis scaled to its own range (its minimum at the bottom, its
maximum at the top, both written beside it); text columns place their values evenly, in
sorted order.  A column whose values are all equal sits mid-height.  One ``bq.Lines``
mark draws every run (``lines.x`` / ``lines.y``: (runs, columns), float32), each in its
colour; the Runs table and the sweep panel use it with the runs' colours of every other
view.  At most :data:`MAX_LINES` runs are drawn (the first ones given).
"""
import bqplot as bq
import ipywidgets as widgets
import numpy as np

__all__ = ["ParallelCoordinates", "normalised_columns", "MAX_LINES"]

MAX_LINES = 200


def normalised_columns(columns, rows):
    """``(values (runs, columns) in [0, 1], bottoms, tops)``: each column scaled to its range (text: by rank)."""
    n = len(rows)
    values = np.full((n, len(columns)), 0.5, np.float64)
    bottoms, tops = [], []
    for j, column in enumerate(columns):
        cells = [row.get(column, "") for row in rows]
        numbers = []
        for cell in cells:
            try:
                numbers.append(float(cell) if cell not in ("", None) and not isinstance(cell, bool) else np.nan)
            except (TypeError, ValueError):
                numbers = None
                break
        if numbers is not None and not all(np.isnan(numbers)):
            array = np.asarray(numbers)
            low, high = np.nanmin(array), np.nanmax(array)
            span = high - low
            values[:, j] = 0.5 if span == 0 else (array - low) / span
            values[np.isnan(array), j] = np.nan
            bottoms.append(f"{low:.3g}")
            tops.append(f"{high:.3g}")
        else:
            levels = sorted({str(c) for c in cells})
            position = {level: (i / (len(levels) - 1) if len(levels) > 1 else 0.5) for i, level in enumerate(levels)}
            values[:, j] = [position[str(c)] for c in cells]
            bottoms.append(levels[0] if levels else "")
            tops.append(levels[-1] if levels else "")
    return values, bottoms, tops


class ParallelCoordinates(widgets.VBox):
    """The view (see the module docstring).  Attributes: ``figure``, ``lines``, ``bottom_labels``,
    ``top_labels`` (bq.Label marks), ``columns``, ``note`` (HTML)."""

    def __init__(self, title="runs across settings and results", width="560px", height="260px", **kwargs):
        self.columns = []
        self.x_scale = bq.OrdinalScale()
        self.y_scale = bq.LinearScale(min=-0.12, max=1.12, allow_padding=False)
        scales = {"x": self.x_scale, "y": self.y_scale}
        empty = np.zeros((0, 0), np.float32)
        self.lines = bq.Lines(x=empty, y=empty, scales=scales, colors=["#1f77b4"], stroke_width=1.6,
                              marker="circle", marker_size=16)
        self.axis_lines = bq.Lines(x=empty, y=empty, scales=scales, colors=["#bbbbbb"], stroke_width=1)
        self.bottom_labels = bq.Label(x=[], y=[], text=[], scales=scales, colors=["#444"], font_size=11,
                                      align="middle", default_size=11)
        self.top_labels = bq.Label(x=[], y=[], text=[], scales=scales, colors=["#444"], font_size=11,
                                   align="middle", default_size=11)
        x_axis = bq.Axis(scale=self.x_scale, tick_style={"font-size": "11px"})
        self.figure = bq.Figure(marks=[self.axis_lines, self.lines, self.bottom_labels, self.top_labels],
                                axes=[x_axis], title=title, animation_duration=0,
                                fig_margin={"top": 30, "bottom": 45, "left": 30, "right": 30},
                                layout=widgets.Layout(width=width, height=height))
        self.note = widgets.HTML()
        super().__init__(children=[self.figure, self.note], **kwargs)

    def set_data(self, columns, rows, colours=None, labels=None):
        """Draw ``rows`` (dicts keyed by column) over ``columns``; ``colours``/``labels`` one per row."""
        rows = list(rows)[:MAX_LINES]
        columns = [str(c) for c in columns]
        colours = list(colours or ["#1f77b4"] * len(rows))[:len(rows)]
        labels = [str(label) for label in (labels or [""] * len(rows))][:len(rows)]
        self.columns = columns
        if not rows or not columns:
            with self.lines.hold_sync():
                self.lines.x = self.lines.y = np.zeros((0, 0), np.float32)
            self.note.value = "<i style='color:#777'>nothing to draw yet</i>"
            return
        values, bottoms, tops = normalised_columns(columns, rows)
        x = np.tile(np.array(columns, dtype=str), (len(rows), 1))
        # the browser applies one message at a time: while the marks still name the old columns the scale must
        # know them too (a column outside an ordinal domain is drawn at NaN: "translate(NaN, ...)" errors), so
        # the domain is the old and new columns together until every mark names only the new ones
        old = [c for c in (self.x_scale.domain or []) if c not in columns]
        with self.x_scale.hold_sync():
            self.x_scale.domain = columns + old
        with self.axis_lines.hold_sync():
            self.axis_lines.x = np.array([[c, c] for c in columns], dtype=str)
            self.axis_lines.y = np.tile(np.array([[0.0, 1.0]], np.float32), (len(columns), 1))
        with self.lines.hold_sync():
            self.lines.x = x
            self.lines.y = np.nan_to_num(values, nan=-0.08).astype(np.float32)
            self.lines.colors = colours
            self.lines.labels = labels
        for mark, y, text in ((self.bottom_labels, -0.08, bottoms), (self.top_labels, 1.08, tops)):
            with mark.hold_sync():
                mark.x = columns
                mark.y = [y] * len(columns)
                mark.text = text
        if old:
            with self.x_scale.hold_sync():
                self.x_scale.domain = columns
        self.note.value = ("<span style='color:#777;font-size:90%'>each axis runs from its smallest value (bottom) "
                           "to its largest (top); a missing value sits below the axis</span>")
