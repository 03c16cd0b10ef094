import { createHash, timingSafeEqual } from 'node:crypto';
import { EdgeLMError } from '@edgelm/sdk';

/**
 * Checks `Authorization: Bearer <key>` in constant time. Both sides are hashed first so that
 * timingSafeEqual sees equal lengths and the comparison leaks neither the key nor its length.
 */
export function bearerChecker(apiKey: string | undefined): (authorization: string | undefined) => void {
  if (!apiKey) return () => {};
  const expected = createHash('sha256').update(apiKey).digest();
  return (authorization) => {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    const given = createHash('sha256')
      .update(m?.[1]?.trim() ?? '')
      .digest();
    if (!m || !timingSafeEqual(given, expected))
      throw new EdgeLMError(
        'UNAUTHORIZED',
        'Missing or invalid API key: send "Authorization: Bearer <EDGELM_API_KEY>"',
      );
  };
}
