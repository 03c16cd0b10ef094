/**
 * Deterministic file contents for tests: byte `i` of file `name` (version `v`) depends only on
 * (name, v, i), so any range can be produced alone and a spec can compute what it expects.
 */
export function syntheticBytes(name: string, size: number, version = '1', start = 0, end = size): Uint8Array {
  const seed = hashString(`${name}#${version}`);
  const out = new Uint8Array(end - start);
  const firstWord = start >>> 2;
  const lastWord = (end + 3) >>> 2;
  for (let w = firstWord; w < lastWord; w++) {
    const x = mix(seed ^ Math.imul(w, 0x9e3779b1));
    for (let b = 0; b < 4; b++) {
      const i = w * 4 + b;
      if (i >= start && i < end) out[i - start] = (x >>> (8 * b)) & 0xff;
    }
  }
  return out;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** murmur3's finaliser: cheap, and every input bit reaches every output bit. */
function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
