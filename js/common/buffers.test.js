import { test } from "node:test";
import assert from "node:assert/strict";
import { toFloat32 } from "./buffers.js";

test("toFloat32 reads a DataView of little-endian float32 bytes", () => {
  const src = new Float32Array([1.5, -2, 0.25]);
  const out = toFloat32(new DataView(src.buffer));
  assert.deepEqual(Array.from(out), [1.5, -2, 0.25]);
});

test("toFloat32 copies an unaligned view", () => {
  const bytes = new Uint8Array(13);
  new DataView(bytes.buffer).setFloat32(1, 3.25, true);
  new DataView(bytes.buffer).setFloat32(5, -1, true);
  const out = toFloat32(new DataView(bytes.buffer, 1, 8));
  assert.deepEqual(Array.from(out), [3.25, -1]);
});

test("toFloat32 accepts arrays, ArrayBuffers and empty values", () => {
  assert.deepEqual(Array.from(toFloat32([1, 2])), [1, 2]);
  assert.deepEqual(Array.from(toFloat32(new Float32Array([4]).buffer)), [4]);
  assert.equal(toFloat32(null).length, 0);
  assert.equal(toFloat32(undefined).length, 0);
  assert.throws(() => toFloat32("abc"), TypeError);
});
