import type { FallbackPolicy } from '../../remote/policy.js';
import { decideRoute } from '../../remote/policy.js';

/**
 * The weight bytes this device is assumed to hold when the app does not say: the RAM the browser
 * reports (`navigator.deviceMemory`, GiB, capped at 8 by Chromium). Unknown elsewhere (Node,
 * Firefox, Safari): then no model counts as too large before loading is tried.
 */
export function defaultModelBudget(): number | undefined {
  const gib = (globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined)?.deviceMemory;
  return typeof gib === 'number' && gib > 0 ? gib * 2 ** 30 : undefined;
}

/**
 * Before anything is uploaded: does the policy send this model to the server because it is
 * larger than the device's budget (`fallback.when.modelTooLarge`)? The reason, or undefined when
 * it loads here.
 */
export function modelTooLargeRoute(
  fallback: FallbackPolicy | undefined,
  modelBytes: number,
  memoryBytes: number | undefined,
): string | undefined {
  if (memoryBytes === undefined) return undefined;
  const d = decideRoute({
    fallback,
    promptTokens: 0,
    maxTokens: 0,
    local: { backendAvailable: true, modelBytes, memoryBytes },
  });
  return d.target === 'remote' ? d.reason : undefined;
}

/**
 * After building a backend failed: may every request go to the server instead? A device that
 * ran out of memory is `when.modelTooLarge`; no usable backend at all is `when.noBackend`.
 */
export function noLocalBackendRoute(
  fallback: FallbackPolicy | undefined,
  code: 'OUT_OF_MEMORY' | 'NO_BACKEND' | 'GPU_ERROR' | 'DEVICE_LOST',
  message: string,
): string | undefined {
  if (fallback === undefined || fallback.privacy !== 'allow-remote') return undefined;
  const condition = code === 'OUT_OF_MEMORY' ? 'modelTooLarge' : 'noBackend';
  if (fallback.when?.[condition] === false) return undefined;
  return condition === 'modelTooLarge'
    ? `the model does not fit this device (${code}: ${message})`
    : `no local backend (${code}: ${message})`;
}
