import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { build } from 'esbuild';

export const HARNESS_DIR = resolve(import.meta.dirname, '../harness');

/**
 * Bundles every `e2e/harness/*.ts` (pages and worker entries alike) in memory, resolving
 * workspace packages to their TypeScript source through the `source` export condition.
 * Returns served path → file contents.
 */
export async function buildHarness(dir = HARNESS_DIR): Promise<Map<string, Uint8Array>> {
  const entryPoints = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(dir, f));
  const result = await build({
    entryPoints,
    outdir: '/harness',
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  const files = new Map<string, Uint8Array>();
  for (const file of result.outputFiles) files.set(`/harness/${basename(file.path)}`, file.contents);
  return files;
}

/**
 * Bundles one entry as `/harness/<name>.js` (served at `/harness/<name>.html`). `nodePaths` adds
 * folders to resolve bare imports from, for packages installed outside the workspace (the
 * benchmark's on-demand peers).
 */
export async function buildEntry(
  entry: string,
  name: string,
  nodePaths: string[] = [],
): Promise<Map<string, Uint8Array>> {
  const result = await build({
    entryPoints: [entry],
    outfile: `/harness/${name}.js`,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    nodePaths,
    logLevel: 'warning',
  });
  return new Map(result.outputFiles.map((f) => [`/harness/${basename(f.path)}`, f.contents]));
}
