// The trajectory viewer's render() driven without a browser (fake DOM): drawing, legend, drag to rotate.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeElement, FakeModel, installFakeDom } from "../testing/fake-dom.js";

const flush = installFakeDom();
const { default: widget } = await import("./widget.js");

function setup(extra = {}) {
  // 3 lines x 4 steps
  const points = new Float32Array(3 * 4 * 3).map((_, i) => Math.sin(i));
  const model = new FakeModel({
    points: new DataView(points.buffer), n_lines: 3, n_steps: 4, colors: ["red", "red", "blue"],
    labels: ["left", "left", "right"], axis_labels: ["PC1", "PC2", "PC3"], title: "states", yaw: 0.6, pitch: 0.35,
    width: 400, height: 300, ...extra,
  });
  const el = new FakeElement("div");
  const cleanup = widget.render({ model, el });
  return { model, el, cleanup, canvas: el.findAll("canvas")[0] };
}

test("render draws every line through all its points, axes and a legend row per condition", () => {
  flush();
  const { el, canvas } = setup();
  const calls = canvas.getContext().calls;
  const lineTos = calls.filter((c) => c[0] === "lineTo").length;
  assert.equal(lineTos, 3 + 3 * 3); // three axes, then 3 segments per line
  assert.ok(calls.some((c) => c[0] === "fillText" && c[1] === "PC2"));
  const legend = el.findAll("div").find((d) => d.style.flexDirection === "column" && d !== el.children[0]);
  assert.equal(legend.children.length, 2);
  assert.equal(el.findAll("div")[1].textContent, "states");
  // every drawn point lies inside the canvas
  for (const [name, x, y] of calls) {
    if (name === "lineTo" || name === "moveTo") assert.ok(x >= 0 && x <= 400 && y >= 0 && y <= 300, `${x}, ${y}`);
  }
});

test("a drag rotates and sends yaw and pitch once, at release; double-click restores", () => {
  const { model, canvas } = setup();
  canvas.dispatch("pointerdown", { clientX: 100, clientY: 100 });
  canvas.dispatch("pointermove", { clientX: 150, clientY: 120 });
  canvas.dispatch("pointermove", { clientX: 200, clientY: 80 });
  assert.equal(model.saved, 0);
  canvas.getContext().calls.length = 0;
  assert.equal(flush(), 1); // two moves, one frame
  assert.ok(canvas.getContext().calls.length > 0);
  canvas.dispatch("pointerup", { clientX: 200, clientY: 80 });
  assert.equal(model.saved, 1);
  assert.ok(Math.abs(model.get("yaw") - 1.6) < 1e-9);
  assert.ok(Math.abs(model.get("pitch") - 0.15) < 1e-9);
  canvas.dispatch("dblclick");
  assert.equal(model.get("yaw"), 0.6);
  assert.equal(model.get("pitch"), 0.35);
});

test("new data from Python redraws; inconsistent or empty data draws a placeholder", () => {
  flush();
  const { model, canvas, cleanup } = setup();
  model.update("n_lines", 5); // points not yet long enough for 5 lines
  flush();
  assert.ok(canvas.getContext().calls.some((c) => c[0] === "fillText" && /no trajectories/.test(c[1])));
  model.update("n_lines", 1);
  canvas.getContext().calls.length = 0;
  flush();
  assert.equal(canvas.getContext().calls.filter((c) => c[0] === "lineTo").length, 3 + 3);
  cleanup();
  assert.equal(model.handlerCount(), 0);
});
