// The connectivity editor's render() driven without a browser (fake DOM): drawing, hover, painting.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeElement, FakeModel, installFakeDom } from "../testing/fake-dom.js";

const flush = installFakeDom();
const { default: widget } = await import("./widget.js");

// 3 units, unit 0 and 1 excitatory; heatmap 300 px, so 100 px per entry, after a 10 px E/I strip
const PAD = 10;
const CELL = 100;
const at = (row, col) => ({ clientX: PAD + CELL * col + 50, clientY: PAD + CELL * row + 50 });

function setup(extra = {}) {
  const model = new FakeModel({
    n: 3, weights: new DataView(new Float32Array([1, 2, -3, 0, 0.5, -1, 1, 1, -2]).buffer), n_exc: 2,
    dale_ratio: 0.7, mask: [1, 1, 1, 1, 1, 1, 1, 1, 1], paint_mode: false, brush: 0, size: 300, ...extra,
  });
  const el = new FakeElement("div");
  const cleanup = widget.render({ model, el });
  const canvas = el.findAll("canvas")[0];
  const divs = el.findAll("div");
  return { model, el, cleanup, canvas, status: divs[2], summary: el.findAll("span").at(-1) };
}

test("render draws the n x n heatmap and the summary", () => {
  const { canvas, summary } = setup();
  const calls = canvas.getContext().calls.map((c) => c[0]);
  assert.ok(calls.includes("drawImage")); // the heatmap, through an offscreen canvas
  assert.ok(calls.includes("fillRect")); // E/I strips
  assert.equal(summary.textContent, "3×3, 0 entries cut");
  assert.equal(canvas.style.width, "310px");
});

test("hover shows post, pre, weight, kind and mask", () => {
  const { canvas, status } = setup();
  canvas.dispatch("pointermove", at(0, 2));
  assert.equal(status.textContent, "post 0, pre 2: -3 (pre I), mask 1");
  canvas.dispatch("pointermove", at(1, 1));
  assert.equal(status.textContent, "post 1, pre 1: 0.5 (pre E), mask 1");
  canvas.dispatch("pointerleave");
  assert.match(status.textContent, /hover/);
});

test("outside paint mode a drag changes nothing", () => {
  const { model, canvas } = setup();
  canvas.dispatch("pointerdown", at(0, 0));
  canvas.dispatch("pointermove", at(2, 2));
  canvas.dispatch("pointerup", at(2, 2));
  assert.equal(model.saved, 0);
  assert.deepEqual(model.get("mask"), [1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test("a drag in paint mode cuts the entries along its path and syncs the mask once, at release", () => {
  const { model, canvas, summary } = setup({ paint_mode: true });
  canvas.dispatch("pointerdown", at(0, 0));
  canvas.dispatch("pointermove", at(2, 2)); // one event jumping two cells: the diagonal has no gap
  assert.equal(model.saved, 0);
  canvas.dispatch("pointerup", at(2, 2));
  assert.equal(model.saved, 1);
  assert.deepEqual(model.get("mask"), [0, 1, 1, 1, 0, 1, 1, 1, 0]);
  flush();
  assert.equal(summary.textContent, "3×3, 3 entries cut");
  // brush 1 with Shift paints 0 too; brush 1 alone restores
  model.update("brush", 1);
  canvas.dispatch("pointerdown", { ...at(0, 1), shiftKey: true });
  canvas.dispatch("pointerup", at(0, 1));
  assert.deepEqual(model.get("mask"), [0, 0, 1, 1, 0, 1, 1, 1, 0]);
  canvas.dispatch("pointerdown", at(0, 0));
  canvas.dispatch("pointermove", at(0, 1));
  canvas.dispatch("pointerup", at(0, 1));
  assert.deepEqual(model.get("mask"), [1, 1, 1, 1, 0, 1, 1, 1, 0]);
  assert.equal(model.saved, 3);
});

test("the toolbar toggles paint mode, sets the brush and resets the mask", () => {
  const { model, el } = setup({ mask: [0, 0, 0, 1, 1, 1, 1, 1, 1] });
  const [box] = el.findAll("input");
  const [select] = el.findAll("select");
  const [reset] = el.findAll("button");
  box.checked = true;
  box.dispatch("change");
  assert.equal(model.get("paint_mode"), true);
  select.value = "1";
  select.dispatch("change");
  assert.equal(model.get("brush"), 1);
  reset.dispatch("click");
  assert.deepEqual(model.get("mask"), [1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.equal(model.saved, 3);
});

test("changes from Python redraw; a new size without a matching mask draws all ones", () => {
  flush(); // frames left by earlier tests
  const { model, canvas, summary } = setup();
  model.update("mask", [0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.equal(flush(), 1);
  assert.equal(summary.textContent, "3×3, 4 entries cut");
  model.update("n", 2);
  model.update("weights", new DataView(new Float32Array([1, -1, 1, -1]).buffer));
  flush();
  assert.equal(summary.textContent, "2×2, 0 entries cut");
  model.update("n_exc", null); // no Dale: no strip
  flush();
  assert.equal(canvas.style.width, "300px");
});

test("an empty editor renders a placeholder; cleanup removes the model listeners", () => {
  const { model, cleanup, canvas } = setup({ n: 0, weights: new DataView(new ArrayBuffer(0)), mask: [], n_exc: null });
  assert.ok(canvas.getContext().calls.some((c) => c[0] === "fillText" && /no weights/.test(c[1])));
  assert.ok(model.handlerCount() > 0);
  cleanup();
  assert.equal(model.handlerCount(), 0);
});
