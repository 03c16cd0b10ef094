import { EdgeLMError, type EdgeLMErrorCode, isEdgeLMError } from '@edgelm/sdk';

/** OpenAI's error body: `{ error: { message, type, code, param } }`, which every OpenAI client parses. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

interface Mapping {
  status: number;
  type: string;
  /** OpenAI's own code where one exists, so clients that branch on it keep working. */
  code?: string;
}

const MAPPINGS: Partial<Record<EdgeLMErrorCode, Mapping>> = {
  INVALID_ARGUMENT: { status: 400, type: 'invalid_request_error' },
  CONTEXT_OVERFLOW: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' },
  LIMIT_EXCEEDED: { status: 400, type: 'invalid_request_error' },
  UNAUTHORIZED: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  POLICY_DENIED: { status: 403, type: 'permission_error' },
  NOT_FOUND: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  RATE_LIMITED: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  DISPOSED: { status: 503, type: 'server_error', code: 'shutting_down' },
  OUT_OF_MEMORY: { status: 503, type: 'server_error' },
  TIMEOUT: { status: 504, type: 'server_error' },
};

/**
 * HTTP status and OpenAI body for an error; `details.status`, `details.param` and
 * `details.openaiCode` (OpenAI's `code` where it is finer than ours, e.g. `unsupported_parameter`)
 * refine them.
 */
export function openAIError(e: unknown): { status: number; body: OpenAIErrorBody } {
  const err = asEdgeLMError(e);
  const m = MAPPINGS[err.code] ?? { status: 500, type: 'server_error' };
  const status = typeof err.details.status === 'number' ? err.details.status : m.status;
  return {
    status,
    body: {
      error: {
        message: err.message,
        type: m.type,
        code:
          typeof err.details.openaiCode === 'string'
            ? err.details.openaiCode
            : (m.code ?? err.code.toLowerCase()),
        param: typeof err.details.param === 'string' ? err.details.param : null,
      },
    },
  };
}

/** Anything thrown inside a handler; unknown throwables are internal errors, with their message kept. */
function asEdgeLMError(e: unknown): EdgeLMError {
  if (e instanceof EdgeLMError) return e;
  if (isEdgeLMError(e)) return EdgeLMError.fromJSON(e);
  return new EdgeLMError('INTERNAL', e instanceof Error ? e.message : String(e), {}, e);
}

/** An INVALID_ARGUMENT naming the offending field, answered with 400. */
export function badParam(param: string, message: string): EdgeLMError {
  return new EdgeLMError('INVALID_ARGUMENT', message, { param });
}
