/**
 * Prices travel as integers in 1e-9 units. Users see them as exact decimal
 * strings with nine places, as Databento's `pretty_px` does ("65.400000000").
 */
export function formatPrice(nanos: number | bigint): string {
  if (typeof nanos === 'number' && Number.isSafeInteger(nanos)) {
    // Fast path (replay frames): exact, since |nanos| < 2^53.
    const abs = Math.abs(nanos);
    const whole = Math.floor(abs / 1e9);
    const frac = abs - whole * 1e9;
    return `${nanos < 0 ? '-' : ''}${whole}.${String(frac).padStart(9, '0')}`;
  }
  const n = BigInt(nanos);
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const whole = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** Parses "65.4", "65.400000000" or "-0.5" back to integer nanos, exactly. */
export function parsePrice(text: string): bigint {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (m === null) throw new Error(`not a price: "${text}"`);
  const nanos = BigInt(m[2]) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0'));
  return m[1] ? -nanos : nanos;
}
