import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuestDbStore } from '../../src/store/questdb/store.js';
import { NO_QDB, qdbConf } from '../questdb.js';

/**
 * Each query the store sends, as QuestDB plans it: a lookup reads backwards
 * from its instant on the designated timestamp, a range page forwards from
 * its start; neither filters and sorts the whole table (a book lookup cost
 * 35-91 ms on 772k rows that way).
 */
describe.skipIf(!qdbConf)(`QuestDB query plans${NO_QDB}`, () => {
  let store: QuestDbStore;
  beforeAll(async () => {
    store = new QuestDbStore(qdbConf!);
    await store.init();
  });
  afterAll(async () => store.close());
  const plan = async (sql: string) => (await store.exec(`EXPLAIN ${sql}`)).dataset.map((r) => String(r[0])).join('\n');
  const at = 1758742200001385399n;

  it('the book at an instant: an interval scanned backwards from it, no sort', async () => {
    for (const p of [await plan(QuestDbStore.lookupSql('CLX5', at, undefined, 8)), await plan(QuestDbStore.lookupSql('CLX5', at, 1, 8))]) {
      expect(p).toMatch(/Interval backward scan/);
      expect(p).not.toMatch(/Sort/);
    }
    const latest = await plan(QuestDbStore.lookupSql('CLX5', undefined, undefined, 8));
    expect(latest).toMatch(/backward scan/);
    expect(latest).not.toMatch(/Sort/);
  });

  it('the rows at one instant: an interval of one ns', async () => {
    const p = await plan(QuestDbStore.instantSql('CLX5', at, undefined));
    expect(p).toMatch(/Interval forward scan/);
    expect(p).toMatch(/2025-09-24T19:30:00\.001385399Z/);
  });

  it('a range page: an interval scanned forwards from its start, no sort', async () => {
    const bounded = await plan(QuestDbStore.pageSql({ symbols: ['CLX5'], to: at + 10n ** 12n }, { ts: at, inclusive: false }, 2000));
    expect(bounded).toMatch(/Interval forward scan/);
    expect(bounded).not.toMatch(/Sort/);
    const open = await plan(QuestDbStore.pageSql({ symbols: [] }, null, 2000));
    expect(open).toMatch(/forward scan/);
    expect(open).not.toMatch(/Sort/);
  });
});
