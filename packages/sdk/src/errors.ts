/**
 * Every failure edgelm reports is an {@link EdgeLMError} with a stable `code`, so callers
 * branch on `err.code` rather than parsing messages, and the code survives the worker hop.
 */
export type EdgeLMErrorCode =
  // model files
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'UNSUPPORTED_TYPE'
  | 'TRUNCATED'
  | 'CORRUPT'
  | 'LIMIT_EXCEEDED'
  // usage
  | 'INVALID_ARGUMENT'
  | 'CONTEXT_OVERFLOW'
  | 'DISPOSED'
  | 'ABORTED'
  // fetching and storage
  | 'NOT_FOUND'
  | 'NETWORK'
  | 'INTEGRITY'
  | 'QUOTA_EXCEEDED'
  | 'STORAGE'
  // devices
  | 'NO_BACKEND'
  | 'DEVICE_LOST'
  | 'OUT_OF_MEMORY'
  | 'GPU_ERROR'
  | 'WORKER_ERROR'
  // remote fallback
  | 'POLICY_DENIED'
  | 'REMOTE_UNAVAILABLE'
  | 'REMOTE_HTTP'
  | 'REMOTE_PROTOCOL'
  | 'RATE_LIMITED'
  | 'TIMEOUT'
  | 'CIRCUIT_OPEN'
  // serving
  | 'UNAUTHORIZED'
  | 'INTERNAL';

/** Plain data attached to an error; kept JSON-shaped so it crosses workers and HTTP intact. */
export type EdgeLMErrorDetails = Record<string, string | number | boolean | null | undefined>;

/**
 * The one error class of edgelm.
 *
 * @example
 * ```ts
 * try { await openModel(source); }
 * catch (e) { if (isEdgeLMError(e) && e.code === 'TRUNCATED') showRetry(); }
 * ```
 */
export class EdgeLMError extends Error {
  override readonly name = 'EdgeLMError';
  readonly code: EdgeLMErrorCode;
  readonly details: EdgeLMErrorDetails;

  constructor(code: EdgeLMErrorCode, message: string, details: EdgeLMErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.details = details;
  }

  /** A structured-clone-safe form, used by the worker transfer handler and the HTTP error body. */
  toJSON(): { name: 'EdgeLMError'; code: EdgeLMErrorCode; message: string; details: EdgeLMErrorDetails } {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(json: {
    code: EdgeLMErrorCode;
    message: string;
    details?: EdgeLMErrorDetails;
  }): EdgeLMError {
    return new EdgeLMError(json.code, json.message, json.details ?? {});
  }
}

export function isEdgeLMError(e: unknown): e is EdgeLMError {
  return (
    e instanceof EdgeLMError ||
    (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'EdgeLMError')
  );
}

/** Throws INVALID_ARGUMENT-style errors for broken invariants in untrusted input. */
export function check(
  cond: unknown,
  code: EdgeLMErrorCode,
  message: string,
  details?: EdgeLMErrorDetails,
): asserts cond {
  if (!cond) throw new EdgeLMError(code, message, details);
}

/** Wraps an unknown throwable as an EdgeLMError, keeping EdgeLMErrors and AbortErrors recognisable. */
export function toEdgeLMError(e: unknown, fallback: EdgeLMErrorCode = 'INTERNAL'): EdgeLMError {
  if (e instanceof EdgeLMError) return e;
  if (isEdgeLMError(e)) return EdgeLMError.fromJSON(e as EdgeLMError);
  if (e instanceof Error && e.name === 'AbortError')
    return new EdgeLMError('ABORTED', 'The request was aborted', {}, e);
  const message = e instanceof Error ? e.message : String(e);
  return new EdgeLMError(fallback, message, {}, e);
}
