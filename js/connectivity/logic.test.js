import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BLUE, MASK_ALPHA, MASK_COLOR, RED, WHITE, ZERO_COLOR,
  cellsOnSegment, columnKind, formatWeight, hoverText, maxAbs, mix, paintSegment,
  pixelToCell, renderRGBA, sideOf, weightColor,
} from "./logic.js";

test("maxAbs ignores non-finite values", () => {
  assert.equal(maxAbs([0.5, -2, NaN, Infinity, 1]), 2);
  assert.equal(maxAbs([]), 0);
});

test("columnKind: E for the first nExc presynaptic units, I after, signed without Dale", () => {
  assert.equal(columnKind(0, 8), "E");
  assert.equal(columnKind(7, 8), "E");
  assert.equal(columnKind(8, 8), "I");
  assert.equal(columnKind(3, null), "signed");
  assert.equal(columnKind(3, undefined), "signed");
  assert.equal(columnKind(3, -1), "signed");
});

test("weightColor: E red scale, I blue scale, zero grey, signed diverging", () => {
  assert.deepEqual(weightColor(1, 1, "E"), RED);
  assert.deepEqual(weightColor(-1, 1, "I"), BLUE);
  assert.deepEqual(weightColor(0, 1, "E"), ZERO_COLOR);
  assert.deepEqual(weightColor(NaN, 1, "signed"), ZERO_COLOR);
  assert.deepEqual(weightColor(2, 2, "signed"), RED);
  assert.deepEqual(weightColor(-2, 2, "signed"), BLUE);
  // half-way is half-way between white and the end colour; beyond vmax saturates
  assert.deepEqual(weightColor(0.5, 1, "E"), mix(WHITE, RED, 0.5));
  assert.deepEqual(weightColor(5, 1, "I"), BLUE);
  // a weak weight is nearly white, clearly different from an exact zero
  const weak = weightColor(1e-3, 1, "E");
  assert.ok(weak[0] > 250 && weak[1] > 250);
  assert.notDeepEqual(weak, ZERO_COLOR);
});

test("renderRGBA lays out rows as post and columns as pre, darkens masked entries", () => {
  // W[post, pre] with n = 2 and unit 0 excitatory: W = [[1, -1], [0, -0.5]]
  const W = new Float32Array([1, -1, 0, -0.5]);
  const mask = [1, 1, 1, 0];
  const px = renderRGBA(W, mask, 2, 1);
  const at = (row, col) => Array.from(px.slice(4 * (row * 2 + col), 4 * (row * 2 + col) + 3));
  assert.deepEqual(at(0, 0), RED);
  assert.deepEqual(at(0, 1), BLUE);
  assert.deepEqual(at(1, 0), ZERO_COLOR);
  assert.deepEqual(at(1, 1), mix(mix(WHITE, BLUE, 0.5), MASK_COLOR, MASK_ALPHA));
  assert.ok(px.every((v, i) => i % 4 !== 3 || v === 255));
});

test("renderRGBA without weights or mask draws grey without overlay", () => {
  const px = renderRGBA(new Float32Array(0), [], 3, null);
  assert.equal(px.length, 36);
  assert.deepEqual(Array.from(px.slice(0, 3)), ZERO_COLOR);
});

test("pixelToCell maps pixels to (row, col) and rejects the outside", () => {
  assert.deepEqual(pixelToCell(0, 0, 100, 100, 10), { row: 0, col: 0 });
  assert.deepEqual(pixelToCell(99.9, 0, 100, 100, 10), { row: 0, col: 9 });
  assert.deepEqual(pixelToCell(25, 71, 100, 100, 10), { row: 7, col: 2 });
  assert.deepEqual(pixelToCell(50, 50, 200, 100, 4), { row: 2, col: 1 });
  assert.equal(pixelToCell(-1, 5, 100, 100, 10), null);
  assert.equal(pixelToCell(5, 100, 100, 100, 10), null);
  assert.equal(pixelToCell(5, 5, 100, 100, 0), null);
});

test("cellsOnSegment: endpoints included, 8-connected, no gaps", () => {
  assert.deepEqual(cellsOnSegment({ row: 2, col: 2 }, { row: 2, col: 2 }), [{ row: 2, col: 2 }]);
  const line = cellsOnSegment({ row: 0, col: 0 }, { row: 3, col: 7 });
  assert.deepEqual(line[0], { row: 0, col: 0 });
  assert.deepEqual(line.at(-1), { row: 3, col: 7 });
  assert.equal(line.length, 8); // one cell per column along the major axis
  for (let k = 1; k < line.length; k++) {
    assert.ok(Math.abs(line[k].row - line[k - 1].row) <= 1);
    assert.ok(Math.abs(line[k].col - line[k - 1].col) <= 1);
  }
  const back = cellsOnSegment({ row: 5, col: 1 }, { row: 0, col: 0 });
  assert.equal(back.length, 6);
  assert.deepEqual(back.at(-1), { row: 0, col: 0 });
});

test("paintSegment paints a drag segment and counts changes", () => {
  const n = 4;
  const mask = new Array(n * n).fill(1);
  assert.equal(paintSegment(mask, n, null, { row: 1, col: 1 }, 0), 1);
  assert.equal(mask[5], 0);
  // the diagonal from (1,1) to (3,3): (1,1) is already 0
  assert.equal(paintSegment(mask, n, { row: 1, col: 1 }, { row: 3, col: 3 }, 0), 2);
  assert.deepEqual(mask, [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0]);
  // erasing back (value 1) along a row
  assert.equal(paintSegment(mask, n, { row: 1, col: 0 }, { row: 1, col: 3 }, 1), 1);
  assert.equal(mask[5], 1);
  assert.equal(paintSegment(mask, n, null, null, 0), 0);
  // cells outside the matrix are ignored: only (3,3) changes
  assert.equal(paintSegment(mask, n, { row: 3, col: 3 }, { row: 5, col: 5 }, 1), 1);
  assert.equal(mask.length, n * n);
});

test("sideOf gives n for n*n entries", () => {
  assert.equal(sideOf(0), 0);
  assert.equal(sideOf(49), 7);
  assert.equal(sideOf(50), -1);
});

test("hoverText names post, pre, value, kind and mask", () => {
  assert.equal(hoverText(3, 7, 0.123456, "E", 1), "post 3, pre 7: 0.1235 (pre E), mask 1");
  assert.equal(hoverText(0, 1, -2e-5, "signed", 0), "post 0, pre 1: -2.000e-5, mask 0");
  assert.equal(hoverText(0, 1, undefined, "I", null), "post 0, pre 1: – (pre I)");
  assert.equal(formatWeight(0), "0");
});
