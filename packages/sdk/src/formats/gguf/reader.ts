import { EdgeLMError } from '../../errors.js';
import type { TensorInfo } from '../../model/model-file.js';
import type { ByteSource } from '../byte-source.js';
import { type AnyGGMLType, GGML_BLOCK_ANY, isKnownType, typeName } from '../ggml-types.js';
import { ChunkedCursor } from './cursor.js';
import { DEFAULT_GGUF_LIMITS, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, type GgufLimits } from './limits.js';
import {
  type GgufArrayValue,
  type GgufScalar,
  type GgufScalarTypeName,
  type GgufValue,
  ggufTypeName,
  integerOf,
  SCALAR_BYTES,
} from './values.js';

const ARRAY_BATCH_BYTES = 1 << 20;

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;

/**
 * A tensor as the header declares it: any type ggml defines, supported or not, so `inspect`
 * can show a file edgelm cannot run. {@link openGguf} narrows these to {@link TensorInfo}.
 */
export interface GgufTensorInfo extends Omit<TensorInfo, 'type'> {
  type: AnyGGMLType;
}

/** Everything in a GGUF file before its tensor data. */
export interface GgufHeader {
  version: number;
  metadata: Map<string, GgufValue>;
  /** In file order, with absolute offsets. */
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute offset of the (aligned) tensor data section. */
  dataOffset: number;
}

/** Options for {@link readGgufHeader}. */
export interface ReadGgufOptions {
  limits?: Partial<GgufLimits>;
  signal?: AbortSignal;
}

function limitError(what: string, value: number | bigint | string, limit: number): EdgeLMError {
  return new EdgeLMError('LIMIT_EXCEEDED', `${what} is ${value}, the limit is ${limit}`, {
    what,
    value: String(value),
    limit,
  });
}

function truncated(c: ChunkedCursor, what: string, bytes: number): EdgeLMError {
  return new EdgeLMError(
    'TRUNCATED',
    `${what} needs at least ${bytes} bytes at ${c.pos}, the file has ${c.remaining}`,
    { offset: c.pos, wanted: bytes },
  );
}

/** A u64 count or size, refused when over `limit` and when `minBytesEach` of each cannot fit. */
async function readCount(c: ChunkedCursor, what: string, limit: number, minBytesEach: number) {
  await c.ensure(8, what);
  const n = c.u64();
  if (n > BigInt(limit)) throw limitError(what, n, limit);
  const count = Number(n);
  if (count * minBytesEach > c.remaining) throw truncated(c, what, count * minBytesEach);
  return count;
}

async function readString(c: ChunkedCursor, lim: GgufLimits, what: string): Promise<string> {
  const n = await readCount(c, `length of ${what}`, lim.maxStringBytes, 1);
  await c.ensure(n, what);
  return c.text(n);
}

/** A fixed-size scalar; the caller has ensured its bytes. */
function scalarAt(c: ChunkedCursor, type: Exclude<GgufScalarTypeName, 'string'>, key: string): GgufScalar {
  switch (type) {
    case 'u8':
      return c.u8();
    case 'i8':
      return c.i8();
    case 'u16':
      return c.u16();
    case 'i16':
      return c.i16();
    case 'u32':
      return c.u32();
    case 'i32':
      return c.i32();
    case 'f32':
      return c.f32();
    case 'f64':
      return c.f64();
    case 'bool': {
      const b = c.u8();
      if (b > 1) throw new EdgeLMError('CORRUPT', `Boolean in "${key}" holds ${b}`, { key });
      return b === 1;
    }
    case 'u64':
      return c.u64();
    case 'i64':
      return c.i64();
  }
}

async function readScalar(
  c: ChunkedCursor,
  type: GgufScalarTypeName,
  lim: GgufLimits,
  key: string,
): Promise<GgufScalar> {
  if (type === 'string') return readString(c, lim, `string in "${key}"`);
  await c.ensure(SCALAR_BYTES[type], `value of "${key}"`);
  return scalarAt(c, type, key);
}

async function readType(c: ChunkedCursor, key: string): Promise<ReturnType<typeof ggufTypeName>> {
  await c.ensure(4, `type of "${key}"`);
  const code = c.u32();
  const name = ggufTypeName(code);
  if (name === undefined) {
    throw new EdgeLMError('CORRUPT', `Metadata "${key}" has unknown value type ${code}`, { key, code });
  }
  return name;
}

async function readArray(c: ChunkedCursor, lim: GgufLimits, key: string, depth: number) {
  if (depth > lim.maxArrayDepth) throw limitError(`array nesting of "${key}"`, depth, lim.maxArrayDepth);
  const itemType = await readType(c, key);
  if (itemType === 'array') {
    // An inner array takes at least its item type and length: 12 bytes.
    const n = await readCount(c, `length of "${key}"`, lim.maxArrayLength, 12);
    const items: GgufArrayValue[] = [];
    for (let i = 0; i < n; i++) items.push(await readArray(c, lim, key, depth + 1));
    return { type: 'array', itemType: 'array', value: items } satisfies GgufArrayValue;
  }
  const type = itemType!;
  const n = await readCount(c, `length of "${key}"`, lim.maxArrayLength, SCALAR_BYTES[type]);
  const items: GgufScalar[] = new Array(n);
  if (type === 'string') {
    for (let i = 0; i < n; i++) {
      items[i] = c.bufferedString(lim.maxStringBytes) ?? (await readString(c, lim, `string in "${key}"`));
    }
  } else {
    // Fixed-size items are read a window at a time rather than awaiting each one.
    const size = SCALAR_BYTES[type];
    for (let i = 0; i < n; ) {
      const batch = Math.min(n - i, Math.floor(ARRAY_BATCH_BYTES / size));
      await c.ensure(batch * size, `array "${key}"`);
      for (const end = i + batch; i < end; i++) items[i] = scalarAt(c, type, key);
    }
  }
  return { type: 'array', itemType: type, value: items } as GgufArrayValue;
}

async function readValue(c: ChunkedCursor, lim: GgufLimits, key: string): Promise<GgufValue> {
  const type = await readType(c, key);
  if (type === 'array') return readArray(c, lim, key, 1);
  return { type: type!, value: await readScalar(c, type!, lim, key) } as GgufValue;
}

function alignmentOf(metadata: Map<string, GgufValue>, lim: GgufLimits): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const a = integerOf(v, 'general.alignment');
  if (a <= 0 || (a & (a - 1)) !== 0 || a > lim.maxAlignment) {
    throw new EdgeLMError(
      'CORRUPT',
      `general.alignment ${a} is not a power of two up to ${lim.maxAlignment}`,
      {
        alignment: a,
      },
    );
  }
  return a;
}

interface RawTensor {
  name: string;
  shape: number[];
  type: number;
  relOffset: bigint;
}

async function readTensorInfo(c: ChunkedCursor, lim: GgufLimits, index: number): Promise<RawTensor> {
  const name = await readString(c, lim, `name of tensor ${index}`);
  await c.ensure(4, `dimensions of "${name}"`);
  const nDims = c.u32();
  if (nDims > GGUF_MAX_DIMS) throw limitError(`dimensions of "${name}"`, nDims, GGUF_MAX_DIMS);
  await c.ensure(8 * nDims + 12, `shape of "${name}"`);
  const shape: number[] = [];
  for (let d = 0; d < nDims; d++) {
    const dim = c.u64();
    if (dim > BigInt(Number.MAX_SAFE_INTEGER)) throw limitError(`dimension of "${name}"`, dim, 2 ** 53);
    shape.push(Number(dim));
  }
  return { name, shape, type: c.u32(), relOffset: c.u64() };
}

/**
 * Checks one tensor's type, shape and byte range, returning its absolute location. Every type
 * ggml defines is sized from its block geometry; only a number ggml does not define is refused
 * here, since its bytes cannot be located.
 */
function locateTensor(t: RawTensor, dataOffset: number, alignment: number, fileSize: number): GgufTensorInfo {
  if (!isKnownType(t.type)) {
    throw new EdgeLMError(
      'UNSUPPORTED_TYPE',
      `Tensor "${t.name}" has type ${typeName(t.type)}, which ggml does not define`,
      {
        tensor: t.name,
        type: typeName(t.type),
      },
    );
  }
  const { blockSize, blockBytes } = GGML_BLOCK_ANY[t.type];
  let elements = 1;
  for (const dim of t.shape) {
    if (dim !== 0 && elements > Number.MAX_SAFE_INTEGER / dim) {
      throw limitError(`element count of "${t.name}"`, t.shape.join('x'), Number.MAX_SAFE_INTEGER);
    }
    elements *= dim;
  }
  if ((t.shape[0] ?? 1) % blockSize !== 0) {
    throw new EdgeLMError('CORRUPT', `Tensor "${t.name}" rows are not whole ${typeName(t.type)} blocks`, {
      tensor: t.name,
    });
  }
  const byteLength = (elements / blockSize) * blockBytes;
  if (t.relOffset % BigInt(alignment) !== 0n) {
    throw new EdgeLMError('CORRUPT', `Tensor "${t.name}" offset ${t.relOffset} is not ${alignment}-aligned`, {
      tensor: t.name,
    });
  }
  const offset = dataOffset + Number(t.relOffset);
  if (t.relOffset > BigInt(fileSize) || offset + byteLength > fileSize) {
    throw new EdgeLMError(
      'TRUNCATED',
      `Tensor "${t.name}" ends at ${BigInt(dataOffset) + t.relOffset + BigInt(byteLength)}, past the file end ${fileSize}`,
      { tensor: t.name, size: fileSize },
    );
  }
  return { name: t.name, type: t.type, shape: t.shape, offset, byteLength };
}

function checkDisjoint(tensors: GgufTensorInfo[]): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (prev.offset + prev.byteLength > sorted[i].offset) {
      throw new EdgeLMError('CORRUPT', `Tensors "${prev.name}" and "${sorted[i].name}" overlap`, {
        tensor: sorted[i].name,
      });
    }
  }
}

/**
 * Reads a GGUF (v2 or v3) header: metadata, tensor infos and the data offset, in bounded
 * chunks. Hostile files fail with BAD_MAGIC, UNSUPPORTED_VERSION, UNSUPPORTED_TYPE (a type number
 * ggml does not define), TRUNCATED, CORRUPT or LIMIT_EXCEEDED before anything a count asks for
 * is allocated. Types ggml defines but edgelm cannot run (IQ2_XXS, …) are read; loading refuses them.
 *
 * @example
 * ```ts
 * const header = await readGgufHeader(blobSource(file));
 * console.log(header.metadata.get('general.architecture')?.value, header.tensors.length);
 * ```
 */
export async function readGgufHeader(source: ByteSource, options: ReadGgufOptions = {}): Promise<GgufHeader> {
  const lim: GgufLimits = { ...DEFAULT_GGUF_LIMITS, ...options.limits };
  const c = new ChunkedCursor(source, lim.maxHeaderBytes, options.signal);
  await c.ensure(8, 'GGUF magic and version');
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    throw new EdgeLMError('BAD_MAGIC', `${source.name} is not a GGUF file`, { magic });
  }
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    throw new EdgeLMError('UNSUPPORTED_VERSION', `GGUF version ${version} is not supported (2 and 3 are)`, {
      version,
    });
  }
  // A tensor info takes at least 8 (name length) + 4 (dims) + 4 (type) + 8 (offset) bytes;
  // a metadata entry at least 8 (key length) + 4 (type) + 1 (value).
  const tensorCount = await readCount(c, 'tensor count', lim.maxTensors, 24);
  const kvCount = await readCount(c, 'metadata count', lim.maxMetadataEntries, 13);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await readString(c, lim, `metadata key ${i}`);
    if (metadata.has(key)) throw new EdgeLMError('CORRUPT', `Metadata key "${key}" repeats`, { key });
    metadata.set(key, await readValue(c, lim, key));
  }
  const raw: RawTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const t = await readTensorInfo(c, lim, i);
    if (names.has(t.name)) throw new EdgeLMError('CORRUPT', `Tensor "${t.name}" repeats`, { tensor: t.name });
    names.add(t.name);
    raw.push(t);
  }
  const alignment = alignmentOf(metadata, lim);
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const tensors = raw.map((t) => locateTensor(t, dataOffset, alignment, source.size));
  checkDisjoint(tensors);
  return { version, metadata, tensors, alignment, dataOffset };
}
