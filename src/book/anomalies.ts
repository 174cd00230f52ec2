// src/book/: the L3 order-book engine (books, levels, the market of many books) and snapshot capture.
/**
 * What the data did that the book semantics treat as irregular. Each is
 * counted, never "repaired" silently; names are the JSON keys users see.
 */
export class Anomalies {
  /** C for an order id the book does not hold (it predates the file, usually). */
  cancel_unknown = 0;
  /** M for an unknown id: applied as an add, per the spec. */
  modify_unknown = 0;
  /** A for an id already live: the old order is replaced. */
  duplicate_add = 0;
  /** C for more than the order's remaining size: the order is removed. */
  over_cancel = 0;
  /** C or M whose side differs from the live order's; C applies to the order, M moves it. */
  side_mismatch = 0;
  /** C whose price differs from the live order's; the order's own price is used. */
  price_mismatch = 0;
  /** M to size 0: the order leaves the book. */
  modify_to_zero = 0;
  /** A with size 0 (non-TOB): ignored. */
  zero_size_add = 0;
  /** A or M whose side is neither B nor A: ignored. */
  bad_side = 0;
  /** A or M with UNDEF_PRICE (non-TOB) or a price beyond 2^53 nanos: ignored. */
  bad_price = 0;
  /** An action byte outside A C M R T F N: ignored. */
  unknown_action = 0;
  /** F_LAST events at which best bid > best ask. The book is kept as it is. */
  crossed = 0;
  /** F_LAST events at which best bid == best ask. */
  locked = 0;
  /**
   * Records whose ts_recv is earlier than the book's previous record's (a file
   * out of order, or BAD_TS_RECV). Applied in file order. Row keys start
   * with ts_recv, so a snapshot taken there can share its key with an earlier
   * one, and the store keeps one of the two.
   */
  ts_recv_backwards = 0;

  total(): number {
    let n = 0;
    for (const v of Object.values(this)) n += v as number;
    return n;
  }

  add(other: Anomalies): void {
    for (const [k, v] of Object.entries(other)) (this as unknown as Record<string, number>)[k] += v as number;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(Object.entries(this)) as Record<string, number>;
  }
}

export type AnomalyKind = keyof Omit<Anomalies, 'total' | 'add' | 'toJSON'>;
