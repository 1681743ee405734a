// Pure logic of the connectivity editor: colour maps, hit-testing, mask painting, hover text.
// Matrices are row-major flat arrays indexed [post * n + pre] (PsychRNN's W[post, pre]).

export const WHITE = [255, 255, 255];
export const RED = [178, 24, 43]; // strongest excitatory / positive weight
export const BLUE = [33, 102, 172]; // strongest inhibitory / negative weight
export const ZERO_COLOR = [232, 232, 232]; // an exact zero (light grey, unlike a tiny weight's white)
export const MASK_COLOR = [45, 45, 45]; // overlay on entries the mask cuts (mask = 0)
export const MASK_ALPHA = 0.7;

/** Largest finite |v| (0 when there is none). */
export function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (Number.isFinite(a) && a > m) m = a;
  }
  return m;
}

/** Linear mix of two [r, g, b] colours, t in [0, 1] (clamped), rounded to integers. */
export function mix(a, b, t) {
  const s = Math.min(1, Math.max(0, t));
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * s));
}

/**
 * The kind of presynaptic unit `col` (a column of W[post, pre]): 'E' or 'I' under Dale's law
 * (the first `nExc` units are excitatory), 'signed' without Dale (`nExc` null, undefined or < 0).
 */
export function columnKind(col, nExc) {
  if (nExc == null || nExc < 0) return "signed";
  return col < nExc ? "E" : "I";
}

/**
 * [r, g, b] for weight `w`: 'E' columns on a white->red scale of |w|, 'I' columns white->blue,
 * 'signed' a diverging blue-white-red map by sign; an exact 0 (or a non-finite value) is grey.
 */
export function weightColor(w, vmax, kind) {
  if (!Number.isFinite(w) || w === 0) return ZERO_COLOR.slice();
  const t = vmax > 0 ? Math.abs(w) / vmax : 1;
  if (kind === "E") return mix(WHITE, RED, t);
  if (kind === "I") return mix(WHITE, BLUE, t);
  return mix(WHITE, w > 0 ? RED : BLUE, t);
}

/**
 * RGBA pixels (Uint8ClampedArray, n*n*4) of the heatmap: one pixel per entry, row = post,
 * column = pre; entries whose mask is 0 are darkened by the mask overlay.  `weights` may be
 * empty (nothing to show yet: every entry grey); `mask` may be empty (no overlay).
 */
export function renderRGBA(weights, mask, n, nExc, vmax = maxAbs(weights)) {
  const out = new Uint8ClampedArray(n * n * 4);
  const hasWeights = weights.length === n * n;
  const hasMask = mask.length === n * n;
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const i = row * n + col;
      let c = hasWeights ? weightColor(weights[i], vmax, columnKind(col, nExc)) : ZERO_COLOR;
      if (hasMask && !mask[i]) c = mix(c, MASK_COLOR, MASK_ALPHA);
      out[4 * i] = c[0];
      out[4 * i + 1] = c[1];
      out[4 * i + 2] = c[2];
      out[4 * i + 3] = 255;
    }
  }
  return out;
}

/**
 * The entry under pixel (x, y) of a heatmap drawn `width` x `height` pixels for an n x n matrix:
 * {row, col} (row = post, col = pre), or null outside it.
 */
export function pixelToCell(x, y, width, height, n) {
  if (!(n > 0) || !(width > 0) || !(height > 0)) return null;
  if (!(x >= 0 && y >= 0 && x < width && y < height)) return null;
  const col = Math.min(n - 1, Math.floor((x * n) / width));
  const row = Math.min(n - 1, Math.floor((y * n) / height));
  return { row, col };
}

/**
 * Every cell on the straight segment from cell `a` to cell `b`, both included, 8-connected
 * (Bresenham), so that a fast drag that jumps several cells between two mouse events paints
 * no gaps.
 */
export function cellsOnSegment(a, b) {
  let { row: r, col: c } = a;
  const dr = Math.abs(b.row - r);
  const dc = Math.abs(b.col - c);
  const sr = r < b.row ? 1 : -1;
  const sc = c < b.col ? 1 : -1;
  let err = dc - dr;
  const cells = [];
  for (;;) {
    cells.push({ row: r, col: c });
    if (r === b.row && c === b.col) return cells;
    const e2 = 2 * err;
    if (e2 > -dr) {
      err -= dr;
      c += sc;
    }
    if (e2 < dc) {
      err += dc;
      r += sr;
    }
  }
}

/**
 * Set mask entries (a flat n*n array of 0/1, changed in place) to `value` along the drag segment
 * from cell `from` (null at the start of a drag: only `to` is painted) to cell `to`.
 * Returns how many entries changed.
 */
export function paintSegment(mask, n, from, to, value) {
  if (to == null) return 0;
  const v = value ? 1 : 0;
  let changed = 0;
  for (const { row, col } of cellsOnSegment(from ?? to, to)) {
    if (row < 0 || col < 0 || row >= n || col >= n) continue;
    const i = row * n + col;
    if (mask[i] !== v) {
      mask[i] = v;
      changed++;
    }
  }
  return changed;
}

/** Number of units n from the mask's length (n*n), or -1 when it is not a square. */
export function sideOf(length) {
  const n = Math.round(Math.sqrt(length));
  return n * n === length ? n : -1;
}

/** Hover text for entry (row, col): post and pre unit, weight, unit kind, mask value. */
export function hoverText(row, col, weight, kind, maskValue) {
  const w = weight == null || Number.isNaN(weight) ? "–" : formatWeight(weight);
  const type = kind === "E" ? " (pre E)" : kind === "I" ? " (pre I)" : "";
  const m = maskValue == null ? "" : `, mask ${maskValue ? 1 : 0}`;
  return `post ${row}, pre ${col}: ${w}${type}${m}`;
}

/** A weight with 4 significant digits (exponent form for very small or large ones). */
export function formatWeight(w) {
  if (w === 0) return "0";
  const a = Math.abs(w);
  return a >= 1e-3 && a < 1e4 ? String(Number(w.toPrecision(4))) : w.toExponential(3);
}
