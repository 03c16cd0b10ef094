/** OpenAI's error fields (`{ error: { message, type, code, param } }`), or a bare string error. */
export function openAIErrorFields(error: unknown): {
  message: string | undefined;
  type: string | undefined;
  code: string | undefined;
  param: string | undefined;
} {
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
  if (typeof error === 'string')
    return { message: error, type: undefined, code: undefined, param: undefined };
  const e = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  return { message: str(e.message), type: str(e.type), code: str(e.code), param: str(e.param) };
}
