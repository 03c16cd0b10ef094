import { type BrowserContext, chromium, type LaunchOptions } from '@playwright/test';

/**
 * The system Chromium (Playwright's own browsers cannot be downloaded here). Override with
 * EDGELM_CHROMIUM or PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH.
 */
export function chromiumExecutable(): string {
  return (
    process.env.EDGELM_CHROMIUM ?? process.env.PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH ?? '/usr/bin/chromium'
  );
}

/** WebGPU on SwiftShader (CPU Vulkan), and none of the background traffic that skews request counts. */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchOptions(): LaunchOptions {
  return { executablePath: chromiumExecutable(), args: CHROMIUM_ARGS, headless: true };
}

/**
 * A browser with its own on-disk profile in `userDataDir`: IndexedDB, Cache Storage and quota
 * behave as for a real user, and nothing leaks from one test (or benchmark) to the next.
 */
export function launchProfile(userDataDir: string, baseURL?: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { ...launchOptions(), baseURL });
}
