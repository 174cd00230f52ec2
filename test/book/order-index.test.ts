import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Order, OrderIndex, orderKey } from '../../src/book/index.js';
import { propertyRuns } from '../property.js';

const order = (id: bigint) => new Order(...orderKey(id), 0, 1, 0, 0, 0);

describe('OrderIndex (open addressing, backward-shift deletion)', () => {
  it('behaves as a Map<bigint, Order> under random set/delete/get, through growth and wraparound', () => {
    // Ids differing in high or low halves only, and ids above 2^53.
    const id = fc.oneof(
      fc.bigInt({ min: 0n, max: 40n }),
      fc.bigInt({ min: 0n, max: 40n }).map((x) => x << 32n),
      fc.bigInt({ min: 0n, max: 40n }).map((x) => (1n << 63n) + x),
    );
    const op = fc.record({ kind: fc.constantFrom('set', 'set', 'delete', 'get'), id });
    fc.assert(
      fc.property(fc.array(op, { minLength: 50, maxLength: 600, size: 'max' }), (ops) => {
        const index = new OrderIndex(16);
        const model = new Map<bigint, Order>();
        for (const { kind, id } of ops) {
          const [hi, lo] = orderKey(id);
          if (kind === 'set') {
            const o = order(id);
            index.set(o);
            model.set(id, o);
          } else if (kind === 'delete') {
            index.delete(hi, lo);
            model.delete(id);
          }
          expect(index.get(hi, lo)).toBe(model.get(id));
          expect(index.size).toBe(model.size);
        }
        for (const [k, o] of model) expect(index.get(...orderKey(k))).toBe(o);
        expect(new Set(index.values())).toEqual(new Set(model.values()));
      }),
      propertyRuns(300, 5),
    );
  });

  it('a lookup of an absent id ends at every fill level, through each growth', () => {
    // An open-addressing table that fills up probes forever on a miss (this
    // test would then hang, as the engine would on a cancel of an unknown id).
    const index = new OrderIndex(16);
    for (let n = 1; n <= 3000; n++) {
      index.set(order(BigInt(n)));
      expect(index.get(0, 0)).toBeUndefined();
      expect(index.get(1, n)).toBeUndefined();
    }
    expect(index.size).toBe(3000);
  });
});
