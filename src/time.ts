/**
 * Instants are u64 nanoseconds since the Unix epoch. Users may give them as
 * an integer of nanoseconds or as ISO-8601 with up to nine fractional digits
 * ("2025-09-24T21:00:00.123456789Z"); a zone is required so nothing depends on
 * the machine's time zone. A date that does not exist (February 30) is not
 * moved to one that does, and an instant outside u64 ns (before 1970, after
 * 2554-07-21) is refused rather than wrapped or sent to a store as negative.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const U64_MAX = 0xffffffffffffffffn;

export function parseInstant(text: string): bigint | null {
  const t = text.trim();
  if (/^\d{1,20}$/.test(t)) {
    const n = BigInt(t);
    return n <= U64_MAX ? n : null;
  }
  const m = ISO.exec(t);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const [sign, zoneHours, zoneMinutes] = [m[9], Number(m[10] ?? 0), Number(m[11] ?? 0)];
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  if (zoneHours > 23 || zoneMinutes > 59) return null;
  const offsetMs = (sign === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes) * 60_000;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMs;
  const ns = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
  return ns >= 0n && ns <= U64_MAX ? ns : null;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate(); // day 0 of the next month
}

/** ns -> ISO-8601 with nine fractional digits, UTC. */
export function formatInstant(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  return `${base}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** "100ms", "1s", "250us", "5m", "500ns" -> ns. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m)$/.exec(text.trim());
  if (m === null) return null;
  const unit = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9 }[m[2] as 'ns' | 'us' | 'ms' | 's' | 'm'];
  const ns = Math.round(Number(m[1]) * unit);
  return ns > 0 ? ns : null;
}
