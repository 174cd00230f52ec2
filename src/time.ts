/**
 * Instants are u64 nanoseconds since the Unix epoch. Users may give them as
 * an integer of nanoseconds or as ISO-8601 with up to nine fractional digits
 * ("2025-09-24T21:00:00.123456789Z"); a zone is required so nothing depends on
 * the machine's time zone.
 */
const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

export function parseInstant(text: string): bigint | null {
  const t = text.trim();
  if (/^\d{1,20}$/.test(t)) {
    const n = BigInt(t);
    return n <= 0xffffffffffffffffn ? n : null;
  }
  const m = ISO.exec(t);
  if (m === null) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
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
