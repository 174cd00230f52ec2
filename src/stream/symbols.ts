import type { SnapshotStore } from '../store/port.js';

export const UNKNOWN_SYMBOL = 'UNKNOWN_SYMBOL';

/** The symbols of `wanted` the store holds no snapshot of, in the order asked; empty when all are known. */
export async function unknownSymbols(store: SnapshotStore, wanted: string[]): Promise<string[]> {
  if (wanted.length === 0) return [];
  const known = new Set((await store.listInstruments()).map((i) => i.symbol));
  return wanted.filter((s) => !known.has(s));
}

/** What a client that named unknown symbols is told. */
export function unknownSymbolsDetail(unknown: string[]): string {
  return `no instrument named ${unknown.join(', ')}; see GET /v1/instruments`;
}
