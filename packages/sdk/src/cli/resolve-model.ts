import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EdgeLMError } from '../errors.js';
import { ProgressBar } from './progress.js';

export const STORIES260K_URL =
  'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/stories260K.bin';
export const TOK512_URL = 'https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K/tok512.bin';

function cacheDir(): string {
  return (
    process.env.EDGELM_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'edgelm')
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Downloads a URL once into the cache directory (with a progress bar) and returns the local path. */
async function download(url: string): Promise<string> {
  const dir = cacheDir();
  const name = url.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_');
  const path = join(dir, name);
  if (await exists(path)) return path;
  await mkdir(dir, { recursive: true });
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new EdgeLMError('NETWORK', `Cannot download ${url}: ${(e as Error).message}`, { url }, e);
  }
  if (!res.ok || !res.body)
    throw new EdgeLMError('NETWORK', `${url} answered ${res.status}`, { url, status: res.status });
  const total = Number(res.headers.get('content-length') ?? 0);
  const bar = new ProgressBar(`download ${url.split('/').pop()}`, total);
  let done = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    done += c.length;
    bar.update(done);
  });
  const partial = `${path}.partial`;
  await pipeline(body, createWriteStream(partial));
  bar.done();
  await rename(partial, path);
  return path;
}

/** A model argument is a path or an http(s) URL; URLs are downloaded once. */
export async function resolveModelPath(arg: string): Promise<string> {
  if (/^https?:\/\//.test(arg)) return download(arg);
  if (!(await exists(arg))) throw new EdgeLMError('NOT_FOUND', `No such model file: ${arg}`, { path: arg });
  return arg;
}

/** The default model: stories260K from EDGELM_MODELS_DIR when set, else from its Hub URL. */
export async function defaultModel(): Promise<{ model: string; tokenizer: string }> {
  const dir = process.env.EDGELM_MODELS_DIR;
  if (dir && (await exists(join(dir, 'stories260K.bin')))) {
    return { model: join(dir, 'stories260K.bin'), tokenizer: join(dir, 'tok512.bin') };
  }
  return { model: await download(STORIES260K_URL), tokenizer: await download(TOK512_URL) };
}

/** The tokenizer beside a llama2.c checkpoint: `--tokenizer`, else tok512.bin / tokenizer.bin next to it. */
export async function siblingTokenizer(modelPath: string): Promise<string | undefined> {
  const dir = modelPath.replace(/[^/\\]*$/, '');
  for (const name of ['tok512.bin', 'tokenizer.bin']) {
    if (await exists(join(dir, name))) return join(dir, name);
  }
  return undefined;
}
