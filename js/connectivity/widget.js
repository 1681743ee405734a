// anywidget front-end of ConnectivityEditor (psychrnn_widgets/widgets/connectivity.py).
// Synced traits read here: n, weights (float32 bytes, row-major W[post, pre]), n_exc (null without
// Dale), mask (flat n*n list of 0/1), paint_mode, brush (0 = cut, 1 = connect), size (px).
// Written back: mask (once per drag, at its end), paint_mode, brush.
import { toFloat32 } from "../common/buffers.js";
import { capture, element } from "../common/dom.js";
import {
  BLUE, RED, columnKind, hoverText, maxAbs, paintSegment, pixelToCell, renderRGBA, formatWeight,
} from "./logic.js";

const STRIP = 8; // px: E/I strip along the top and left edges under Dale's law
const HINT = "hover: post, pre, weight";

function render({ model, el }) {
  const root = element("div", {
    display: "inline-flex", flexDirection: "column", gap: "4px",
    fontFamily: "var(--jp-ui-font-family, sans-serif)", fontSize: "12px",
  });
  root.className = "psychrnn-connectivity";

  // toolbar: paint toggle, brush, reset, summary
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
  let drag = null; // {value, last: {row, col}} while painting
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
      // E/I strips: presynaptic type along the top (columns), postsynaptic along the left (rows)
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
    legend.textContent = nExc == null
      ? `red > 0 > blue (|w| ≤ ${formatWeight(vmax)}), grey = 0, dark = cut by mask`
      : `E columns red, I columns blue (|w| ≤ ${formatWeight(vmax)}), grey = 0, dark = cut by mask`;
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
    const w = weights.length === n * n ? weights[i] : undefined;
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
    const value = (model.get("brush") ? 1 : 0) ^ (event.shiftKey ? 1 : 0); // shift inverts the brush
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

export default { render };
