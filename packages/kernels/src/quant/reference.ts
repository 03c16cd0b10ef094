import { f16ToF32 } from './f16.js';
import { IQ4_VALUES, WEIGHT_TYPES, type WeightType } from './types.js';

/**
 * CPU dequantization of GGUF bytes, ported from ggml's `dequantize_row_*` (ggml-quants.c), in
 * float32 arithmetic as ggml does it. The kernels' tests judge every GPU read against this,
 * so it is written from the block definitions, not from the GPU layout.
 */
const fr = Math.fround;
const i8 = (b: number) => (b << 24) >> 24;
const bits = new Uint32Array(1);
const bitsF = new Float32Array(bits.buffer);

export function dequantGguf(type: WeightType, src: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const info = WEIGHT_TYPES[type];
  const h = (o: number) => f16ToF32(src[o]! | (src[o + 1]! << 8));
  const nb = count / info.blockElems;
  const BB = info.blockBytes;
  if (type === 'f32') {
    const v = new DataView(src.buffer, src.byteOffset, count * 4);
    for (let i = 0; i < count; i++) out[i] = v.getFloat32(i * 4, true);
    return out;
  }
  if (type === 'f16' || type === 'bf16') {
    for (let i = 0; i < count; i++) {
      const u = src[2 * i]! | (src[2 * i + 1]! << 8);
      if (type === 'f16') out[i] = f16ToF32(u);
      else {
        bits[0] = u << 16;
        out[i] = bitsF[0]!;
      }
    }
    return out;
  }
  for (let b = 0; b < nb; b++) {
    const o = b * BB;
    const y = out.subarray(b * info.blockElems, (b + 1) * info.blockElems);
    switch (type) {
      case 'q8_0': {
        const d = h(o);
        for (let j = 0; j < 32; j++) y[j] = fr(i8(src[o + 2 + j]!) * d);
        break;
      }
      case 'q4_0':
      case 'iq4_nl': {
        const d = h(o);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 2 + j]!;
          if (type === 'q4_0') {
            y[j] = fr(((q & 15) - 8) * d);
            y[j + 16] = fr(((q >> 4) - 8) * d);
          } else {
            y[j] = fr(d * IQ4_VALUES[q & 15]!);
            y[j + 16] = fr(d * IQ4_VALUES[q >> 4]!);
          }
        }
        break;
      }
      case 'q4_1': {
        const d = h(o);
        const m = h(o + 2);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 4 + j]!;
          y[j] = fr(fr((q & 15) * d) + m);
          y[j + 16] = fr(fr((q >> 4) * d) + m);
        }
        break;
      }
      case 'q5_0':
      case 'q5_1': {
        const d = h(o);
        const m = type === 'q5_1' ? h(o + 2) : 0;
        const at = type === 'q5_1' ? o + 4 : o + 2;
        const qh = (src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24)) >>> 0;
        for (let j = 0; j < 16; j++) {
          const q = src[at + 4 + j]!;
          const x0 = (q & 15) | (((qh >>> j) << 4) & 0x10);
          const x1 = (q >> 4) | ((qh >>> (j + 12)) & 0x10);
          if (type === 'q5_0') {
            y[j] = fr((x0 - 16) * d);
            y[j + 16] = fr((x1 - 16) * d);
          } else {
            y[j] = fr(fr(x0 * d) + m);
            y[j + 16] = fr(fr(x1 * d) + m);
          }
        }
        break;
      }
      case 'q2_k': {
        const d = h(o + 80);
        const min = h(o + 82);
        let yi = 0;
        let is = 0;
        for (let n = 0; n < 2; n++) {
          const q = o + 16 + 32 * n;
          for (let j = 0; j < 4; j++) {
            const shift = 2 * j;
            for (let half = 0; half < 2; half++) {
              const sc = src[o + is++]!;
              const dl = fr(d * (sc & 15));
              const ml = fr(min * (sc >> 4));
              for (let l = 0; l < 16; l++)
                y[yi++] = fr(fr(dl * ((src[q + 16 * half + l]! >> shift) & 3)) - ml);
            }
          }
        }
        break;
      }
      case 'q3_k': {
        const d = h(o + 108);
        const sc = q3kScales(src, o + 96);
        let yi = 0;
        let is = 0;
        for (let n = 0; n < 2; n++) {
          const q = o + 32 + 32 * n;
          for (let j = 0; j < 4; j++) {
            const m = 1 << (4 * n + j);
            for (let half = 0; half < 2; half++) {
              const dl = fr(d * (sc[is++]! - 32));
              for (let l = 0; l < 16; l++) {
                const k = 16 * half + l;
                const v = ((src[q + k]! >> (2 * j)) & 3) - (src[o + k]! & m ? 0 : 4);
                y[yi++] = fr(dl * v);
              }
            }
          }
        }
        break;
      }
      case 'q4_k':
      case 'q5_k': {
        const d = h(o);
        const min = h(o + 2);
        const qs = type === 'q4_k' ? o + 16 : o + 48;
        for (let j = 0; j < 4; j++) {
          for (let half = 0; half < 2; half++) {
            const [s, m] = scaleMinK4(src, o + 4, 2 * j + half);
            const dl = fr(d * s);
            const ml = fr(min * m);
            for (let l = 0; l < 32; l++) {
              const byte = src[qs + 32 * j + l]!;
              let q = half ? byte >> 4 : byte & 15;
              if (type === 'q5_k' && src[o + 16 + l]! & (1 << (2 * j + half))) q += 16;
              y[64 * j + 32 * half + l] = fr(fr(dl * q) - ml);
            }
          }
        }
        break;
      }
      case 'q6_k': {
        const d = h(o + 208);
        for (let n = 0; n < 2; n++) {
          const ql = o + 64 * n;
          const qh = o + 128 + 32 * n;
          const sc = o + 192 + 8 * n;
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const hb = src[qh + l]!;
            const q1 = ((src[ql + l]! & 15) | ((hb & 3) << 4)) - 32;
            const q2 = ((src[ql + l + 32]! & 15) | (((hb >> 2) & 3) << 4)) - 32;
            const q3 = ((src[ql + l]! >> 4) | (((hb >> 4) & 3) << 4)) - 32;
            const q4 = ((src[ql + l + 32]! >> 4) | (((hb >> 6) & 3) << 4)) - 32;
            const yo = 128 * n + l;
            y[yo] = fr(fr(d * i8(src[sc + is]!)) * q1);
            y[yo + 32] = fr(fr(d * i8(src[sc + is + 2]!)) * q2);
            y[yo + 64] = fr(fr(d * i8(src[sc + is + 4]!)) * q3);
            y[yo + 96] = fr(fr(d * i8(src[sc + is + 6]!)) * q4);
          }
        }
        break;
      }
      case 'iq4_xs': {
        const d = h(o);
        const sh = src[o + 2]! | (src[o + 3]! << 8);
        for (let ib = 0; ib < 8; ib++) {
          const ls = ((src[o + 4 + (ib >> 1)]! >> (4 * (ib & 1))) & 15) | (((sh >> (2 * ib)) & 3) << 4);
          const dl = fr(d * (ls - 32));
          for (let j = 0; j < 16; j++) {
            const q = src[o + 8 + 16 * ib + j]!;
            y[32 * ib + j] = fr(dl * IQ4_VALUES[q & 15]!);
            y[32 * ib + j + 16] = fr(dl * IQ4_VALUES[q >> 4]!);
          }
        }
        break;
      }
    }
  }
  return out;
}

/** get_scale_min_k4: 6-bit scale and min of sub-block j of Q4_K/Q5_K's 12 packed bytes at `at`. */
function scaleMinK4(s: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [s[at + j]! & 63, s[at + j + 4]! & 63];
  return [
    (s[at + j + 4]! & 15) | ((s[at + j - 4]! >> 6) << 4),
    (s[at + j + 4]! >> 4) | ((s[at + j]! >> 6) << 4),
  ];
}

/** Q3_K's 16 6-bit scales (unsigned, 0..63) from its 12 packed bytes at `at`. */
function q3kScales(s: Uint8Array, at: number): number[] {
  const w = (i: number) =>
    (s[at + 4 * i]! | (s[at + 4 * i + 1]! << 8) | (s[at + 4 * i + 2]! << 16) | (s[at + 4 * i + 3]! << 24)) >>>
    0;
  const a0 = w(0);
  const a1 = w(1);
  const tmp = w(2);
  const k1 = 0x03030303;
  const k2 = 0x0f0f0f0f;
  const aux = [
    ((a0 & k2) | (((tmp >>> 0) & k1) << 4)) >>> 0,
    ((a1 & k2) | (((tmp >>> 2) & k1) << 4)) >>> 0,
    (((a0 >>> 4) & k2) | (((tmp >>> 4) & k1) << 4)) >>> 0,
    (((a1 >>> 4) & k2) | (((tmp >>> 6) & k1) << 4)) >>> 0,
  ];
  return Array.from({ length: 16 }, (_, i) => (aux[i >> 2]! >>> (8 * (i & 3))) & 0xff);
}
