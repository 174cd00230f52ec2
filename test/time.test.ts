import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInstant, parseDuration, parseInstant } from '../src/time.js';
import { propertyRuns } from './property.js';

const U64_MAX = 0xffffffffffffffffn;

describe('parseInstant', () => {
  it('reads back every u64 instant exactly, as ISO-8601 (UTC or any offset) and as integer ns', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: U64_MAX }), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), (ns, offsetMinutes) => {
      expect(parseInstant(formatInstant(ns))).toBe(ns);
      expect(parseInstant(ns.toString())).toBe(ns);
      // The same instant written in another zone: the wall clock moves by the offset.
      const wall = ns + BigInt(offsetMinutes) * 60_000_000_000n;
      if (wall < 0n || wall > U64_MAX) return;
      const a = Math.abs(offsetMinutes);
      const zone = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
      expect(parseInstant(formatInstant(wall).replace('Z', zone))).toBe(ns);
    }), propertyRuns(2000, 1));
  });

  it('fractions of 1 to 9 digits, and the edges of u64', () => {
    expect(parseInstant('2025-09-24T20:00:00.5Z')).toBe(1_758_744_000_500_000_000n);
    expect(parseInstant('2025-09-24T20:00:00.000000001Z')).toBe(1_758_744_000_000_000_001n);
    expect(parseInstant('1970-01-01T00:00:00Z')).toBe(0n);
    expect(parseInstant('2554-07-21T23:34:33.709551615Z')).toBe(U64_MAX);
    expect(parseInstant('18446744073709551615')).toBe(U64_MAX);
  });

  it('refuses what is not an instant in u64 ns, rather than moving or wrapping it', () => {
    for (const text of [
      '2025-02-30T00:00:00Z', // no such day: not March 2
      '2025-02-29T00:00:00Z',
      '2025-04-31T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-09-24T24:00:00Z',
      '2025-09-24T20:60:00Z',
      '2025-09-24T20:00:60Z',
      '2025-09-24T20:00:00+24:00',
      '2025-09-24T20:00:00+01:60',
      '2025-09-24T20:00:00', // no zone
      '2025-09-24T20:00:00.1234567891Z',
      '1969-12-31T23:59:59.999999999Z', // before the epoch
      '0099-01-01T00:00:00Z', // Date.UTC would read year 99 as 1999
      '2554-07-21T23:34:33.709551616Z', // past u64
      '18446744073709551616',
      '-1',
      '',
    ]) expect(parseInstant(text), text).toBeNull();
    expect(parseInstant('2024-02-29T00:00:00Z')).toBe(1_709_164_800_000_000_000n); // a leap day
  });
});

describe('parseDuration', () => {
  it('units from ns to minutes; zero, negatives and other units are refused', () => {
    expect(['500ns', '250us', '100ms', '1.5s', '5m'].map(parseDuration)).toEqual([500, 250_000, 100_000_000, 1_500_000_000, 300_000_000_000]);
    for (const text of ['0ms', '-1s', '1h', 'ms', '10x', '']) expect(parseDuration(text), text).toBeNull();
  });
});
