import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/api/metrics.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { ROOT } from '../helpers.js';

/**
 * The Grafana dashboards under dashboards/, checked against the code: no
 * Grafana or QuestDB runs here, so a renamed metric, table or column must
 * fail a test instead of an empty panel.
 */
interface Target { datasource: { uid: string }; rawSql?: string; expr?: string }
interface Panel { id: number; title: string; datasource: { uid: string }; targets: Target[] }
interface Dashboard { uid: string; panels: Panel[]; templating: { list: Array<{ query: string; datasource: { uid: string } }> } }

const DIR = `${ROOT}dashboards/`;
const dashboards = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((file) => ({
  file,
  json: JSON.parse(readFileSync(DIR + file, 'utf8')) as Dashboard,
}));

/**
 * Every table and its columns, from the CREATE TABLE statements the QuestDB
 * store runs: each module under src/store/questdb/ is loaded and every
 * exported string (or array of strings) holding one is read, so the check
 * follows the schema wherever in that folder it is defined.
 */
async function questDbSchema(): Promise<Map<string, Set<string>>> {
  const dir = `${ROOT}src/store/questdb/`;
  const statements: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const mod = (await import(dir + file)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      for (const s of Array.isArray(value) ? value : [value]) {
        if (typeof s === 'string' && /CREATE TABLE/i.test(s)) statements.push(s);
      }
    }
  }
  const tables = new Map<string, Set<string>>();
  for (const sql of new Set(statements)) {
    const m = /CREATE TABLE(?: IF NOT EXISTS)? (\w+) \(([\s\S]*?)\)\s*TIMESTAMP\(/i.exec(sql);
    if (m === null) throw new Error(`unreadable DDL: ${sql}`);
    tables.set(m[1], new Set(m[2].split(',').map((c) => c.trim().split(/\s+/)[0])));
  }
  return tables;
}

/** SQL words that are neither columns nor tables: functions the dashboards call. */
const FUNCTIONS = new Set(['last', 'first', 'min', 'max', 'avg', 'sum', 'count', 'cast']);

describe('Grafana dashboards', () => {
  it('there are book and pipeline dashboards with distinct uids', () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual(['booktape-books', 'booktape-pipeline']);
  });

  it('panel titles and ids are unique within each dashboard, and each panel plots one kind of thing', () => {
    for (const { file, json } of dashboards) {
      const titles = json.panels.map((p) => p.title);
      expect(titles.filter((t, i) => titles.indexOf(t) !== i), file).toEqual([]);
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
    }
    // The job-duration quantile has its own panel (and unit), not a second
    // series on the job-outcome counts.
    const pipeline = dashboards.find((d) => d.json.uid === 'booktape-pipeline')!.json.panels;
    const outcomes = pipeline.filter((p) => p.targets.some((t) => t.expr?.includes('booktape_ingest_jobs_total')));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].targets.every((t) => t.expr?.includes('booktape_ingest_jobs_total'))).toBe(true);
    const durations = pipeline.filter((p) => p.targets.some((t) => t.expr?.includes('booktape_ingest_job_duration_seconds')));
    expect(durations.map((p) => p.title)).toEqual([expect.stringMatching(/duration/i)]);
  });

  it('every query uses a provisioned data source', () => {
    for (const { file, json } of dashboards) {
      for (const p of json.panels) {
        for (const t of p.targets) {
          expect([p.datasource.uid, t.datasource.uid], `${file}: ${p.title}`).toEqual([t.datasource.uid, t.rawSql ? 'questdb' : 'prometheus']);
        }
      }
    }
  });

  it('Prometheus queries name only metrics that /metrics exposes', async () => {
    const metrics = createMetrics(null, new DuckDbStore(':memory:')); // the embedded store adds its book cache's metrics
    const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    names.add('booktape_queue_jobs'); // registered when a queue is given
    const exposed = (name: string) => names.has(name) || names.has(name.replace(/_(bucket|sum|count)$/, ''));
    let seen = 0;
    for (const { json } of dashboards) {
      for (const t of json.panels.flatMap((p) => p.targets)) {
        for (const name of t.expr?.match(/\bbooktape_\w+/g) ?? []) {
          expect(exposed(name), name).toBe(true);
          seen++;
        }
      }
    }
    expect(seen).toBeGreaterThanOrEqual(6);
  });

  it('SQL queries read tables and columns that the QuestDB store creates', async () => {
    const tables = await questDbSchema();
    expect([...tables.keys()]).toEqual(expect.arrayContaining(['book_snapshots', 'trades', 'ingest_runs']));
    const queries = dashboards.flatMap(({ json }) => [
      ...json.panels.flatMap((p) => p.targets.map((t) => t.rawSql)),
      ...json.templating.list.map((v) => v.query),
    ]).filter((q): q is string => q !== undefined);
    expect(queries.length).toBeGreaterThanOrEqual(9);
    for (const sql of queries) {
      const table = /\bFROM (\w+)/.exec(sql)![1];
      expect(tables.has(table), `${table} in: ${sql}`).toBe(true);
      const aliases = new Set([...sql.matchAll(/\bAS (\w+)/g)].map((m) => m[1]));
      // Grafana's macros and variables and string literals out, then every
      // lower-case word (SQL keywords are upper case here) must be a column
      // of the table, an alias or a function.
      const words = sql.replace(/\$\{?__\w+\}?(\([^)]*\))?|\$\w+|'[^']*'/g, ' ').match(/\b[a-z][a-z_0-9]*\b/g) ?? [];
      for (const w of words.filter((w) => !FUNCTIONS.has(w) && w !== table)) {
        expect(tables.get(table)!.has(w) || aliases.has(w), `${w} in: ${sql}`).toBe(true);
      }
    }
  });
});
