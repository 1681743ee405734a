// Generated from js/trajectory3d/ by js/build.mjs (esbuild): do not edit, run `npm run build --prefix js`.

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

// trajectory3d/logic.js
var PITCH_LIMIT = Math.PI / 2;
var MAX_LINES = 20;
function rotationMatrix(yaw, pitch) {
  const cy = Math.cos(yaw), sy = Math.sin(yaw);
  const cp = Math.cos(pitch), sp = Math.sin(pitch);
  return [
    cy,
    0,
    sy,
    sp * sy,
    cp,
    -sp * cy,
    -cp * sy,
    sp,
    cp * cy
  ];
}
function rotate(m, p) {
  return [
    m[0] * p[0] + m[1] * p[1] + m[2] * p[2],
    m[3] * p[0] + m[4] * p[1] + m[5] * p[2],
    m[6] * p[0] + m[7] * p[1] + m[8] * p[2]
  ];
}
function bounds(points) {
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
function project(p, m, view) {
  const r = rotate(m, [p[0] - view.center[0], p[1] - view.center[1], p[2] - view.center[2]]);
  return [view.cx + view.scale * r[0], view.cy - view.scale * r[1], r[2]];
}
function fitView(b, width, height, margin = 20) {
  const half = Math.max(1, Math.min(width, height) / 2 - margin);
  return { center: b.center, scale: half / b.radius, cx: width / 2, cy: height / 2 };
}
function projectLine(points, line, nSteps, steps, m, view) {
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
function downsampleIndices(n, maxPoints) {
  if (n <= 0) return [];
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  if (maxPoints <= 1) return [n - 1];
  const out = [];
  for (let k = 0; k < maxPoints; k++) {
    const i = Math.round(k * (n - 1) / (maxPoints - 1));
    if (out.length === 0 || out[out.length - 1] !== i) out.push(i);
  }
  return out;
}
function applyDrag(angles, dx, dy, radiansPerPixel = 0.01) {
  let yaw = angles.yaw + dx * radiansPerPixel;
  yaw = Math.atan2(Math.sin(yaw), Math.cos(yaw));
  const pitch = Math.min(PITCH_LIMIT, Math.max(-PITCH_LIMIT, angles.pitch + dy * radiansPerPixel));
  return { yaw, pitch };
}
function legendEntries(labels, colors) {
  const seen = /* @__PURE__ */ new Set();
  const out = [];
  const n = Math.max(labels.length, colors.length);
  for (let i = 0; i < n; i++) {
    const label = labels[i] ?? String(i + 1);
    const color = colors[i] ?? "#444";
    const key = `${label}\0${color}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ label, color });
  }
  return out;
}

// trajectory3d/widget.js
var MAX_DRAWN_POINTS = 1500;
function render({ model, el }) {
  const root = element("div", {
    display: "inline-flex",
    flexDirection: "column",
    gap: "4px",
    fontFamily: "var(--jp-ui-font-family, sans-serif)",
    fontSize: "12px"
  });
  root.className = "psychrnn-trajectory3d";
  const title = element("div", { fontWeight: "bold" });
  const row = element("div", { display: "flex", gap: "8px", alignItems: "flex-start" });
  const canvas = element("canvas", { display: "block", cursor: "grab", touchAction: "none", border: "1px solid #ddd" });
  const legend = element("div", { display: "flex", flexDirection: "column", gap: "2px", maxHeight: "100%" });
  const hint = element("div", { color: "#777" }, "drag to rotate, double-click to reset");
  row.append(canvas, legend);
  root.append(title, row, hint);
  el.append(root);
  const home = { yaw: model.get("yaw"), pitch: model.get("pitch") };
  let angles = { ...home };
  let points = new Float32Array(0);
  let nLines = 0;
  let nSteps = 0;
  let box = bounds(points);
  let drag = null;
  let frame = 0;
  function readModel() {
    points = toFloat32(model.get("points"));
    nLines = Math.min(MAX_LINES, model.get("n_lines") || 0);
    nSteps = model.get("n_steps") || 0;
    if (points.length < nLines * nSteps * 3) nLines = 0;
    box = bounds(points.subarray(0, nLines * nSteps * 3));
    if (!drag) angles = { yaw: model.get("yaw"), pitch: model.get("pitch") };
    title.textContent = model.get("title") || "";
    title.style.display = title.textContent ? "" : "none";
    legend.replaceChildren(
      ...legendEntries(model.get("labels") || [], model.get("colors") || []).map(({ label, color }) => {
        const item = element("div", { display: "flex", alignItems: "center", gap: "4px", whiteSpace: "nowrap" });
        item.append(element("span", { width: "14px", height: "3px", background: color, display: "inline-block" }));
        item.append(label);
        return item;
      })
    );
  }
  function draw() {
    frame = 0;
    const width = Math.max(100, model.get("width") || 460);
    const height = Math.max(100, model.get("height") || 380);
    const dpr = globalThis.devicePixelRatio || 1;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    if (nLines === 0 || nSteps === 0) {
      ctx.fillStyle = "#777";
      ctx.fillText("no trajectories yet", 10, 20);
      return;
    }
    const m = rotationMatrix(angles.yaw, angles.pitch);
    const view = fitView(box, width, height, 24);
    const axisNames = model.get("axis_labels") || ["PC1", "PC2", "PC3"];
    const origin = project(box.center, m, view);
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#bbb";
    ctx.fillStyle = "#888";
    for (let k = 0; k < 3; k++) {
      const tip = box.center.slice();
      tip[k] += 0.5 * box.radius;
      const p = project(tip, m, view);
      ctx.beginPath();
      ctx.moveTo(origin[0], origin[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      ctx.fillText(axisNames[k] ?? `PC${k + 1}`, p[0] + 3, p[1] - 3);
    }
    const colors = model.get("colors") || [];
    const steps = downsampleIndices(nSteps, MAX_DRAWN_POINTS);
    ctx.lineWidth = 1.6;
    ctx.lineJoin = "round";
    for (let line = 0; line < nLines; line++) {
      const xy = projectLine(points, line, nSteps, steps, m, view);
      const color = colors[line] || "#444";
      ctx.strokeStyle = color;
      ctx.beginPath();
      ctx.moveTo(xy[0], xy[1]);
      for (let k = 1; k < steps.length; k++) ctx.lineTo(xy[2 * k], xy[2 * k + 1]);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(xy[0], xy[1], 3, 0, 2 * Math.PI);
      ctx.stroke();
      const last = 2 * (steps.length - 1);
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.arc(xy[last], xy[last + 1], 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  function scheduleDraw() {
    if (!frame) frame = requestAnimationFrame(draw);
  }
  function onDown(event) {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, start: { ...angles } };
    capture(canvas, event.pointerId);
    canvas.style.cursor = "grabbing";
  }
  function onMove(event) {
    if (!drag) return;
    angles = applyDrag(drag.start, event.clientX - drag.x, event.clientY - drag.y);
    scheduleDraw();
  }
  function commit() {
    if (!drag) return;
    drag = null;
    canvas.style.cursor = "grab";
    model.set("yaw", angles.yaw);
    model.set("pitch", angles.pitch);
    model.save_changes();
  }
  function onDoubleClick() {
    angles = { ...home };
    model.set("yaw", angles.yaw);
    model.set("pitch", angles.pitch);
    model.save_changes();
    scheduleDraw();
  }
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", commit);
  canvas.addEventListener("pointercancel", commit);
  canvas.addEventListener("lostpointercapture", commit);
  canvas.addEventListener("dblclick", onDoubleClick);
  const onChange = () => {
    readModel();
    scheduleDraw();
  };
  const names = [
    "points",
    "n_lines",
    "n_steps",
    "colors",
    "labels",
    "axis_labels",
    "title",
    "width",
    "height",
    "yaw",
    "pitch"
  ].map((k) => `change:${k}`);
  for (const name of names) model.on(name, onChange);
  readModel();
  draw();
  return () => {
    for (const name of names) model.off(name, onChange);
    if (frame) cancelAnimationFrame(frame);
  };
}
var widget_default = { render };
export {
  widget_default as default
};
