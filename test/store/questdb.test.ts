import { describe, expect, it } from 'vitest';
import { QuestDbStore, execEndpoint } from '../../src/store/questdb/store.js';
import { storeContract } from './contract.js';

const conf = process.env.QDB_CLIENT_CONF;

// QuestDB cannot run on the CI machines: this suite runs wherever QDB_CLIENT_CONF
// points at a real QuestDB >= 9 (docker compose up questdb), and shows as skipped otherwise.
describe.skipIf(!conf)('QuestDB store: the contract (needs QDB_CLIENT_CONF)', () => {
  storeContract(async () => {
    const store = new QuestDbStore(conf!);
    for (const t of ['book_snapshots', 'trades', 'ingest_runs']) await store.exec(`DROP TABLE IF EXISTS ${t}`);
    await store.init();
    return store;
  });
});

describe('QuestDB configuration', () => {
  it('derives the /exec endpoint and credentials from QDB_CLIENT_CONF', () => {
    expect(execEndpoint('http::addr=localhost:9000;')).toEqual({ base: 'http://localhost:9000', headers: {} });
    expect(execEndpoint('https::addr=db.example;username=admin;password=quest;').headers.authorization)
      .toBe(`Basic ${Buffer.from('admin:quest').toString('base64')}`);
    expect(execEndpoint('https::addr=db.example;').base).toBe('https://db.example:9000');
    expect(() => execEndpoint('tcp::addr=localhost:9009;')).toThrow(/http:: or https::/);
  });
});
