// Peers too heavy for the workspace install (CI installs every dependency on every run): installed
// on demand into the gitignored bench-peers/ at the repository root, pinned, scripts off. A peer
// that cannot be installed or loaded gives its row a "skipped: <reason>" instead of failing the bench.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NativeRunOptions, NativeRunResult, runNodeLlamaCpp } from '../peers/node-llama-cpp.js';

export type { NativeRunOptions, NativeRunResult };

export const PEERS_DIR = resolve(import.meta.dirname, '../../../../bench-peers');
export const TRANSFORMERS_VERSION = '4.3.2';

function installedVersion(pkg: string): string | undefined {
  const file = join(PEERS_DIR, 'node_modules', pkg, 'package.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
}

/** Installs `pkg@version` into bench-peers/ unless it is there; the reason it is not, or undefined. */
export function ensurePeer(pkg: string, version: string): string | undefined {
  if (installedVersion(pkg) === version) return undefined;
  if (process.env.BENCH_NO_INSTALL)
    return `${pkg}@${version} is not installed in bench-peers/ (BENCH_NO_INSTALL)`;
  console.log(`installing ${pkg}@${version} into ${PEERS_DIR} …`);
  const r = spawnSync(
    'npm',
    [
      'i',
      '--prefix',
      PEERS_DIR,
      '--no-save',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      `${pkg}@${version}`,
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  if (r.status !== 0 || installedVersion(pkg) !== version) {
    const why = (r.error?.message ?? r.stderr ?? '').trim().split('\n').at(-1) ?? '';
    return `npm could not install ${pkg}@${version}: ${why || `exit ${r.status}`}`;
  }
  return undefined;
}

type RunNative = typeof runNodeLlamaCpp;

/** llama.cpp native, through the peer module when it exists (it installs node-llama-cpp itself). */
export async function runNative(o: NativeRunOptions): Promise<NativeRunResult | { skipped: string }> {
  const file = resolve(import.meta.dirname, '../peers/node-llama-cpp.ts');
  if (!existsSync(file)) return { skipped: 'peer module missing (bench/peers/node-llama-cpp.ts)' };
  const mod = (await import(pathToFileURL(file).href)) as { runNodeLlamaCpp?: RunNative };
  if (typeof mod.runNodeLlamaCpp !== 'function') return { skipped: 'peer module has no runNodeLlamaCpp' };
  return mod.runNodeLlamaCpp(o);
}
