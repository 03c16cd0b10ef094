// Vendors' published peak memory bandwidth for some adapters, matched on the adapter's
// description: printed next to the measured figure and labelled as a datasheet value, never
// used in place of the measurement.

const DATASHEET_GBPS: [RegExp, number, string][] = [
  [/\bH200\b/i, 4800, 'NVIDIA H200 (HBM3e)'],
  [/\bH100\b.*\bPCIe\b/i, 2000, 'NVIDIA H100 PCIe'],
  [/\bH100\b/i, 3350, 'NVIDIA H100 SXM'],
  [/\bA100\b.*80/i, 2039, 'NVIDIA A100 80GB'],
  [/\bA100\b/i, 1555, 'NVIDIA A100 40GB'],
  [/\bL4\b/i, 300, 'NVIDIA L4'],
  [/RTX 4090/i, 1008, 'NVIDIA RTX 4090'],
  [/RTX 3090/i, 936, 'NVIDIA RTX 3090'],
  [/\bT4\b/i, 320, 'NVIDIA T4'],
  [/Apple M1 Max/i, 400, 'Apple M1 Max'],
  [/Apple M2 Max/i, 400, 'Apple M2 Max'],
  [/Apple M3 Max/i, 400, 'Apple M3 Max'],
];

/** The datasheet bandwidth of an adapter whose description names a known part, or undefined. */
export function datasheetBandwidth(text: string): { gbps: number; part: string } | undefined {
  for (const [re, gbps, part] of DATASHEET_GBPS) if (re.test(text)) return { gbps, part };
  return undefined;
}
