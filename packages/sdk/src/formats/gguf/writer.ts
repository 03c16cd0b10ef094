import { EdgeLMError } from '../../errors.js';
import { GGML_BLOCK, type GGMLType, tensorBytes, typeName } from '../ggml-types.js';
import { ByteWriter } from './byte-writer.js';
import { GGUF_DEFAULT_ALIGNMENT } from './limits.js';
import { GGUF_MAGIC } from './reader.js';
import { type GgufScalar, type GgufScalarTypeName, GgufType, type GgufValue } from './values.js';

/** Where a GGUF file goes: a file handle, a stream writer, a buffer. */
export interface GgufSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** A tensor to write; `data` is called once, in file order, when its bytes are due. */
export interface GgufTensorInput {
  name: string;
  type: GGMLType;
  /** GGUF order: shape[0] is the row length. */
  shape: number[];
  data: () => Promise<Uint8Array> | Uint8Array;
}

export interface GgufWriteInput {
  /** In file order. `general.alignment`, when present, sets the data alignment. */
  metadata: Iterable<[string, GgufValue]>;
  tensors: GgufTensorInput[];
}

const INT_RANGES: Partial<Record<GgufScalarTypeName, [number, number]>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

function badValue(key: string, type: string, v: unknown): EdgeLMError {
  return new EdgeLMError('INVALID_ARGUMENT', `Metadata "${key}": ${String(v)} is not a valid ${type}`, {
    key,
    type,
  });
}

function writeScalar(w: ByteWriter, type: GgufScalarTypeName, v: GgufScalar, key: string): void {
  const range = INT_RANGES[type];
  if (range && (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1])) {
    throw badValue(key, type, v);
  }
  switch (type) {
    case 'u8':
    case 'i8':
    case 'u16':
    case 'i16':
    case 'u32':
    case 'i32':
      w[type](v as number);
      return;
    case 'f32':
    case 'f64':
      if (typeof v !== 'number') throw badValue(key, type, v);
      w[type](v);
      return;
    case 'u64':
      if (typeof v !== 'bigint' || v < 0n || v >= 1n << 64n) throw badValue(key, type, v);
      w.u64(v);
      return;
    case 'i64':
      if (typeof v !== 'bigint' || v < -(1n << 63n) || v >= 1n << 63n) throw badValue(key, type, v);
      w.i64(v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw badValue(key, type, v);
      w.u8(v ? 1 : 0);
      return;
    case 'string':
      if (typeof v !== 'string') throw badValue(key, type, v);
      w.string(v);
      return;
  }
}

function writeValue(w: ByteWriter, v: GgufValue, key: string): void {
  if (!Object.hasOwn(GgufType, v.type)) throw badValue(key, 'GGUF value type', v.type);
  w.u32(GgufType[v.type]);
  writeBody(w, v, key);
}

function writeBody(w: ByteWriter, v: GgufValue, key: string): void {
  if (v.type !== 'array') {
    writeScalar(w, v.type, v.value, key);
    return;
  }
  if (!Array.isArray(v.value) || !Object.hasOwn(GgufType, v.itemType)) throw badValue(key, 'array', v.value);
  w.u32(GgufType[v.itemType]);
  w.u64(BigInt(v.value.length));
  if (v.itemType === 'array') {
    for (const inner of v.value as GgufValue[]) {
      if (inner.type !== 'array') throw badValue(key, 'nested array', inner.type);
      writeBody(w, inner, key);
    }
  } else {
    for (const item of v.value as GgufScalar[]) writeScalar(w, v.itemType, item, key);
  }
}

function alignmentOf(metadata: [string, GgufValue][]): number {
  const entry = metadata.find(([k]) => k === 'general.alignment');
  if (!entry) return GGUF_DEFAULT_ALIGNMENT;
  const a = entry[1].value;
  if (typeof a !== 'number' || !Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) {
    throw badValue('general.alignment', 'power of two', a);
  }
  return a;
}

function elementsOf(t: GgufTensorInput): number {
  if (t.shape.length > 4 || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new EdgeLMError('INVALID_ARGUMENT', `Tensor "${t.name}" has shape [${t.shape}]`, {
      tensor: t.name,
    });
  }
  if (!Object.hasOwn(GGML_BLOCK, t.type) || (t.shape[0] ?? 1) % GGML_BLOCK[t.type].blockSize !== 0) {
    throw new EdgeLMError(
      'INVALID_ARGUMENT',
      `Tensor "${t.name}" rows are not whole ${typeName(t.type)} blocks`,
      {
        tensor: t.name,
      },
    );
  }
  return t.shape.reduce((a, b) => a * b, 1);
}

/**
 * Writes a GGUF v3 file to `sink`: the header at once, then each tensor as its producer yields
 * it, so converting a large model holds one tensor at a time. Returns the bytes written.
 *
 * @example
 * ```ts
 * await writeGguf(sink, {
 *   metadata: [['general.architecture', gguf.string('llama')]],
 *   tensors: [{ name: 'output_norm.weight', type: GGMLType.F32, shape: [64], data: () => bytes }],
 * });
 * ```
 */
export async function writeGguf(sink: GgufSink, input: GgufWriteInput): Promise<number> {
  const metadata = [...input.metadata];
  const alignment = alignmentOf(metadata);
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(BigInt(input.tensors.length));
  w.u64(BigInt(metadata.length));
  for (const [key, value] of metadata) {
    w.string(key);
    writeValue(w, value, key);
  }
  const sizes: number[] = [];
  let offset = 0;
  for (const t of input.tensors) {
    const size = tensorBytes(t.type, elementsOf(t));
    sizes.push(size);
    w.string(t.name);
    w.u32(t.shape.length);
    for (const d of t.shape) w.u64(BigInt(d));
    w.u32(t.type);
    w.u64(BigInt(offset));
    offset += Math.ceil(size / alignment) * alignment;
  }
  w.pad(alignment);
  let written = w.length;
  await sink.write(w.result());
  for (let i = 0; i < input.tensors.length; i++) {
    const t = input.tensors[i];
    const bytes = await t.data();
    if (bytes.byteLength !== sizes[i]) {
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        `Tensor "${t.name}" produced ${bytes.byteLength} of ${sizes[i]} bytes`,
        {
          tensor: t.name,
        },
      );
    }
    await sink.write(bytes);
    const pad = (alignment - (bytes.byteLength % alignment)) % alignment;
    if (pad) await sink.write(new Uint8Array(pad));
    written += bytes.byteLength + pad;
  }
  return written;
}

/** {@link writeGguf} into memory, for tests and small models. */
export async function encodeGguf(input: GgufWriteInput): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const total = await writeGguf(
    {
      async write(bytes) {
        parts.push(bytes.slice());
      },
    },
    input,
  );
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
