// Decoding the binary traits Python sends (float32 arrays as `bytes` traits).
// ipywidgets hands a `bytes` trait to the front-end as a DataView; tests pass typed arrays or plain arrays.

/** Any of DataView | ArrayBuffer | TypedArray | number[] | null -> Float32Array (a view when possible). */
export function toFloat32(value) {
  if (value == null) return new Float32Array(0);
  if (value instanceof Float32Array) return value;
  if (Array.isArray(value)) return Float32Array.from(value);
  if (value instanceof ArrayBuffer) return toFloat32(new DataView(value));
  if (ArrayBuffer.isView(value)) {
    const count = Math.floor(value.byteLength / 4);
    if (value.byteOffset % 4 === 0) return new Float32Array(value.buffer, value.byteOffset, count);
    // unaligned view: copy the bytes (little-endian, as numpy's '<f4' writes them)
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }
  throw new TypeError(`cannot read float32 values from ${Object.prototype.toString.call(value)}`);
}
