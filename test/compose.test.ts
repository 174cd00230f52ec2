import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../src/config.js';
import { ROOT } from './helpers.js';

/**
 * No Docker engine runs here: the compose file, Prometheus's and Grafana's
 * provisioning and the dashboards are checked statically against the code,
 * so that a renamed setting, port, metric, table or column fails a test.
 */
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { redis, questdb, worker, api, prometheus, grafana } = compose.services;
const envNames = readFileSync(`${ROOT}src/config.ts`, 'utf8').match(/\b(BOOKTAPE_[A-Z_]+|QDB_CLIENT_CONF|REDIS_URL|LOG_LEVEL|PORT)\b/g)!;
/** A service's environment as the container sees it, with no .env: `${NAME:-default}` gives its default. */
const envOf = (svc: Service) =>
  Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
/** The host path of a bind mount to `container` (relative to the repo), or undefined. */
const mountOf = (svc: Service, container: string) =>
  svc.volumes?.map((v) => v.split(':')).find(([host, at]) => host.startsWith('./') && at === container)?.[0];
const yamlAt = (path: string) => parse(readFileSync(`${ROOT}${path}`, 'utf8'));
const pinned = (image: string | undefined, repo: string) => new RegExp(`^${repo}:v?\\d+\\.\\d+\\.\\d+$`).test(image ?? '');

describe('docker-compose.yml', () => {
  it('runs redis, questdb (pinned, >= 9) and a worker, each with a healthcheck or dependency on healthy services', () => {
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
    // The worker's healthcheck asks its readiness on the metrics port it is given.
    expect(worker.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${loadConfig(envOf(worker)).metricsPort}/readyz`);
  });

  it('runs the API on QuestDB, publishing the ports it listens on, healthy when /readyz says so', () => {
    expect(api.build).toBe('.');
    expect(api.command).toEqual(['node', 'dist/src/cli.js', 'serve']);
    const cfg = loadConfig(envOf(api));
    expect(cfg.store).toBe('questdb');
    expect(cfg.questdbConf).toContain('questdb:9000');
    expect(cfg.redisUrl).toBe('redis://redis:6379');
    expect(cfg.writeToken).toBeUndefined(); // no default secret: writes stay off until .env sets one
    expect(api.ports).toEqual(expect.arrayContaining([`${cfg.port}:${cfg.port}`, `${cfg.tcpPort}:${cfg.tcpPort}`]));
    expect(api.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${cfg.port}/readyz`);
    expect(api.depends_on).toEqual({ redis: { condition: 'service_healthy' }, questdb: { condition: 'service_healthy' } });
    // A token from .env reaches the API.
    expect(api.environment?.BOOKTAPE_WRITE_TOKEN).toBe('${BOOKTAPE_WRITE_TOKEN:-}');
  });

  it('booktape services set only environment names the code reads, with values the configuration accepts', () => {
    for (const [name, svc] of Object.entries({ worker, api })) {
      for (const key of Object.keys(svc.environment ?? {})) expect(envNames, `${name}: ${key}`).toContain(key);
    }
    const cfg = loadConfig(envOf(worker));
    expect(cfg.store).toBe('questdb');
    expect(cfg.redisUrl).toBe('redis://redis:6379');
    // The worker reaches QuestDB by its service name on the port compose exposes.
    expect(cfg.questdbConf).toContain('questdb:9000');
  });

  it('Prometheus (pinned) scrapes the API and every worker at the ports they serve /metrics on', () => {
    expect(pinned(prometheus.image, 'prom/prometheus')).toBe(true);
    const file = mountOf(prometheus, '/etc/prometheus/prometheus.yml')!;
    expect(existsSync(`${ROOT}${file}`)).toBe(true);
    const scrape = yamlAt(file).scrape_configs as Array<{
      job_name: string; metrics_path: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }>;
    }>;
    const job = (name: string) => scrape.find((j) => j.job_name === name)!;
    expect(job('booktape-api').metrics_path).toBe('/metrics');
    expect(job('booktape-api').static_configs![0].targets).toEqual([`api:${loadConfig(envOf(api)).port}`]);
    expect(job('booktape-worker').metrics_path).toBe('/metrics');
    expect(job('booktape-worker').dns_sd_configs![0]).toMatchObject({ names: ['worker'], port: loadConfig(envOf(worker)).metricsPort });
    expect(prometheus.healthcheck?.test.join(' ')).toContain('/-/healthy');
    expect(prometheus.ports).toContain('9090:9090');
  });

  it('Grafana (pinned) is provisioned with QuestDB (PostgreSQL wire) and Prometheus, and loads the dashboards directory', () => {
    expect(pinned(grafana.image, 'grafana/grafana')).toBe(true);
    expect(grafana.healthcheck?.test.join(' ')).toContain('/api/health');
    const provisioning = mountOf(grafana, '/etc/grafana/provisioning')!;
    const sources = yamlAt(`${provisioning}/datasources/booktape.yml`).datasources as Array<{ uid: string; type: string; url: string; jsonData?: { database?: string } }>;
    const qdb = sources.find((s) => s.uid === 'questdb')!;
    expect(qdb.type).toBe('grafana-postgresql-datasource');
    expect(qdb.url).toBe('questdb:8812');
    expect(questdb.ports).toContain('8812:8812');
    expect(qdb.jsonData?.database).toBe('qdb');
    expect(sources.find((s) => s.uid === 'prometheus')!.url).toBe('http://prometheus:9090');
    const providers = yamlAt(`${provisioning}/dashboards/booktape.yml`).providers as Array<{ options: { path: string } }>;
    const dashboards = mountOf(grafana, providers[0].options.path);
    expect(dashboards).toBe('./dashboards');
    for (const v of [...(grafana.volumes ?? []), ...(prometheus.volumes ?? [])].filter((v) => !v.startsWith('./'))) {
      expect(Object.keys(compose.volumes)).toContain(v.split(':')[0]);
    }
  });
});

describe('.env.example', () => {
  it('names every setting the configuration reads', () => {
    const example = readFileSync(`${ROOT}.env.example`, 'utf8');
    for (const name of new Set(envNames)) {
      expect(example, name).toContain(name);
    }
  });
});
