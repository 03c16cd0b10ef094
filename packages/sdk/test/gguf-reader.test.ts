import { describe, expect, it } from 'vitest';
import { EdgeLMError } from '../src/errors.js';
import { bytesSource } from '../src/formats/byte-source.js';
import { GGMLType } from '../src/formats/ggml-types.js';
import { ByteWriter } from '../src/formats/gguf/byte-writer.js';
import { readGgufHeader } from '../src/formats/gguf/reader.js';
import { GgufType, type GgufValue, gguf } from '../src/formats/gguf/values.js';
import { encodeGguf } from '../src/formats/gguf/writer.js';

const ALL_TYPES: [string, GgufValue][] = [
  ['t.u8', gguf.u8(255)],
  ['t.i8', gguf.i8(-128)],
  ['t.u16', gguf.u16(65535)],
  ['t.i16', gguf.i16(-32768)],
  ['t.u32', gguf.u32(0xffffffff)],
  ['t.i32', gguf.i32(-0x80000000)],
  ['t.f32', gguf.f32(Math.fround(0.1))],
  ['t.f32.inf', gguf.f32(Number.NEGATIVE_INFINITY)],
  ['t.bool.true', gguf.bool(true)],
  ['t.bool.false', gguf.bool(false)],
  ['t.string', gguf.string('héllo ▁wörld 🦙')],
  ['t.string.empty', gguf.string('')],
  ['t.u64', gguf.u64((1n << 64n) - 1n)],
  ['t.i64', gguf.i64(-(1n << 63n))],
  ['t.f64', gguf.f64(Math.PI)],
  ['a.u8', gguf.array('u8', [0, 1, 255])],
  ['a.i8', gguf.array('i8', [-128, 0, 127])],
  ['a.u16', gguf.array('u16', [0, 65535])],
  ['a.i16', gguf.array('i16', [-32768, 32767])],
  ['a.u32', gguf.array('u32', [0, 0xffffffff])],
  ['a.i32', gguf.array('i32', [-0x80000000, 0x7fffffff])],
  ['a.f32', gguf.array('f32', [1.5, -0, Math.fround(1e-30)])],
  ['a.bool', gguf.array('bool', [true, false, true])],
  ['a.string', gguf.array('string', ['', 'a', '<0x0A>', '日本'])],
  ['a.u64', gguf.array('u64', [0n, (1n << 64n) - 1n])],
  ['a.i64', gguf.array('i64', [-(1n << 63n), (1n << 63n) - 1n])],
  ['a.f64', gguf.array('f64', [Math.E, -1e300])],
  ['a.empty', gguf.array('u32', [])],
  ['a.nested', gguf.nested([gguf.array('string', ['x', 'y']), gguf.array('i32', [7]), gguf.array('u8', [])])],
  ['a.nested2', gguf.nested([gguf.nested([gguf.array('f64', [1, 2])]), gguf.nested([])])],
];

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(EdgeLMError);
  expect((err as EdgeLMError).code).toBe(code);
}

/** Hand-assembles a header, for files the writer refuses to produce. */
function raw(tensors: bigint, kvs: bigint, body: (w: ByteWriter) => void, version = 3): Uint8Array {
  const w = new ByteWriter();
  w.u32(0x46554747);
  w.u32(version);
  w.u64(tensors);
  w.u64(kvs);
  body(w);
  return w.result().slice();
}

function tensorInfo(w: ByteWriter, name: string, dims: bigint[], type: number, offset: bigint): void {
  w.string(name);
  w.u32(dims.length);
  for (const d of dims) w.u64(d);
  w.u32(type);
  w.u64(offset);
}

/** Pads a raw header with `dataBytes` of tensor data after 32-byte alignment. */
function withData(header: Uint8Array, dataBytes: number): Uint8Array {
  const start = Math.ceil(header.length / 32) * 32;
  const out = new Uint8Array(start + dataBytes);
  out.set(header);
  return out;
}

const read = (bytes: Uint8Array) => readGgufHeader(bytesSource(bytes, 'test.gguf'));

describe('GGUF metadata', () => {
  it('round-trips every value type, nested arrays included', async () => {
    const file = await encodeGguf({ metadata: ALL_TYPES, tensors: [] });
    const header = await read(file);
    expect(header.version).toBe(3);
    expect([...header.metadata.keys()]).toEqual(ALL_TYPES.map(([k]) => k));
    for (const [key, value] of ALL_TYPES) expect(header.metadata.get(key), key).toEqual(value);
    expect(Object.is((header.metadata.get('a.f32')!.value as number[])[1], -0)).toBe(true);
  });

  it('round-trips large vocabularies (header growth, windowed reads)', async () => {
    const tokens = Array.from({ length: 20_000 }, (_, i) =>
      i % 3 ? `▁tok${i}` : `Ġ${'x'.repeat(i % 50)}日本🦙`,
    );
    const file = await encodeGguf({ metadata: [['tokens', gguf.array('string', tokens)]], tensors: [] });
    expect((await read(file)).metadata.get('tokens')?.value).toEqual(tokens);
  });

  it('decodes ill-formed UTF-8 as TextDecoder does', async () => {
    const samples = [
      [0xc3, 0x28],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xc0, 0xaf],
      [0x80],
      [0x41, 0xff],
    ];
    const file = raw(0n, BigInt(samples.length), (w) => {
      samples.forEach((b, i) => {
        w.string(`k${i}`);
        w.u32(GgufType.string);
        w.u64(BigInt(b.length));
        w.bytes(Uint8Array.from(b));
      });
    });
    const h = await read(file);
    samples.forEach((b, i) => {
      expect(h.metadata.get(`k${i}`)?.value).toBe(new TextDecoder().decode(Uint8Array.from(b)));
    });
  });

  it('refuses values that do not fit their type when writing', async () => {
    await expectCode(encodeGguf({ metadata: [['x', gguf.u8(256)]], tensors: [] }), 'INVALID_ARGUMENT');
    await expectCode(encodeGguf({ metadata: [['x', gguf.i32(1.5)]], tensors: [] }), 'INVALID_ARGUMENT');
    await expectCode(encodeGguf({ metadata: [['x', gguf.u64(-1n)]], tensors: [] }), 'INVALID_ARGUMENT');
    await expectCode(
      encodeGguf({ metadata: [['x', gguf.array('u16', [70000])]], tensors: [] }),
      'INVALID_ARGUMENT',
    );
  });

  it('reads version 2 files, refuses other versions and other magics', async () => {
    const v3 = await encodeGguf({ metadata: [['k', gguf.u32(1)]], tensors: [] });
    const v2 = v3.slice();
    v2[4] = 2;
    expect((await read(v2)).version).toBe(2);
    for (const v of [0, 1, 4, 0x03000000]) {
      const f = v3.slice();
      new DataView(f.buffer).setUint32(4, v, true);
      await expectCode(read(f), 'UNSUPPORTED_VERSION');
    }
    const bad = v3.slice();
    bad[0] = 0x67;
    await expectCode(read(bad), 'BAD_MAGIC');
  });
});

describe('GGUF tensors', () => {
  const data = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
  const tensors = [
    { name: 'a', type: GGMLType.F32, shape: [3], bytes: data(12, 1) },
    { name: 'b', type: GGMLType.Q8_0, shape: [32, 2], bytes: data(68, 2) },
    { name: 'c', type: GGMLType.F16, shape: [5, 1, 1], bytes: data(10, 3) },
    { name: 'd', type: GGMLType.Q4_K, shape: [256], bytes: data(144, 4) },
  ];

  for (const alignment of [undefined, 1, 8, 64, 4096]) {
    it(`aligns tensor data to ${alignment ?? 'the default 32'}`, async () => {
      const metadata: [string, GgufValue][] = [['general.name', gguf.string('t')]];
      if (alignment) metadata.push(['general.alignment', gguf.u32(alignment)]);
      const file = await encodeGguf({
        metadata,
        tensors: tensors.map((t) => ({ ...t, data: () => t.bytes })),
      });
      const h = await read(file);
      const a = alignment ?? 32;
      expect(h.alignment).toBe(a);
      expect(h.dataOffset % a).toBe(0);
      expect(h.tensors.map((t) => [t.name, t.type, t.shape, t.byteLength])).toEqual(
        tensors.map((t) => [t.name, t.type, t.shape, t.bytes.length]),
      );
      for (const [i, t] of h.tensors.entries()) {
        expect((t.offset - h.dataOffset) % a).toBe(0);
        expect(file.subarray(t.offset, t.offset + t.byteLength)).toEqual(tensors[i].bytes);
      }
    });
  }

  it('gives TRUNCATED for every truncation of a file up to its last tensor byte', async () => {
    const file = await encodeGguf({
      metadata: ALL_TYPES,
      tensors: tensors.map((t) => ({ ...t, data: () => t.bytes })),
    });
    const last = (await read(file)).tensors.at(-1)!;
    // Only the padding after the last tensor is optional.
    const end = last.offset + last.byteLength;
    expect(end).toBeLessThan(file.length);
    for (let len = 0; len < end; len++) await expectCode(read(file.subarray(0, len)), 'TRUNCATED');
    await read(file.subarray(0, end));
  });
});

describe('hostile GGUF headers', () => {
  const huge = (1n << 64n) - 1n;
  const cases: [string, Uint8Array, string][] = [
    ['tensor count 2^64-1', raw(huge, 0n, () => {}), 'LIMIT_EXCEEDED'],
    ['metadata count 2^64-1', raw(0n, huge, () => {}), 'LIMIT_EXCEEDED'],
    ['tensor count over what the file holds', raw(60000n, 0n, () => {}), 'TRUNCATED'],
    ['metadata count over what the file holds', raw(0n, 60000n, () => {}), 'TRUNCATED'],
    [
      'key length 2^63',
      withData(
        raw(0n, 1n, (w) => w.u64(1n << 63n)),
        64,
      ),
      'LIMIT_EXCEEDED',
    ],
    [
      'string value longer than the file',
      raw(0n, 1n, (w) => {
        w.string('k');
        w.u32(GgufType.string);
        w.u64(1000n);
      }),
      'TRUNCATED',
    ],
    [
      'array length 2^40',
      raw(0n, 1n, (w) => {
        w.string('k');
        w.u32(GgufType.array);
        w.u32(GgufType.u32);
        w.u64(1n << 40n);
      }),
      'LIMIT_EXCEEDED',
    ],
    [
      'array longer than the file',
      raw(0n, 1n, (w) => {
        w.string('k');
        w.u32(GgufType.array);
        w.u32(GgufType.string);
        w.u64(1_000_000n);
      }),
      'TRUNCATED',
    ],
    [
      'arrays nested 10 deep',
      raw(0n, 1n, (w) => {
        w.string('k');
        w.u32(GgufType.array);
        for (let i = 0; i < 10; i++) {
          w.u32(GgufType.array);
          w.u64(1n);
        }
        w.u32(GgufType.u8);
        w.u64(0n);
      }),
      'LIMIT_EXCEEDED',
    ],
    [
      'unknown value type',
      raw(0n, 1n, (w) => {
        w.string('k');
        w.u32(13);
        w.u64(0n);
      }),
      'CORRUPT',
    ],
    [
      'bool of 2',
      raw(0n, 1n, (w) => {
        w.string('k');
        w.u32(GgufType.bool);
        w.u8(2);
      }),
      'CORRUPT',
    ],
    [
      'repeated key',
      raw(0n, 2n, (w) => {
        for (let i = 0; i < 2; i++) {
          w.string('k');
          w.u32(GgufType.u8);
          w.u8(i);
        }
      }),
      'CORRUPT',
    ],
    [
      'alignment 48',
      withData(
        raw(0n, 1n, (w) => {
          w.string('general.alignment');
          w.u32(GgufType.u32);
          w.u32(48);
        }),
        0,
      ),
      'CORRUPT',
    ],
    [
      'alignment as a string',
      raw(0n, 1n, (w) => {
        w.string('general.alignment');
        w.u32(GgufType.string);
        w.string('32');
      }),
      'CORRUPT',
    ],
    [
      '5 dimensions',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [1n, 1n, 1n, 1n, 1n], 0, 0n)),
        4,
      ),
      'LIMIT_EXCEEDED',
    ],
    [
      'a dimension of 2^63',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [1n << 63n], 0, 0n)),
        4,
      ),
      'LIMIT_EXCEEDED',
    ],
    [
      'an element count past 2^53',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [1n << 30n, 1n << 30n], 0, 0n)),
        4,
      ),
      'LIMIT_EXCEEDED',
    ],
    [
      'tensor type 99',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [4n], 99, 0n)),
        16,
      ),
      'UNSUPPORTED_TYPE',
    ],
    [
      'Q8_0 rows of 33',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [33n], 8, 0n)),
        64,
      ),
      'CORRUPT',
    ],
    [
      'misaligned offset',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [4n], 0, 4n)),
        64,
      ),
      'CORRUPT',
    ],
    [
      'offset 2^64-32',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [4n], 0, huge - 31n)),
        64,
      ),
      'TRUNCATED',
    ],
    [
      'tensor past the end',
      withData(
        raw(1n, 0n, (w) => tensorInfo(w, 't', [32n], 0, 0n)),
        64,
      ),
      'TRUNCATED',
    ],
    [
      'overlapping tensors',
      withData(
        raw(2n, 0n, (w) => {
          tensorInfo(w, 'a', [16n], 0, 0n);
          tensorInfo(w, 'b', [16n], 0, 32n);
        }),
        128,
      ),
      'CORRUPT',
    ],
    [
      'repeated tensor name',
      withData(
        raw(2n, 0n, (w) => {
          tensorInfo(w, 'a', [4n], 0, 0n);
          tensorInfo(w, 'a', [4n], 0, 32n);
        }),
        64,
      ),
      'CORRUPT',
    ],
  ];
  for (const [what, file, code] of cases) {
    it(`${what} → ${code}`, () => expectCode(read(file), code));
  }

  it('never asks the source for more than the file or the read window', async () => {
    const file = raw(0n, 1n, (w) => {
      w.string('k');
      w.u32(GgufType.array);
      w.u32(GgufType.u64);
      w.u64(1n << 20n);
    });
    let largest = 0;
    const inner = bytesSource(file);
    const src = {
      ...inner,
      read: (o: number, n: number) => {
        largest = Math.max(largest, n);
        return inner.read(o, n);
      },
    };
    await expectCode(readGgufHeader(src), 'TRUNCATED');
    expect(largest).toBeLessThanOrEqual(file.length);
  });
});
