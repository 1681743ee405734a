import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyDrag, bounds, downsampleIndices, fitView, legendEntries, PITCH_LIMIT, project, projectLine,
  rotate, rotationMatrix,
} from "./logic.js";

const close = (a, b, eps = 1e-9) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < eps, `${a} vs ${b}`));

test("rotationMatrix(0, 0) is the identity", () => {
  close(rotationMatrix(0, 0), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

test("yaw turns about the vertical axis, pitch about the horizontal one", () => {
  // a quarter yaw takes x to -z (away from the viewer) and z to x, leaves y alone
  close(rotate(rotationMatrix(Math.PI / 2, 0), [1, 0, 0]), [0, 0, -1]);
  close(rotate(rotationMatrix(Math.PI / 2, 0), [0, 0, 1]), [1, 0, 0]);
  close(rotate(rotationMatrix(Math.PI / 2, 0), [0, 1, 0]), [0, 1, 0]);
  // a quarter pitch takes z (towards the viewer) down to -y, leaves x alone
  close(rotate(rotationMatrix(0, Math.PI / 2), [0, 0, 1]), [0, -1, 0]);
  close(rotate(rotationMatrix(0, Math.PI / 2), [1, 0, 0]), [1, 0, 0]);
});

test("rotations keep lengths and are orthonormal", () => {
  const m = rotationMatrix(0.7, -0.4);
  const p = [0.3, -1.2, 2.5];
  const q = rotate(m, p);
  assert.ok(Math.abs(Math.hypot(...p) - Math.hypot(...q)) < 1e-12);
  for (let r = 0; r < 3; r++) {
    for (let s = 0; s < 3; s++) {
      const dot = m[3 * r] * m[3 * s] + m[3 * r + 1] * m[3 * s + 1] + m[3 * r + 2] * m[3 * s + 2];
      assert.ok(Math.abs(dot - (r === s ? 1 : 0)) < 1e-12);
    }
  }
});

test("bounds: box centre and largest distance, ignoring non-finite points", () => {
  const b = bounds(new Float32Array([0, 0, 0, 2, 4, 0, NaN, 0, 0]));
  close(b.center, [1, 2, 0]);
  assert.ok(Math.abs(b.radius - Math.sqrt(5)) < 1e-6);
  assert.deepEqual(bounds(new Float32Array(0)), { center: [0, 0, 0], radius: 1 });
  assert.equal(bounds(new Float32Array([3, 3, 3])).radius, 1);
});

test("project: centre to the screen centre, up is drawn up, fitted points stay inside", () => {
  const pts = new Float32Array([-1, -1, -1, 1, 1, 1, 0.5, -0.2, 0.9]);
  const b = bounds(pts);
  const view = fitView(b, 400, 300, 20);
  const m = rotationMatrix(0.9, 0.4);
  close(project(b.center, m, view).slice(0, 2), [200, 150]);
  const up = project([0, 1, 0], rotationMatrix(0, 0), view);
  assert.ok(up[1] < 150);
  for (let i = 0; i < pts.length; i += 3) {
    const [x, y] = project([pts[i], pts[i + 1], pts[i + 2]], m, view);
    assert.ok(x >= 20 - 1e-9 && x <= 380 + 1e-9 && y >= 20 - 1e-9 && y <= 280 + 1e-9);
  }
});

test("projectLine picks one line's steps from the flat (lines, steps, 3) array", () => {
  // 2 lines x 3 steps; line 1 is x = 10, 11, 12
  const pts = new Float32Array([0, 0, 0, 1, 0, 0, 2, 0, 0, 10, 0, 0, 11, 0, 0, 12, 0, 0]);
  const view = { center: [0, 0, 0], scale: 1, cx: 0, cy: 0 };
  const xy = projectLine(pts, 1, 3, [0, 2], rotationMatrix(0, 0), view);
  assert.deepEqual(Array.from(xy), [10, 0, 12, 0]);
});

test("downsampleIndices keeps first and last, at most maxPoints, increasing", () => {
  assert.deepEqual(downsampleIndices(5, 10), [0, 1, 2, 3, 4]);
  const idx = downsampleIndices(10001, 500);
  assert.equal(idx[0], 0);
  assert.equal(idx.at(-1), 10000);
  assert.ok(idx.length <= 500 && idx.length >= 499);
  for (let k = 1; k < idx.length; k++) assert.ok(idx[k] > idx[k - 1]);
  assert.deepEqual(downsampleIndices(0, 10), []);
  assert.deepEqual(downsampleIndices(7, 1), [6]);
});

test("applyDrag turns, clamps the pitch and wraps the yaw", () => {
  const a = applyDrag({ yaw: 0, pitch: 0 }, 100, -50);
  assert.ok(Math.abs(a.yaw - 1) < 1e-12 && Math.abs(a.pitch + 0.5) < 1e-12);
  assert.equal(applyDrag({ yaw: 0, pitch: 1.5 }, 0, 1000).pitch, PITCH_LIMIT);
  assert.equal(applyDrag({ yaw: 0, pitch: -1.5 }, 0, -1000).pitch, -PITCH_LIMIT);
  const w = applyDrag({ yaw: 3, pitch: 0 }, 100, 0);
  assert.ok(w.yaw > -Math.PI && w.yaw <= Math.PI);
  assert.ok(Math.abs(w.yaw - (4 - 2 * Math.PI)) < 1e-12);
});

test("legendEntries keeps one row per (label, color), in order", () => {
  const rows = legendEntries(["coh 0.1 L", "coh 0.1 L", "coh 0.1 R"], ["#f00", "#f00", "#00f"]);
  assert.deepEqual(rows, [{ label: "coh 0.1 L", color: "#f00" }, { label: "coh 0.1 R", color: "#00f" }]);
  assert.deepEqual(legendEntries([], ["red"]), [{ label: "1", color: "red" }]);
});
