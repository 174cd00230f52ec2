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
