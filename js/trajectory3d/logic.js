// Pure logic of the 3-D trajectory viewer: rotation, orthographic projection, fitting the view,
// downsampling for drawing, drag-to-rotate and the legend.
// Points are a flat Float32Array of (n_lines, n_steps, 3), C order, as Python sends them.

export const PITCH_LIMIT = Math.PI / 2;
export const MAX_LINES = 20;

/**
 * 3x3 rotation (row-major, 9 numbers) of a yaw about the vertical axis (y) followed by a
 * pitch about the horizontal screen axis (x): R = Rx(pitch) · Ry(yaw).  Screen frame: x right,
 * y up, z towards the viewer; a positive yaw moves the front of the scene right, a positive
 * pitch moves it down (as if dragged by its front face).
 */
export function rotationMatrix(yaw, pitch) {
  const cy = Math.cos(yaw), sy = Math.sin(yaw);
  const cp = Math.cos(pitch), sp = Math.sin(pitch);
  // Ry = [[cy,0,sy],[0,1,0],[-sy,0,cy]], Rx = [[1,0,0],[0,cp,-sp],[0,sp,cp]]
  return [
    cy, 0, sy,
    sp * sy, cp, -sp * cy,
    -cp * sy, sp, cp * cy,
  ];
}

/** R · p for a 3-vector p. */
export function rotate(m, p) {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2],
    m[3] * p[0] + m[4] * p[1] + m[5] * p[2],
    m[6] * p[0] + m[7] * p[1] + m[8] * p[2],
  ];
}

/**
 * Centre (midpoint of the bounding box) and radius (largest distance of a point from it; 1 when
 * the points are one point or none) of the finite points in a flat xyz array.
 */
export function bounds(points) {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i + 2 < points.length; i += 3) {
    if (!(Number.isFinite(points[i]) && Number.isFinite(points[i + 1]) && Number.isFinite(points[i + 2]))) continue;
    for (let k = 0; k < 3; k++) {
      if (points[i + k] < lo[k]) lo[k] = points[i + k];
      if (points[i + k] > hi[k]) hi[k] = points[i + k];
    }
  }
  if (!(lo[0] <= hi[0])) return { center: [0, 0, 0], radius: 1 };
  const center = [0, 1, 2].map((k) => (lo[k] + hi[k]) / 2);
  let r2 = 0;
  for (let i = 0; i + 2 < points.length; i += 3) {
    const d = [0, 1, 2].map((k) => points[i + k] - center[k]);
    const q = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    if (q > r2) r2 = q;
  }
  const radius = Math.sqrt(r2);
  return { center, radius: radius > 0 ? radius : 1 };
}

/**
 * Screen position of a 3-D point: centred on `view.center`, rotated by `m`, scaled by
 * `view.scale` px per data unit about the screen point (`view.cx`, `view.cy`); screen y grows
 * downwards so data "up" is drawn up.  Orthographic, returns [x, y, depth].
 */
export function project(p, m, view) {
  const r = rotate(m, [p[0] - view.center[0], p[1] - view.center[1], p[2] - view.center[2]]);
  return [view.cx + view.scale * r[0], view.cy - view.scale * r[1], r[2]];
}

/** The view that fits points of `bounds` b in a width x height canvas with `margin` px. */
export function fitView(b, width, height, margin = 20) {
  const half = Math.max(1, Math.min(width, height) / 2 - margin);
  return { center: b.center, scale: half / b.radius, cx: width / 2, cy: height / 2 };
}

/** Screen points (Float32Array of x, y pairs) of `count` steps of one line, at step indices `steps`. */
export function projectLine(points, line, nSteps, steps, m, view) {
  const out = new Float32Array(2 * steps.length);
  const base = line * nSteps * 3;
  steps.forEach((t, k) => {
    const i = base + 3 * t;
    const s = project([points[i], points[i + 1], points[i + 2]], m, view);
    out[2 * k] = s[0];
    out[2 * k + 1] = s[1];
  });
  return out;
}

/**
 * At most `maxPoints` step indices out of 0..n-1, evenly spread, always keeping the first and
 * the last (lines keep their start and end when downsampled for drawing).
 */
export function downsampleIndices(n, maxPoints) {
  if (n <= 0) return [];
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  if (maxPoints <= 1) return [n - 1];
  const out = [];
  for (let k = 0; k < maxPoints; k++) {
    const i = Math.round((k * (n - 1)) / (maxPoints - 1));
    if (out.length === 0 || out[out.length - 1] !== i) out.push(i);
  }
  return out;
}

/**
 * The view angles after a drag of (dx, dy) px: dragging right turns the scene right (yaw),
 * dragging down moves its front down (pitch, clamped to ±90°); yaw wraps to (-π, π].
 */
export function applyDrag(angles, dx, dy, radiansPerPixel = 0.01) {
  let yaw = angles.yaw + dx * radiansPerPixel;
  yaw = Math.atan2(Math.sin(yaw), Math.cos(yaw));
  const pitch = Math.min(PITCH_LIMIT, Math.max(-PITCH_LIMIT, angles.pitch + dy * radiansPerPixel));
  return { yaw, pitch };
}

/** Legend rows: unique (label, color) pairs in order of first appearance (lines share conditions). */
export function legendEntries(labels, colors) {
  const seen = new Set();
  const out = [];
  const n = Math.max(labels.length, colors.length);
  for (let i = 0; i < n; i++) {
    const label = labels[i] ?? String(i + 1);
    const color = colors[i] ?? "#444";
    const key = `${label}\u0000${color}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ label, color });
  }
  return out;
}
