// Generated from js/connectivity/ by js/build.mjs (esbuild): do not edit, run `npm run build --prefix js`.

// common/buffers.js
function toFloat32(value) {
  if (value == null) return new Float32Array(0);
  if (value instanceof Float32Array) return value;
  if (Array.isArray(value)) return Float32Array.from(value);
  if (value instanceof ArrayBuffer) return toFloat32(new DataView(value));
  if (ArrayBuffer.isView(value)) {
    const count = Math.floor(value.byteLength / 4);
    if (value.byteOffset % 4 === 0) return new Float32Array(value.buffer, value.byteOffset, count);
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }
  throw new TypeError(`cannot read float32 values from ${Object.prototype.toString.call(value)}`);
}

// common/dom.js
function element(tag, style = {}, text = "") {
  const node = document.createElement(tag);
  Object.assign(node.style, style);
  if (text) node.textContent = text;
  return node;
}
function capture(node, pointerId) {
  try {
    node.setPointerCapture?.(pointerId);
  } catch {
  }
}

// connectivity/logic.js
var WHITE = [255, 255, 255];
var RED = [178, 24, 43];
var BLUE = [33, 102, 172];
var ZERO_COLOR = [232, 232, 232];
var MASK_COLOR = [45, 45, 45];
var MASK_ALPHA = 0.7;
function maxAbs(values) {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (Number.isFinite(a) && a > m) m = a;
  }
  return m;
}
function mix(a, b, t) {
  const s = Math.min(1, Math.max(0, t));
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * s));
}
function columnKind(col, nExc) {
  if (nExc == null || nExc < 0) return "signed";
  return col < nExc ? "E" : "I";
}
function weightColor(w, vmax, kind) {
  if (!Number.isFinite(w) || w === 0) return ZERO_COLOR.slice();
  const t = vmax > 0 ? Math.abs(w) / vmax : 1;
  if (kind === "E") return mix(WHITE, RED, t);
  if (kind === "I") return mix(WHITE, BLUE, t);
  return mix(WHITE, w > 0 ? RED : BLUE, t);
}
function renderRGBA(weights, mask, n, nExc, vmax = maxAbs(weights)) {
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
function pixelToCell(x, y, width, height, n) {
  if (!(n > 0) || !(width > 0) || !(height > 0)) return null;
  if (!(x >= 0 && y >= 0 && x < width && y < height)) return null;
  const col = Math.min(n - 1, Math.floor(x * n / width));
  const row = Math.min(n - 1, Math.floor(y * n / height));
  return { row, col };
}
function cellsOnSegment(a, b) {
  let { row: r, col: c } = a;
  const dr = Math.abs(b.row - r);
  const dc = Math.abs(b.col - c);
  const sr = r < b.row ? 1 : -1;
  const sc = c < b.col ? 1 : -1;
  let err = dc - dr;
  const cells = [];
  for (; ; ) {
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
function paintSegment(mask, n, from, to, value) {
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
function hoverText(row, col, weight, kind, maskValue) {
  const w = weight == null || Number.isNaN(weight) ? "–" : formatWeight(weight);
  const type = kind === "E" ? " (pre E)" : kind === "I" ? " (pre I)" : "";
  const m = maskValue == null ? "" : `, mask ${maskValue ? 1 : 0}`;
  return `post ${row}, pre ${col}: ${w}${type}${m}`;
}
function formatWeight(w) {
  if (w === 0) return "0";
  const a = Math.abs(w);
  return a >= 1e-3 && a < 1e4 ? String(Number(w.toPrecision(4))) : w.toExponential(3);
}

// connectivity/widget.js
var STRIP = 8;
var HINT = "hover: post, pre, weight";
function render({ model, el }) {
  const root = element("div", {
    display: "inline-flex",
    flexDirection: "column",
    gap: "4px",
    fontFamily: "var(--jp-ui-font-family, sans-serif)",
    fontSize: "12px"
  });
  root.className = "psychrnn-connectivity";
  const toolbar = element("div", { display: "flex", alignItems: "center", gap: "10px", flexWrap: "wrap" });
  const paintLabel = element("label", { cursor: "pointer" });
  const paintBox = element("input");
  paintBox.type = "checkbox";
  paintLabel.append(paintBox, " paint mask");
  const brush = element("select");
  for (const [value, text] of [["0", "cut (0)"], ["1", "connect (1)"]]) {
    const option = element("option", {}, text);
    option.value = value;
    brush.append(option);
  }
  const reset = element("button", {}, "reset mask");
  const summary = element("span", { color: "#555" });
  toolbar.append(paintLabel, element("span", {}, "brush:"), brush, reset, summary);
  const canvas = element("canvas", { display: "block", touchAction: "none" });
  const status = element("div", { color: "#333", minHeight: "1.3em", whiteSpace: "nowrap" }, HINT);
  const legend = element("div", { color: "#555" });
  root.append(toolbar, canvas, status, legend);
  el.append(root);
  const offscreen = document.createElement("canvas");
  let n = 0;
  let nExc = null;
  let weights = new Float32Array(0);
  let mask = [];
  let drag = null;
  let frame = 0;
  function geometry() {
    const size = Math.max(50, model.get("size") || 420);
    const pad = nExc == null ? 0 : STRIP + 2;
    return { size, pad };
  }
  function readModel() {
    n = model.get("n") || 0;
    const e = model.get("n_exc");
    nExc = e == null || e < 0 ? null : e;
    weights = toFloat32(model.get("weights"));
    if (!drag) {
      const m = model.get("mask") || [];
      mask = m.length === n * n ? m.slice() : new Array(n * n).fill(1);
    }
    paintBox.checked = !!model.get("paint_mode");
    brush.value = String(model.get("brush") ? 1 : 0);
  }
  function draw() {
    frame = 0;
    const { size, pad } = geometry();
    const dpr = globalThis.devicePixelRatio || 1;
    const css = size + pad;
    canvas.style.width = `${css}px`;
    canvas.style.height = `${css}px`;
    canvas.width = Math.round(css * dpr);
    canvas.height = Math.round(css * dpr);
    canvas.style.cursor = model.get("paint_mode") ? "crosshair" : "default";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, css, css);
    if (n === 0) {
      ctx.fillStyle = "#eee";
      ctx.fillRect(0, 0, size, size);
      ctx.fillStyle = "#777";
      ctx.fillText("no weights yet", 10, 20);
      summary.textContent = "";
      legend.textContent = "";
      return;
    }
    const vmax = maxAbs(weights);
    offscreen.width = n;
    offscreen.height = n;
    offscreen.getContext("2d").putImageData(new ImageData(renderRGBA(weights, mask, n, nExc, vmax), n, n), 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(offscreen, pad, pad, size, size);
    const cell = size / n;
    if (nExc != null) {
      const rgb = (c) => `rgb(${c[0]},${c[1]},${c[2]})`;
      for (const [from, to, color] of [[0, nExc, RED], [nExc, n, BLUE]]) {
        if (to <= from) continue;
        ctx.fillStyle = rgb(color);
        ctx.fillRect(pad + from * cell, 0, (to - from) * cell, STRIP);
        ctx.fillRect(0, pad + from * cell, STRIP, (to - from) * cell);
      }
      if (nExc > 0 && nExc < n) {
        ctx.strokeStyle = "#222";
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(pad + nExc * cell, pad);
        ctx.lineTo(pad + nExc * cell, pad + size);
        ctx.moveTo(pad, pad + nExc * cell);
        ctx.lineTo(pad + size, pad + nExc * cell);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
    let cut = 0;
    for (let i = 0; i < mask.length; i++) if (!mask[i]) cut++;
    summary.textContent = `${n}×${n}, ${cut} entries cut`;
    legend.textContent = nExc == null ? `red > 0 > blue (|w| ≤ ${formatWeight(vmax)}), grey = 0, dark = cut by mask` : `E columns red, I columns blue (|w| ≤ ${formatWeight(vmax)}), grey = 0, dark = cut by mask`;
  }
  function scheduleDraw() {
    if (!frame) frame = requestAnimationFrame(draw);
  }
  function cellAt(event) {
    const { size, pad } = geometry();
    const rect = canvas.getBoundingClientRect();
    return pixelToCell(event.clientX - rect.left - pad, event.clientY - rect.top - pad, size, size, n);
  }
  function showHover(cell) {
    if (!cell) {
      status.textContent = HINT;
      return;
    }
    const i = cell.row * n + cell.col;
    const w = weights.length === n * n ? weights[i] : void 0;
    status.textContent = hoverText(cell.row, cell.col, w, columnKind(cell.col, nExc), mask[i]);
  }
  function commit() {
    if (!drag) return;
    drag = null;
    model.set("mask", Array.from(mask));
    model.save_changes();
  }
  function onDown(event) {
    if (event.button !== 0 || !model.get("paint_mode")) return;
    const cell = cellAt(event);
    if (!cell) return;
    event.preventDefault();
    const value = (model.get("brush") ? 1 : 0) ^ (event.shiftKey ? 1 : 0);
    drag = { value, last: cell };
    capture(canvas, event.pointerId);
    if (paintSegment(mask, n, null, cell, value)) scheduleDraw();
    showHover(cell);
  }
  function onMove(event) {
    const cell = cellAt(event);
    if (drag && cell) {
      if (paintSegment(mask, n, drag.last, cell, drag.value)) scheduleDraw();
      drag.last = cell;
    }
    showHover(cell);
  }
  function onLeave() {
    if (!drag) showHover(null);
  }
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", commit);
  canvas.addEventListener("pointercancel", commit);
  canvas.addEventListener("lostpointercapture", commit);
  canvas.addEventListener("pointerleave", onLeave);
  paintBox.addEventListener("change", () => {
    model.set("paint_mode", paintBox.checked);
    model.save_changes();
  });
  brush.addEventListener("change", () => {
    model.set("brush", Number(brush.value));
    model.save_changes();
  });
  reset.addEventListener("click", () => {
    mask = new Array(n * n).fill(1);
    model.set("mask", mask.slice());
    model.save_changes();
    scheduleDraw();
  });
  const onChange = () => {
    readModel();
    scheduleDraw();
  };
  const events = ["n", "weights", "n_exc", "mask", "paint_mode", "brush", "size"].map((k) => `change:${k}`);
  for (const name of events) model.on(name, onChange);
  readModel();
  draw();
  return () => {
    for (const name of events) model.off(name, onChange);
    if (frame) cancelAnimationFrame(frame);
  };
}
var widget_default = { render };
export {
  widget_default as default
};
