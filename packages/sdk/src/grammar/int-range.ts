import { EdgeLMError } from '../errors.js';

/** Most digits a generated integer may have (beyond 15 the value is no longer exact in a double). */
const MAX_DIGITS = 15;

/**
 * A GBNF expression matching the decimal integers in [lo, hi] (either side open when undefined),
 * without leading zeros: the classic split of a range into digit-class runs.
 *
 * @example
 * ```ts
 * integerRange(5, 120); // "[5-9] | [1-9] [0-9] | "1" [0-1] [0-9] | "120""
 * ```
 */
export function integerRange(lo: number | undefined, hi: number | undefined): string {
  const cap = 10 ** MAX_DIGITS - 1;
  const l = lo ?? -cap;
  const h = hi ?? cap;
  if (l > h) throw new EdgeLMError('INVALID_ARGUMENT', `JSON Schema: no integer lies in [${lo}, ${hi}]`);
  const alts: string[] = [];
  if (l < 0) {
    const negHi = -l;
    const negLo = h < 0 ? -h : 1;
    alts.push(`"-" (${natural(negLo, negHi).join(' | ')})`);
  }
  if (h >= 0) alts.push(...natural(Math.max(0, l), h));
  return alts.join(' | ');
}

/** Alternatives for the naturals in [lo, hi]. */
function natural(lo: number, hi: number): string[] {
  const out: string[] = [];
  let l = lo;
  while (l <= hi) {
    const digits = String(l).length;
    const top = Math.min(hi, 10 ** digits - 1);
    out.push(...sameLength(String(l), String(top)));
    l = top + 1;
  }
  return out;
}

/** Alternatives for the digit strings of one length between `a` and `b` inclusive. */
function sameLength(a: string, b: string): string[] {
  if (a.length === 1) return [a === b ? `"${a}"` : `[${a}-${b}]`];
  const rest = a.length - 1;
  if (a[0] === b[0]) return sameLength(a.slice(1), b.slice(1)).map((x) => `"${a[0]}" ${x}`);
  const zeros = '0'.repeat(rest);
  const nines = '9'.repeat(rest);
  const out: string[] = [];
  let first = Number(a[0]);
  let last = Number(b[0]);
  if (a.slice(1) !== zeros) {
    out.push(...sameLength(a.slice(1), nines).map((x) => `"${a[0]}" ${x}`));
    first++;
  }
  const highTail = b.slice(1) !== nines;
  if (highTail) last--;
  if (first <= last) out.push(`${first === last ? `"${first}"` : `[${first}-${last}]`} [0-9]{${rest}}`);
  if (highTail) out.push(...sameLength(zeros, b.slice(1)).map((x) => `"${b[0]}" ${x}`));
  return out;
}
