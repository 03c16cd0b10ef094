// Builds the consumer apps of the consumer spec: both packages packed as they would be published,
// installed from their tarballs into a fresh app outside the workspace, bundled by Vite and by
// webpack. Run alone with `node --import tsx e2e/consumer/prepare.ts` (prints the app folder).
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { defaultModelsDir } from '../server/test-server.js';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TEMPLATE = join(import.meta.dirname, 'app');

/** Versions the app pins: the ones the workspace already has, so the install comes from the store. */
const APP_DEV_DEPENDENCIES = { vite: '8.3.8', typescript: '5.9.3', webpack: '5.113.0' };

export interface ConsumerApp {
  dir: string;
  /** Seconds each step took, for the log. */
  steps: Record<string, number>;
}

async function step<T>(steps: Record<string, number>, name: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    steps[name] = Math.round((performance.now() - t) / 100) / 10;
  }
}

async function sh(cmd: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await exec(cmd, args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, CI: '1' },
    });
    return stdout;
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd}:\n${x.stdout ?? ''}\n${x.stderr ?? x.message}`,
    );
  }
}

/** Packs, installs, typechecks and bundles; resolves to the app folder (a fresh temp dir). */
export async function prepareConsumerApp(): Promise<ConsumerApp> {
  const steps: Record<string, number> = {};
  // While working on the spec itself: reuse an app this script prepared before.
  const reuse = process.env.EDGELM_CONSUMER_APP;
  if (reuse) return { dir: reuse, steps };
  const dir = await mkdtemp(join(tmpdir(), 'edgelm-consumer-'));
  const tarballs = join(dir, 'tarballs');
  const app = join(dir, 'app');
  await step(steps, 'pack', async () => {
    // `pnpm pack` runs each package's prepack (its build) and applies publishConfig. The SDK's
    // build reads the kernels' TypeScript source, not their build, so both run at once.
    await Promise.all(
      ['kernels', 'sdk'].map((pkg) =>
        sh('pnpm', ['pack', '--pack-destination', tarballs], join(ROOT, 'packages', pkg)),
      ),
    );
  });
  const files = await readdir(tarballs);
  const tarball = (name: string) => `file:../tarballs/${files.find((f) => f.startsWith(name))}`;
  await cp(TEMPLATE, app, { recursive: true });
  const sdk = tarball('edgelm-sdk-');
  const kernels = tarball('edgelm-kernels-');
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'edgelm-consumer-app',
        private: true,
        type: 'module',
        dependencies: { '@edgelm/sdk': sdk },
        devDependencies: APP_DEV_DEPENDENCIES,
      },
      null,
      2,
    ),
  );
  // @edgelm/kernels is not on the registry yet: the SDK's dependency on it comes from its tarball.
  await writeFile(
    join(app, 'pnpm-workspace.yaml'),
    // protobufjs' install script only checks versions; esbuild's fetches its binary (Vite needs none).
    `packages: []\noverrides:\n  '@edgelm/kernels': '${kernels}'\nallowBuilds:\n  protobufjs: false\n  esbuild: false\n`,
  );
  await step(steps, 'install', () => sh('pnpm', ['install', '--prefer-offline'], app));
  await step(steps, 'models', async () => {
    const models = join(app, 'public/models');
    await mkdir(models, { recursive: true });
    const from = defaultModelsDir();
    for (const f of ['stories260K.bin', 'tok512.bin']) await cp(join(from, f), join(models, f));
    await sh(
      'node',
      [
        '--conditions=source',
        '--import',
        'tsx',
        'packages/sdk/src/cli/main.ts',
        'export-onnx',
        join(from, 'stories260K.bin'),
        '--tokenizer',
        join(from, 'tok512.bin'),
        '-o',
        join(models, 'onnx'),
        '--weights',
        'f32',
      ],
      ROOT,
    );
  });
  const bin = (p: string) => join(app, 'node_modules', p);
  // Independent of each other: typechecking and the three bundles run side by side.
  await Promise.all([
    step(steps, 'typecheck', () => sh('node', [bin('typescript/bin/tsc'), '-p', 'tsconfig.json'], app)),
    step(steps, 'vite build', () =>
      sh('node', [bin('vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app),
    ),
    step(steps, 'webpack', async () => {
      const html =
        '<!doctype html><title>edgelm consumer app</title><pre id="output"></pre><script src="/main.js"></script>';
      for (const [mode, out] of [
        ['production', 'dist-webpack'],
        ['development', 'dist-webpack-dev'],
      ] as const) {
        await sh('node', [join(import.meta.dirname, 'webpack-build.mjs'), mode, out], app);
        await writeFile(join(app, out, 'index.html'), html);
      }
    }),
  ]);
  return { dir: app, steps };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { dir, steps } = await prepareConsumerApp();
  console.log(dir, steps);
}
