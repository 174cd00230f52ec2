import { timingSafeEqual } from 'node:crypto';

/**
 * Whether a presented token is the configured one, compared in constant
 * time (for tokens of the configured length): the one check behind the HTTP
 * routes' tokens and the TCP replay's.
 */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
