/** "1.2 MB", "812 KB", "0 B". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  const v = n / 1024 ** i;
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** "38 ms", "1.24 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return '<1 ms';
  return ms < 1000 ? `${ms < 10 ? ms.toFixed(1) : ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Tokens per second with sensible precision. */
export function formatRate(r: number): string {
  if (!Number.isFinite(r) || r <= 0) return '–';
  return r >= 100 ? r.toFixed(0) : r.toFixed(1);
}

/** A file name from a URL or path ("stories260K.bin"). */
export function baseName(url: string): string {
  const clean = url.split(/[?#]/)[0].replace(/\/+$/, '');
  return decodeURIComponent(clean.slice(clean.lastIndexOf('/') + 1)) || url;
}
