import { EdgeLMError } from '../../errors.js';
import { type GgufValue, integerOf } from './values.js';

function corrupt(key: string, wanted: string, v: GgufValue): EdgeLMError {
  const found = v.type === 'array' ? `array of ${v.itemType}` : v.type;
  return new EdgeLMError('CORRUPT', `Metadata "${key}" should be ${wanted}, found ${found}`, { key, found });
}

/**
 * Typed lookups into GGUF metadata: a key that is absent where required, or present with the
 * wrong type or an out-of-range value, is CORRUPT, so the model code reads plain numbers.
 */
export class GgufMetadata {
  constructor(private readonly kv: Map<string, GgufValue>) {}

  has(key: string): boolean {
    return this.kv.has(key);
  }

  private get(key: string): GgufValue {
    const v = this.kv.get(key);
    if (v === undefined) throw new EdgeLMError('CORRUPT', `Metadata "${key}" is missing`, { key });
    return v;
  }

  /** An integer in [min, max]. */
  int(key: string, min: number, max: number, fallback?: number): number {
    if (fallback !== undefined && !this.kv.has(key)) return fallback;
    const n = integerOf(this.get(key), key);
    if (n < min || n > max) {
      throw new EdgeLMError('CORRUPT', `Metadata "${key}" is ${n}, outside [${min}, ${max}]`, {
        key,
        value: n,
      });
    }
    return n;
  }

  /** A finite positive float (f32, f64 or integer typed). */
  positive(key: string, fallback: number): number {
    const v = this.kv.get(key);
    if (v === undefined) return fallback;
    const n = v.type === 'f32' || v.type === 'f64' ? v.value : integerOf(v, key);
    if (!(Number.isFinite(n) && n > 0)) {
      throw new EdgeLMError('CORRUPT', `Metadata "${key}" is ${n}, not a positive number`, { key });
    }
    return n;
  }

  string(key: string): string {
    const v = this.get(key);
    if (v.type !== 'string') throw corrupt(key, 'a string', v);
    return v.value;
  }

  optionalString(key: string): string | undefined {
    return this.kv.has(key) ? this.string(key) : undefined;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.kv.get(key);
    if (v === undefined) return fallback;
    if (v.type !== 'bool') throw corrupt(key, 'a bool', v);
    return v.value;
  }

  stringArray(key: string): string[] {
    const v = this.get(key);
    if (v.type !== 'array' || v.itemType !== 'string') throw corrupt(key, 'an array of strings', v);
    return v.value as string[];
  }

  /** A numeric array of `length` items (any numeric item type), as float32. */
  floatArray(key: string, length: number): Float32Array {
    const v = this.get(key);
    if (v.type !== 'array' || v.itemType === 'array' || v.itemType === 'string' || v.itemType === 'bool') {
      throw corrupt(key, 'a numeric array', v);
    }
    if (v.value.length !== length) {
      throw new EdgeLMError('CORRUPT', `Metadata "${key}" has ${v.value.length} items, expected ${length}`, {
        key,
      });
    }
    return Float32Array.from(v.value as (number | bigint)[], Number);
  }

  /** An integer array of `length` items, as int32. */
  intArray(key: string, length: number): Int32Array {
    const v = this.get(key);
    const ints = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32'];
    if (v.type !== 'array' || !ints.includes(v.itemType))
      throw corrupt(key, 'an array of 32-bit integers', v);
    if (v.value.length !== length) {
      throw new EdgeLMError('CORRUPT', `Metadata "${key}" has ${v.value.length} items, expected ${length}`, {
        key,
      });
    }
    return Int32Array.from(v.value as number[]);
  }
}
