import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.js';
import { ROOT } from './helpers.js';

/** No Docker engine runs here: the compose file is checked statically against the code. */
const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as {
  services: Record<string, { image?: string; build?: unknown; command?: string[]; ports?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }> }>;
};
const envNames = readFileSync(`${ROOT}src/config.ts`, 'utf8').match(/\b(BOOKTAPE_[A-Z_]+|QDB_CLIENT_CONF|REDIS_URL|LOG_LEVEL|PORT)\b/g)!;

describe('docker-compose.yml', () => {
  it('runs redis, questdb (pinned, >= 9) and a worker, each with a healthcheck or dependency on healthy services', () => {
    const { redis, questdb, worker } = compose.services;
    expect(redis.image).toMatch(/^redis:\d/);
    const qdbVersion = /^questdb\/questdb:(\d+)\.(\d+)\.(\d+)$/.exec(questdb.image ?? '');
    expect(qdbVersion).not.toBeNull();
    expect(Number(qdbVersion![1])).toBeGreaterThanOrEqual(9);
    expect(redis.healthcheck?.test.join(' ')).toContain('ping');
    expect(questdb.healthcheck?.test.join(' ')).toContain('/exec');
    expect(questdb.ports).toContain('9000:9000');
    expect(worker.build).toBe('.');
    expect(worker.command).toEqual(['node', 'dist/src/cli.js', 'worker']);
    expect(worker.depends_on).toEqual({ redis: { condition: 'service_healthy' }, questdb: { condition: 'service_healthy' } });
  });

  it('sets only environment names the code reads, with values the configuration accepts', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const key of Object.keys(svc.environment ?? {})) expect(envNames, `${name}: ${key}`).toContain(key);
    }
    const cfg = loadConfig(compose.services.worker.environment!);
    expect(cfg.store).toBe('questdb');
    expect(cfg.redisUrl).toBe('redis://redis:6379');
    // The worker reaches QuestDB by its service name on the port compose exposes.
    expect(cfg.questdbConf).toContain('questdb:9000');
  });

  it('.env.example names every setting the configuration reads', () => {
    const example = readFileSync(`${ROOT}.env.example`, 'utf8');
    for (const name of new Set(envNames)) {
      expect(example, name).toContain(name);
    }
  });
});
