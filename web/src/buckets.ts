/**
 * Bucket sizes the page asks the bbo endpoint for: whole milliseconds that
 * divide a day (what the endpoint accepts), from 1 ms to a day.
 */
const STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
  900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/** The smallest step that covers `spanNs` in at most `buckets` buckets, as the endpoint's `every` ("500ms", "2s", "5m", "1h", "1d"). */
export function everyFor(spanNs: bigint, buckets = 1000): string {
  const wanted = Number(spanNs / 1_000_000n) / buckets;
  const ms = STEPS_MS.find((s) => s >= wanted) ?? STEPS_MS[STEPS_MS.length - 1];
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
