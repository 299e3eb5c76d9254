// Minimal ONNX TensorProto codec (raw_data, little-endian) shared by the model-reference and
// benchmark scripts; also exposes the generic protobuf field reader.
'use strict';

const prod = (dims) => dims.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------
// ONNX TensorProto data types and ORT tensor types.
const DTYPE = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7,
  string: 8, bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13,
};
const DTYPE_NAME = Object.fromEntries(Object.entries(DTYPE).map(([k, v]) => [v, k]));
const TYPED = {
  float32: Float32Array, uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array,
  int16: Int16Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array,
  float16: Uint16Array, float64: Float64Array, uint32: Uint32Array, uint64: BigUint64Array,
};
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!LITTLE_ENDIAN) throw new Error('big-endian host not supported (raw_data must be little-endian)');

function rawBytes(data) {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

// ---------------------------------------------------------------------------
// Minimal protobuf writer.
function encVarint(v) {
  // v: number or bigint, non-negative or negative (two's complement 64-bit).
  let x = BigInt.asUintN(64, BigInt(v));
  const bytes = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    bytes.push(b);
  } while (x !== 0n);
  return Buffer.from(bytes);
}
const tag = (field, wire) => encVarint((field << 3) | wire);
function lenField(field, buf) {
  return Buffer.concat([tag(field, 2), encVarint(buf.length), buf]);
}

// TensorProto: dims=1 (packed int64), data_type=2, name=8, raw_data=9.
function encodeTensor(name, type, dims, data) {
  if (!(type in DTYPE) || type === 'string') throw new Error(`unsupported dtype ${type}`);
  const parts = [];
  if (dims.length) parts.push(lenField(1, Buffer.concat(dims.map((d) => encVarint(d)))));
  parts.push(tag(2, 0), encVarint(DTYPE[type]));
  parts.push(lenField(8, Buffer.from(name, 'utf8')));
  parts.push(lenField(9, rawBytes(data)));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// Minimal protobuf reader: returns [{field, wire, value}] where value is a
// BigInt for varint, a Buffer (subarray) for length-delimited and fixed types.
function decVarint(buf, pos) {
  let result = 0n, shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7n;
    if (shift > 63n) throw new Error('varint too long');
  }
  return [result, pos];
}
function parseMessage(buf) {
  const fields = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = decVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    let value;
    if (wire === 0) {
      [value, pos] = decVarint(buf, pos);
    } else if (wire === 2) {
      let len;
      [len, pos] = decVarint(buf, pos);
      len = Number(len);
      if (pos + len > buf.length) throw new Error('truncated length-delimited field');
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      value = buf.subarray(pos, pos + 8); pos += 8;
    } else if (wire === 5) {
      value = buf.subarray(pos, pos + 4); pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire} (field ${field})`);
    }
    if (pos > buf.length) throw new Error('truncated message');
    fields.push({ field, wire, value });
  }
  return fields;
}
const str = (b) => Buffer.from(b).toString('utf8');
const all = (fields, n) => fields.filter((f) => f.field === n);
const first = (fields, n) => fields.find((f) => f.field === n);

function decodeTensor(buf) {
  const f = parseMessage(buf);
  const dims = [];
  for (const d of all(f, 1)) {
    if (d.wire === 2) { // packed
      let p = 0;
      while (p < d.value.length) { let v; [v, p] = decVarint(d.value, p); dims.push(Number(BigInt.asIntN(64, v))); }
    } else {
      dims.push(Number(BigInt.asIntN(64, d.value)));
    }
  }
  const dt = first(f, 2);
  const type = DTYPE_NAME[dt ? Number(dt.value) : 0];
  const nm = first(f, 8);
  const raw = first(f, 9);
  if (!type || !TYPED[type]) throw new Error(`unsupported data_type ${dt && dt.value}`);
  if (!raw) throw new Error('tensor has no raw_data');
  const T = TYPED[type];
  if (raw.value.length !== prod(dims) * T.BYTES_PER_ELEMENT) {
    throw new Error(`raw_data size ${raw.value.length} does not match dims ${dims} (${type})`);
  }
  const copy = new Uint8Array(raw.value); // aligned copy
  return { name: nm ? str(nm.value) : '', type, dims, data: new T(copy.buffer, 0, prod(dims)) };
}

module.exports = {
  prod, DTYPE, DTYPE_NAME, TYPED, rawBytes, encVarint, tag, lenField, encodeTensor, decVarint,
  parseMessage, str, all, first, decodeTensor,
};
