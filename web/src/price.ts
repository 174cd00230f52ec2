/**
 * Prices as the API writes them ("65.400000000": exact decimals, nine
 * places), in integer arithmetic: a spread or mid shown on the page is exact.
 */
const SCALE = 1_000_000_000n;

/** "65.400000000" -> 65400000000n (units of 1e-9). */
export function nanosOf(price: string): bigint {
  const negative = price.startsWith('-');
  const [whole, fraction = ''] = (negative ? price.slice(1) : price).split('.');
  const n = BigInt(whole) * SCALE + BigInt(fraction.padEnd(9, '0').slice(0, 9));
  return negative ? -n : n;
}

/** An integer in units of 10^-places as a decimal, trailing zeros dropped to two places. */
function decimal(value: bigint, places: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(places + 1, '0');
  const fraction = digits.slice(-places).replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -places)}.${fraction}`;
}

/** "65.400000000" -> "65.40". */
export const shortPrice = (price: string): string => decimal(nanosOf(price), 9);

/** ask - bid, exact. */
export const spreadOf = (bid: string, ask: string): string => decimal(nanosOf(ask) - nanosOf(bid), 9);

/** (bid + ask) / 2, exact (to a tenth of a nano). */
export const midOf = (bid: string, ask: string): string => decimal((nanosOf(bid) + nanosOf(ask)) * 5n, 10);
