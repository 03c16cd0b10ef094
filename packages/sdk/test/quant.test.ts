import { describe, expect, it } from 'vitest';
import { EdgeLMError } from '../src/errors.js';
import { GGMLType } from '../src/formats/ggml-types.js';
import { dequantize, f16ToF32, f32ToF16, quantize } from '../src/formats/quant/index.js';
import { seededFloats } from './helpers/tiny-gguf.js';

const f16 = (x: number) => f16ToF32(f32ToF16(x));

/** Largest |x − y| over a block. */
function maxErr(x: Float32Array, y: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EdgeLMError);
  expect((err as EdgeLMError).code).toBe(code);
}

describe('F16', () => {
  it('encodes known values, rounding to nearest even', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65519.99, 0x7bff],
      [65520, 0x7c00], // halfway to the next binade rounds up, to infinity
      [1e9, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // a tie, to even (zero)
      [3 * 2 ** -25, 0x0002], // a tie, to even (two)
      [1 + 2 ** -11, 0x3c00], // a tie, to even
      [1 + 3 * 2 ** -11, 0x3c02],
      [Math.fround(0.1), 0x2e66],
    ];
    for (const [x, h] of cases) expect(f32ToF16(x), String(x)).toBe(h);
    expect(Number.isNaN(f16ToF32(f32ToF16(Number.NaN)))).toBe(true);
  });

  it('decodes every half and re-encodes it to the same bits', () => {
    for (let h = 0; h < 65536; h++) {
      const x = f16ToF32(h);
      if (Number.isNaN(x)) expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
      else expect(f32ToF16(x)).toBe(h);
    }
  });

  it('keeps relative error within 2^-11 over the normal range', () => {
    const x = seededFloats(4096, 7, 1000);
    const y = dequantize(GGMLType.F16, quantize(GGMLType.F16, x), x.length);
    for (let i = 0; i < x.length; i++) {
      if (Math.abs(x[i]) >= 2 ** -14)
        expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -11);
    }
  });
});

describe('Q8_0', () => {
  it('stores d = amax/127 and q = round(x/d), halves away from zero', () => {
    // amax = 127/8, so d = 1/8 exactly; x = q/8 must come back bit for bit.
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = (j === 0 ? 127 : j * 8 - 130) / 8;
    const b = quantize(GGMLType.Q8_0, x);
    expect(b.length).toBe(34);
    expect(b[0] | (b[1] << 8)).toBe(f32ToF16(1 / 8));
    for (let j = 0; j < 32; j++) expect((b[2 + j] << 24) >> 24).toBe(x[j] * 8);
    expect(dequantize(GGMLType.Q8_0, b, 32)).toEqual(x);
    // x/d = ±2.5: C's roundf gives ±3 where Math.round would give −2.
    const t = new Float32Array(32);
    t[0] = 127;
    t[1] = 2.5;
    t[2] = -2.5;
    const q = quantize(GGMLType.Q8_0, t);
    expect([q[3], (q[4] << 24) >> 24]).toEqual([3, -3]);
  });

  it('reconstructs within d/2 plus the f16 rounding of d', () => {
    const x = seededFloats(32 * 256, 11, 3);
    const y = dequantize(GGMLType.Q8_0, quantize(GGMLType.Q8_0, x), x.length);
    for (let b = 0; b < x.length / 32; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
      const d = amax / 127;
      expect(maxErr(x, y, b * 32, b * 32 + 32)).toBeLessThanOrEqual(
        d / 2 + 127 * Math.abs(f16(d) - d) + 1e-7,
      );
    }
  });

  it('encodes an all-zero block as zeros', () => {
    const b = quantize(GGMLType.Q8_0, new Float32Array(32));
    expect([...b].every((v) => v === 0)).toBe(true);
  });
});

describe('Q4_0', () => {
  it('stores d = max/−8, q = min(15, trunc(x/d + 8.5)), quant j and j+16 in one byte', () => {
    // max = 8 (largest magnitude, positive) → d = −1, so q = trunc(8.5 − x) and x = 8 − q.
    const x = new Float32Array(32);
    for (let j = 0; j < 32; j++) x[j] = j === 5 ? 8 : (j % 15) - 7;
    const b = quantize(GGMLType.Q4_0, x);
    expect(b.length).toBe(18);
    expect(f16ToF32(b[0] | (b[1] << 8))).toBe(-1);
    for (let j = 0; j < 16; j++) {
      expect(b[2 + j] & 0x0f).toBe(Math.min(15, Math.trunc(8.5 - x[j])));
      expect(b[2 + j] >> 4).toBe(Math.min(15, Math.trunc(8.5 - x[j + 16])));
    }
    // (8 − 8)·d is −0 where x is 0: compare values, not bits.
    expect(Array.from(dequantize(GGMLType.Q4_0, b, 32), (v) => v + 0)).toEqual(Array.from(x));
  });

  it('clamps the side opposite the max to 7|d|', () => {
    const x = new Float32Array(32);
    x[0] = -8;
    x[1] = 8; // q would be 16: clamped to 15, i.e. 7
    const y = dequantize(GGMLType.Q4_0, quantize(GGMLType.Q4_0, x), 32);
    expect([y[0], y[1]]).toEqual([-8, 7]);
  });

  it('reconstructs within |d| (|d|/2 off the clamped side) plus f16 rounding', () => {
    const x = seededFloats(32 * 256, 13, 2);
    const y = dequantize(GGMLType.Q4_0, quantize(GGMLType.Q4_0, x), x.length);
    for (let b = 0; b < x.length / 32; b++) {
      let max = 0;
      for (let j = 0; j < 32; j++) if (Math.abs(x[b * 32 + j]) > Math.abs(max)) max = x[b * 32 + j];
      const d = Math.abs(max / 8);
      const slack = 8 * Math.abs(f16(d) - d) + 1e-7;
      for (let j = 0; j < 32; j++) {
        const i = b * 32 + j;
        const bound = Math.sign(x[i]) === -Math.sign(max) && Math.abs(x[i]) > 7 * d ? d : d / 2;
        expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(bound + slack);
      }
    }
  });
});

/** Packs 8 (scale, min) pairs of 6 bits as get_scale_min_k4 unpacks them. */
function packScalesQ4K(sc: number[], m: number[]): Uint8Array {
  const s = new Uint8Array(12);
  for (let j = 0; j < 4; j++) {
    s[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    s[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
    s[j + 8] = (sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4);
  }
  return s;
}

describe('Q4_K dequantization', () => {
  const sc = [1, 63, 17, 0, 32, 37, 48, 5];
  const m = [0, 1, 63, 20, 33, 50, 15, 62];
  // Sub-block s (32 values) reads nibbles of bytes 32⌊s/2⌋..+31, low nibble for even s.
  const q = Array.from({ length: 256 }, (_, i) => (i * 7 + (i >> 5)) & 15);
  const block = new Uint8Array(144);
  block.set([f32ToF16(0.25) & 0xff, f32ToF16(0.25) >> 8, f32ToF16(0.5) & 0xff, f32ToF16(0.5) >> 8]);
  block.set(packScalesQ4K(sc, m), 4);
  for (let i = 0; i < 256; i++) {
    const s = i >> 5;
    const byte = 16 + 32 * (s >> 1) + (i & 31);
    block[byte] |= s & 1 ? q[i] << 4 : q[i];
  }

  it('matches d·scale·q − dmin·min for every value of a hand-built block', () => {
    const y = dequantize(GGMLType.Q4_K, block, 256);
    for (let i = 0; i < 256; i++) {
      const s = i >> 5;
      expect(y[i], `value ${i}`).toBe(0.25 * sc[s] * q[i] - 0.5 * m[s]);
    }
    // Sub-block 5: scale 37 and min 50 both need their top bits; q[163] = (163·7 + 5) & 15 = 10.
    expect(y[163]).toBe(67.5);
  });

  it('dequantizes consecutive blocks independently', () => {
    const two = new Uint8Array(288);
    two.set(block, 144);
    const y = dequantize(GGMLType.Q4_K, two, 512);
    expect([...y.subarray(0, 256)].every((v) => v === 0)).toBe(true);
    expect(y.subarray(256)).toEqual(dequantize(GGMLType.Q4_K, block, 256));
  });
});

describe('Q6_K dequantization', () => {
  const scales = [1, -1, 2, -3, 127, -128, 5, 9, 0, 3, -7, 11, 64, -64, 1, 2];
  const q = Array.from({ length: 256 }, (_, i) => (i * 13 + 5) & 63);
  const block = new Uint8Array(210);
  // Value i: half h = ⌊i/128⌋, r = i mod 128, k = ⌊r/32⌋, l = r mod 32; low bits in
  // ql[64h + l + 32(k mod 2)] (high nibble when k ≥ 2), high bits at 2k of qh[32h + l].
  for (let i = 0; i < 256; i++) {
    const h = i >> 7;
    const k = (i & 127) >> 5;
    const l = i & 31;
    block[64 * h + l + 32 * (k & 1)] |= (q[i] & 15) << (k >= 2 ? 4 : 0);
    block[128 + 32 * h + l] |= (q[i] >> 4) << (2 * k);
  }
  scales.forEach((s, j) => {
    block[192 + j] = s & 0xff;
  });
  block[208] = f32ToF16(0.5) & 0xff;
  block[209] = f32ToF16(0.5) >> 8;

  it('matches d·scale·(q − 32) with one scale per 16 values', () => {
    const y = dequantize(GGMLType.Q6_K, block, 256);
    for (let i = 0; i < 256; i++) expect(y[i], `value ${i}`).toBe(0.5 * scales[i >> 4] * (q[i] - 32));
    // Value 100: q = (100·13 + 5) & 63 = 25, scale 6 is 5 → 0.5·5·(25 − 32).
    expect(y[100]).toBe(-17.5);
    // Value 90: q = 23, scale 5 is −128 → 0.5·(−128)·(23 − 32).
    expect(y[90]).toBe(576);
  });
});

describe('dispatch', () => {
  it('refuses short data and partial blocks', () => {
    expectCode(() => dequantize(GGMLType.Q8_0, new Uint8Array(33), 32), 'TRUNCATED');
    expectCode(() => dequantize(GGMLType.Q4_K, new Uint8Array(144), 128), 'INVALID_ARGUMENT');
    expectCode(() => quantize(GGMLType.Q4_0, new Float32Array(31)), 'INVALID_ARGUMENT');
  });

  it('reads F32 from any byte offset', () => {
    const x = seededFloats(8, 3);
    const buf = new Uint8Array(40);
    buf.set(new Uint8Array(x.buffer), 3);
    expect(dequantize(GGMLType.F32, buf.subarray(3), 8)).toEqual(x);
  });

  it('prints the error of each type on Gaussian-like weights', () => {
    const x = seededFloats(256 * 64, 17, 0.05);
    for (const t of [GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0]) {
      const y = dequantize(t, quantize(t, x), x.length);
      let se = 0;
      let ss = 0;
      for (let i = 0; i < x.length; i++) {
        se += (x[i] - y[i]) ** 2;
        ss += x[i] ** 2;
      }
      const rel = Math.sqrt(se / ss);
      console.log(`type ${t}: relative RMS error ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(t === GGMLType.Q4_0 ? 0.15 : t === GGMLType.Q8_0 ? 0.01 : 0.001);
    }
  });
});
