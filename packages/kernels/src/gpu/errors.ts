/** Codes a kernel can fail with; a subset of the SDK's `EdgeLMErrorCode`, spelled the same. */
export type KernelErrorCode = 'INVALID_ARGUMENT' | 'UNSUPPORTED_TYPE' | 'GPU_ERROR' | 'OUT_OF_MEMORY';

/**
 * The kernels package cannot depend on the SDK, so it throws this look-alike: its `name` is
 * 'EdgeLMError' and its `code` is one of the SDK's codes, so the SDK's `isEdgeLMError` and
 * `toEdgeLMError` recognise it unchanged.
 */
export class KernelError extends Error {
  override readonly name = 'EdgeLMError';
  readonly code: KernelErrorCode;
  readonly details: Record<string, string | number | boolean>;

  constructor(
    code: KernelErrorCode,
    message: string,
    details: Record<string, string | number | boolean> = {},
  ) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export function require(
  cond: unknown,
  message: string,
  details?: Record<string, string | number | boolean>,
): asserts cond {
  if (!cond) throw new KernelError('INVALID_ARGUMENT', message, details);
}
