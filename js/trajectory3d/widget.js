// anywidget front-end of Trajectory3D (psychrnn_widgets/widgets/trajectory3d.py).
// Synced traits read here: points (float32 bytes, (n_lines, n_steps, 3) C order), n_lines, n_steps,
// colors, labels, axis_labels, title, width, height (px), yaw, pitch (radians).
// Written back: yaw and pitch, once per drag (at its end).  Double-click restores the first view.
import { toFloat32 } from "../common/buffers.js";
import { capture, element } from "../common/dom.js";
import {
  MAX_LINES, applyDrag, bounds, downsampleIndices, fitView, legendEntries, project, projectLine, rotationMatrix,
} from "./logic.js";

const MAX_DRAWN_POINTS = 1500; // per line and frame; Python caps lines at 5,000 points

function render({ model, el }) {
  const root = element("div", {
    display: "inline-flex", flexDirection: "column", gap: "4px",
    fontFamily: "var(--jp-ui-font-family, sans-serif)", fontSize: "12px",
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
    if (points.length < nLines * nSteps * 3) nLines = 0; // inconsistent state: draw nothing
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
      }),
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

    // axes through the centre of the data, half its radius long, labelled PC1..PC3
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
      // start: open circle; end: filled dot
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
  const names = ["points", "n_lines", "n_steps", "colors", "labels", "axis_labels", "title", "width", "height", "yaw",
    "pitch"].map((k) => `change:${k}`);
  for (const name of names) model.on(name, onChange);
  readModel();
  draw();

  return () => {
    for (const name of names) model.off(name, onChange);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
