import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { ROOT } from '../helpers.js';

/**
 * No Docker engine or cluster runs here: docker-compose.yml and the
 * Kubernetes manifests are checked against the code and against what each
 * image is documented to contain, so that a renamed setting, a port, a
 * missing tool in an image or a secret with a default fails a test.
 */

/**
 * The programs each healthcheck or probe runs, and where the image is known
 * to have them. A check whose program is not listed here fails the test.
 */
const IMAGE_TOOLS: Record<string, { tools: string[]; source: string }> = {
  redis: {
    tools: ['redis-cli', 'redis-server', 'sh'],
    source: 'docker-library/redis, 7.4/alpine/Dockerfile: builds redis and installs redis-server and redis-cli into /usr/local/bin; alpine base (busybox sh)',
  },
  'questdb/questdb': {
    tools: ['bash'],
    source: 'questdb/questdb core/Dockerfile (fedora-minimal base) runs /docker-entrypoint.sh, a `#!/usr/bin/env bash` script; no curl or wget (questdb/questdb#2873)',
  },
  booktape: { tools: ['node', 'sleep'], source: 'this repository\'s Dockerfile: FROM node:<version>-bookworm-slim (node; coreutils)' },
  'prom/prometheus': { tools: ['wget'], source: 'prometheus/prometheus Dockerfile: FROM quay.io/prometheus/busybox (busybox wget)' },
  'grafana/grafana': { tools: ['wget'], source: 'grafana/grafana Dockerfile: alpine base (busybox wget)' },
};
const repoOf = (image: string) => (image.startsWith('booktape') || image.includes('/booktape') ? 'booktape' : image.split(':')[0]);
const toolsOf = (image: string) => IMAGE_TOOLS[repoOf(image)]?.tools ?? [];

/** Every name src/config.ts reads (its schema's keys, as written there). */
const CONFIG_NAMES = new Set(
  readFileSync(`${ROOT}src/config.ts`, 'utf8').match(/^\s+(BOOKTAPE_[A-Z_]+|QDB_CLIENT_CONF|REDIS_URL|LOG_LEVEL|PORT):/gm)!.map((m) => m.trim().slice(0, -1)),
);
const SECRET = /PASSWORD|TOKEN|SECRET|REDIS_URL|QDB_CLIENT_CONF/;

interface Service {
  image?: string;
  build?: unknown;
  pull_policy?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}
const composeText = readFileSync(`${ROOT}docker-compose.yml`, 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const { redis, questdb, worker, api, prometheus, grafana } = compose.services;

/** What compose substitutes with these .env values (`${X:?msg}` needs one, `${X:-d}` defaults to d). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(?::([?-])([^}]*))?\}/g, (_, name: string, op: string | undefined, rest: string) => {
    if (env[name] !== undefined && env[name] !== '') return env[name];
    if (op === '?') throw new Error(`compose would stop: ${name}: ${rest}`);
    return op === '-' ? rest : '';
  });
}
const DOTENV = { REDIS_PASSWORD: 'r'.repeat(32), QUESTDB_PASSWORD: 'q'.repeat(32), GRAFANA_ADMIN_PASSWORD: 'g'.repeat(32) };
const envOf = (svc: Service, dotenv: Record<string, string> = DOTENV) =>
  Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), dotenv)]));
/** [host ip, host port, container port] of a `ports` entry. */
const portOf = (p: string): [string, number, number] => {
  const parts = p.split(':');
  return parts.length === 3 ? [parts[0], Number(parts[1]), Number(parts[2])] : ['0.0.0.0', Number(parts[0]), Number(parts[1])];
};
const mountOf = (svc: Service, container: string) =>
  svc.volumes?.map((v) => v.split(':')).find(([host, at]) => host.startsWith('./') && at === container)?.[0];
const checkProgram = (test: string[]) => (test[0] === 'CMD' ? test[1] : test[0] === 'CMD-SHELL' ? test[1].split(/\s+/)[0] : test[0]);

describe('docker-compose.yml', () => {
  it('every healthcheck runs a program its image has (the table above says where that is documented)', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const image = svc.image ?? 'booktape';
      expect(IMAGE_TOOLS[repoOf(image)], `${name}: ${image} has no entry in IMAGE_TOOLS`).toBeDefined();
      expect(svc.healthcheck, `${name} has a healthcheck`).toBeDefined();
      expect(svc.healthcheck!.test[0], `${name}: exec form, no shell assumed`).toBe('CMD');
      expect(toolsOf(image), `${name}: ${svc.healthcheck!.test.join(' ')}`).toContain(checkProgram(svc.healthcheck!.test));
    }
  });

  it('one booktape image, built once by worker and run by api too', () => {
    expect(worker.build).toBe('.');
    expect(worker.image).toMatch(/^booktape:/);
    expect(api.build).toBeUndefined();
    expect(api.image).toBe(worker.image);
    expect(api.pull_policy).toBe('never');
    expect(Object.values(compose.services).filter((s) => s.build !== undefined)).toHaveLength(1);
    expect(worker.command).toEqual(['node', 'dist/src/cli.js', 'worker']);
    expect(api.command).toEqual(['node', 'dist/src/cli.js', 'serve']);
  });

  it('booktape services set only names src/config.ts reads, with values it accepts', () => {
    for (const [name, svc] of Object.entries({ worker, api })) {
      for (const key of Object.keys(svc.environment ?? {})) expect(CONFIG_NAMES.has(key), `${name}: ${key}`).toBe(true);
      const cfg = loadConfig(envOf(svc));
      expect(cfg.store).toBe('questdb');
      expect(cfg.questdbConf).toContain('addr=questdb:9000;');
      expect(cfg.questdbConf).toContain(`password=${DOTENV.QUESTDB_PASSWORD};`);
      expect(new URL(cfg.redisUrl)).toMatchObject({ hostname: 'redis', port: '6379', password: DOTENV.REDIS_PASSWORD });
    }
  });

  it('no secret has a default: compose stops without it, or an empty value leaves the feature off', () => {
    const refs = [...composeText.matchAll(/\$\{([A-Z_]+)(:[?-][^}]*)?\}/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [ref, name, op] of refs.filter(([, n]) => SECRET.test(n))) {
      expect(op === undefined || op.startsWith(':?') || op === ':-', ref).toBe(true);
    }
    // Without .env, `up` stops and names what is missing.
    expect(() => envOf(worker, {})).toThrow(/REDIS_PASSWORD/);
    expect(() => envOf(grafana, { ...DOTENV, GRAFANA_ADMIN_PASSWORD: '' })).toThrow(/GRAFANA_ADMIN_PASSWORD/);
    // The tokens are optional and empty means unset: writes stay off.
    const cfg = loadConfig(envOf(api));
    expect([cfg.writeToken, cfg.readToken]).toEqual([undefined, undefined]);
    expect(loadConfig(envOf(api, { ...DOTENV, BOOKTAPE_WRITE_TOKEN: 'w'.repeat(32) })).writeToken).toBe('w'.repeat(32));
    // No literal password in the data-source provisioning either.
    const sources = parse(readFileSync(`${ROOT}${mountOf(grafana, '/etc/grafana/provisioning')}/datasources/booktape.yml`, 'utf8')) as {
      datasources: Array<{ uid: string; secureJsonData?: { password?: string } }>;
    };
    expect(sources.datasources.find((s) => s.uid === 'questdb')!.secureJsonData!.password).toBe('$QUESTDB_PASSWORD');
    expect(Object.keys(grafana.environment!)).toContain('QUESTDB_PASSWORD');
  });

  it('publishes the API on its port, and everything else only on the host loopback; Redis not at all', () => {
    const cfg = loadConfig(envOf(api));
    const published = Object.fromEntries(Object.entries(compose.services).map(([n, s]) => [n, (s.ports ?? []).map(portOf)]));
    expect(published.redis).toEqual([]);
    expect(published.api).toEqual(expect.arrayContaining([['0.0.0.0', cfg.port, cfg.port], ['127.0.0.1', cfg.tcpPort, cfg.tcpPort]]));
    for (const [name, ports] of Object.entries(published)) {
      for (const [ip, host, container] of ports) {
        if (name === 'api' && container === cfg.port) continue;
        expect(ip, `${name}: ${host}:${container}`).toBe('127.0.0.1');
      }
    }
    expect(api.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${cfg.port}/readyz`);
    expect(worker.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${loadConfig(envOf(worker)).metricsPort}/readyz`);
  });

  it('volumes: named ones are declared, bind mounts exist in the repository, the inbox is ./inbox', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const [host] = v.split(':');
        if (host.startsWith('./')) expect(existsSync(`${ROOT}${host}`), `${name}: ${v}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: ${v}`).toContain(host);
      }
    }
    const cfg = loadConfig(envOf(worker));
    expect(mountOf(worker, cfg.inbox)).toBe('./inbox');
    expect(cfg.dataRoots).toEqual(expect.arrayContaining([cfg.inbox, '/data']));
    expect(mountOf(worker, '/data')).toBe('./data');
  });

  it('the API sees the workers\' data roots, from the same host directories, so it checks a source\'s file before queueing it', () => {
    const cfg = loadConfig(envOf(api));
    expect(cfg.dataRoots).toEqual(loadConfig(envOf(worker)).dataRoots);
    expect(cfg.sourceCheck).toBe('file');
    for (const root of cfg.dataRoots) {
      expect(mountOf(api, root), root).toBeDefined();
      expect(mountOf(api, root), root).toBe(mountOf(worker, root));
    }
  });

  it('startup order waits on healthy Redis and QuestDB; the worker gets time to finish its jobs', () => {
    for (const svc of [worker, api]) {
      expect(svc.depends_on).toMatchObject({ redis: { condition: 'service_healthy' }, questdb: { condition: 'service_healthy' } });
    }
    expect(worker.stop_grace_period).toMatch(/^\d+m$/);
  });

  it('the API reads rows over QuestDB\'s PostgreSQL wire as the user QDB_CLIENT_CONF names: the PostgreSQL user and password are the HTTP ones', () => {
    const conf = String(api.environment?.QDB_CLIENT_CONF ?? '');
    const env = questdb.environment as Record<string, string>;
    expect(conf).toContain('addr=questdb:9000;');
    expect(conf).toContain(`username=${env.QDB_PG_USER};`);
    expect(conf).toContain(`password=${env.QDB_PG_PASSWORD};`);
    expect([env.QDB_PG_USER, env.QDB_PG_PASSWORD]).toEqual([env.QDB_HTTP_USER, env.QDB_HTTP_PASSWORD]);
    // No BOOKTAPE_QDB_PG_ADDR: the default, QuestDB's host on 8812, is where the service listens on the stack's network.
    expect(api.environment?.BOOKTAPE_QDB_PG_ADDR).toBeUndefined();
  });

  it('QuestDB is pinned to the version docs/operations.md states, at least the store\'s minimum', () => {
    const version = /^questdb\/questdb:(\d+)\.(\d+)\.(\d+)$/.exec(questdb.image ?? '');
    expect(version).not.toBeNull();
    expect(Number(version![1]) * 100 + Number(version![2])).toBeGreaterThanOrEqual(901);
    expect(readFileSync(`${ROOT}docs/operations.md`, 'utf8')).toContain(questdb.image!);
    for (const svc of [redis, prometheus, grafana]) expect(svc.image).toMatch(/:v?\d+\.\d+\.\d+(-\w+)?$/);
  });

  it('Prometheus scrapes the API and every worker at the ports they serve /metrics on', () => {
    const file = mountOf(prometheus, '/etc/prometheus/prometheus.yml')!;
    const scrape = (parse(readFileSync(`${ROOT}${file}`, 'utf8')) as { scrape_configs: Array<{
      job_name: string; metrics_path: string; static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }>;
    }> }).scrape_configs;
    const job = (name: string) => scrape.find((j) => j.job_name === name)!;
    expect(job('booktape-api').metrics_path).toBe('/metrics');
    expect(job('booktape-api').static_configs![0].targets).toEqual([`api:${loadConfig(envOf(api)).port}`]);
    expect(job('booktape-worker').metrics_path).toBe('/metrics');
    expect(job('booktape-worker').dns_sd_configs![0]).toMatchObject({ names: ['worker'], port: loadConfig(envOf(worker)).metricsPort });
  });

  it('Grafana is provisioned with QuestDB (PostgreSQL wire) and Prometheus, and loads dashboards/', () => {
    const provisioning = mountOf(grafana, '/etc/grafana/provisioning')!;
    const sources = (parse(readFileSync(`${ROOT}${provisioning}/datasources/booktape.yml`, 'utf8')) as {
      datasources: Array<{ uid: string; type: string; url: string; user?: string; jsonData?: { database?: string } }>;
    }).datasources;
    const qdb = sources.find((s) => s.uid === 'questdb')!;
    expect(qdb).toMatchObject({ type: 'grafana-postgresql-datasource', url: 'questdb:8812', user: envOf(questdb).QDB_PG_USER, jsonData: { database: 'qdb' } });
    expect(sources.find((s) => s.uid === 'prometheus')!.url).toBe('http://prometheus:9090');
    const providers = (parse(readFileSync(`${ROOT}${provisioning}/dashboards/booktape.yml`, 'utf8')) as { providers: Array<{ options: { path: string } }> }).providers;
    expect(mountOf(grafana, providers[0].options.path)).toBe('./dashboards');
  });

  describe('the QuestDB healthcheck, run by bash against an HTTP server', () => {
    let server: Server;
    let status = 200;
    beforeAll(async () => {
      server = createServer((_req, res) => res.writeHead(status).end('Status: Healthy'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** The check as compose runs it: `$$` is compose's escape for `$`. */
    const runCheck = async (port = (server.address() as AddressInfo).port) => {
      const [, program, ...args] = questdb.healthcheck!.test.map((a) => a.replaceAll('$$', '$').replace('/9003', `/${port}`));
      try {
        await promisify(execFile)(program, args, { timeout: 5000 });
        return 0;
      } catch (err) {
        return (err as { code: number }).code;
      }
    };

    it('passes on 200 and fails on 503 or when nothing listens', async () => {
      status = 200;
      expect(await runCheck()).toBe(0);
      status = 503;
      expect(await runCheck()).not.toBe(0);
      const port = (server.address() as AddressInfo).port;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      expect(await runCheck(port)).not.toBe(0);
      server = createServer((_req, res) => res.writeHead(200).end());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
  });
});

interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Probe { httpGet?: { path: string; port: string | number }; exec?: { command: string[] } }
interface Resource {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec: {
    replicas?: number;
    template: { spec: { containers: Container[]; terminationGracePeriodSeconds?: number; volumes?: Array<{ name: string }> } };
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
    ports?: Array<{ port: number; targetPort: string | number }>;
    selector?: Record<string, string>;
  };
}
const K8S = `${ROOT}deploy/k8s/`;
/** The resources a kustomization lists, read as plain YAML (no kustomize needed). */
function kustomization(dir: string): Resource[] {
  const k = parse(readFileSync(`${dir}/kustomization.yaml`, 'utf8')) as { resources: string[] };
  return k.resources.flatMap((r) =>
    existsSync(`${dir}/${r}/kustomization.yaml`)
      ? kustomization(`${dir}/${r}`)
      : parseAllDocuments(readFileSync(`${dir}/${r}`, 'utf8')).map((d) => d.toJS() as Resource),
  );
}
const find = (rs: Resource[], kind: string, name: string) => rs.find((r) => r.kind === kind && r.metadata.name === name)!;
const base = kustomization(`${K8S}base`);
const stores = kustomization(`${K8S}stores`);
const workerDeploy = find(base, 'Deployment', 'booktape-worker');
const apiDeploy = find(base, 'Deployment', 'booktape-api');
const configMap = find(base, 'ConfigMap', 'booktape');
const containerOf = (r: Resource) => r.spec.template.spec.containers[0];
/** A container's environment with secrets filled in, as the pod would see it. */
const podEnv = (c: Container, secrets: Record<string, string>) => ({
  ...configMap.data,
  ...Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? secrets[e.valueFrom!.secretKeyRef!.key] ?? ''])),
});
const SECRETS = { REDIS_URL: 'redis://:pw@redis:6379', QDB_CLIENT_CONF: 'http::addr=questdb:9000;username=admin;password=pw;', BOOKTAPE_WRITE_TOKEN: 'w'.repeat(32) };

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('worker and API run the one booktape image, with env names src/config.ts reads and values it accepts', () => {
    expect(containerOf(workerDeploy).image).toBe(containerOf(apiDeploy).image);
    expect(containerOf(workerDeploy).command).toEqual(worker.command);
    expect(containerOf(apiDeploy).command).toEqual(api.command);
    for (const name of Object.keys(configMap.data!)) expect(CONFIG_NAMES.has(name), `ConfigMap: ${name}`).toBe(true);
    for (const d of [workerDeploy, apiDeploy]) {
      const c = containerOf(d);
      for (const e of c.env ?? []) expect(CONFIG_NAMES.has(e.name), `${d.metadata.name}: ${e.name}`).toBe(true);
      expect(c.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
      expect(loadConfig(podEnv(c, SECRETS)).store).toBe('questdb');
    }
  });

  it('secrets come from a Secret, never from a literal value', () => {
    for (const r of [...base, ...stores].filter((r) => r.spec?.template)) {
      for (const c of r.spec.template.spec.containers) {
        for (const e of (c.env ?? []).filter((e) => SECRET.test(e.name) && e.name !== 'QDB_HTTP_USER' && e.name !== 'QDB_PG_USER')) {
          expect(e.value, `${r.metadata.name}: ${e.name}`).toBeUndefined();
          expect(e.valueFrom?.secretKeyRef?.name, `${r.metadata.name}: ${e.name}`).toBeDefined();
        }
      }
    }
    for (const key of Object.keys(configMap.data!)) expect(SECRET.test(key), key).toBe(false);
    const generated = readFileSync(`${ROOT}.gitignore`, 'utf8');
    expect(generated).toContain('deploy/k8s/overlays/*/secrets.env');
  });

  it('API: Service ports reach named container ports; readiness on /readyz, liveness on /healthz, at PORT', () => {
    const c = containerOf(apiDeploy);
    const cfg = loadConfig(podEnv(c, SECRETS));
    const http = c.ports!.find((p) => p.name === 'http')!;
    expect(http.containerPort).toBe(cfg.port);
    expect(c.ports!.find((p) => p.name === 'replay')!.containerPort).toBe(cfg.tcpPort);
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const svc = find(base, 'Service', 'booktape-api');
    for (const p of svc.spec.ports!) expect(c.ports!.map((x) => x.name)).toContain(p.targetPort);
    // The pause before SIGTERM runs a program the image has.
    expect(toolsOf(c.image)).toContain(c.lifecycle!.preStop!.exec!.command[0]);
  });

  it('worker: scales by replicas, probes on its metrics port, and is given time to finish its jobs on SIGTERM', () => {
    const c = containerOf(workerDeploy);
    const cfg = loadConfig(podEnv(c, SECRETS));
    expect(workerDeploy.spec.replicas).toBeGreaterThanOrEqual(1);
    expect(c.ports!.find((p) => p.name === 'metrics')!.containerPort).toBe(cfg.metricsPort);
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(workerDeploy.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
    // The inbox it scans is mounted where the configuration says.
    expect(c.volumeMounts!.map((m) => m.mountPath)).toContain(cfg.inbox);
  });

  it('API: without the workers\' files mounted, it checks only a source\'s path (BOOKTAPE_SOURCE_CHECK=path)', () => {
    const c = containerOf(apiDeploy);
    const cfg = loadConfig(podEnv(c, SECRETS));
    const mounted = (c.volumeMounts ?? []).map((m) => m.mountPath);
    expect(cfg.dataRoots.every((root) => mounted.includes(root))).toBe(false);
    expect(cfg.sourceCheck).toBe('path');
    // Judged by path, a root still is the workers': the same setting, from the one ConfigMap.
    expect(cfg.dataRoots).toEqual(loadConfig(podEnv(containerOf(workerDeploy), SECRETS)).dataRoots);
  });

  it('example stores: Redis and QuestDB StatefulSets with volumes, probes their images can run, QuestDB as in compose', () => {
    for (const name of ['redis', 'questdb']) {
      const set = find(stores, 'StatefulSet', name);
      const c = containerOf(set);
      expect(set.spec.volumeClaimTemplates!.map((v) => v.metadata.name)).toEqual(c.volumeMounts!.map((m) => m.name));
      for (const probe of [c.readinessProbe!, c.livenessProbe!]) {
        if (probe.exec) expect(toolsOf(c.image)).toContain(probe.exec.command[0]);
        else expect(probe.httpGet).toBeDefined();
      }
      expect(find(stores, 'Service', name)).toBeDefined();
    }
    expect(containerOf(find(stores, 'StatefulSet', 'questdb')).image).toBe(questdb.image);
  });

  // kubectl is optional here; CI's runners have it.
  const kubectl = (() => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!kubectl)('every overlay renders with kubectl kustomize (needs kubectl on PATH)', async () => {
    const { mkdtempSync, cpSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    // A copy, with the git-ignored env files made from their examples.
    const dir = mkdtempSync(`${tmpdir()}/booktape-k8s-`);
    cpSync(K8S, dir, { recursive: true });
    for (const overlay of ['example', 'external']) {
      for (const f of ['secrets.env', 'stores.env']) {
        const example = `${dir}/overlays/${overlay}/${f}.example`;
        if (existsSync(example)) cpSync(example, `${dir}/overlays/${overlay}/${f}`);
      }
      const out = execFileSync('kubectl', ['kustomize', `${dir}/overlays/${overlay}`], { encoding: 'utf8' });
      const rendered = parseAllDocuments(out).map((d) => d.toJS() as Resource);
      // Deployments reference the generated, hash-suffixed Secrets.
      const secrets = rendered.filter((r) => r.kind === 'Secret').map((r) => r.metadata.name);
      expect(secrets.some((n) => /^booktape-[a-z0-9]+$/.test(n)), overlay).toBe(true);
      for (const d of rendered.filter((r) => r.kind === 'Deployment' || r.kind === 'StatefulSet')) {
        for (const e of containerOf(d).env ?? []) {
          if (e.valueFrom?.secretKeyRef) expect(secrets, `${overlay}: ${d.metadata.name}: ${e.name}`).toContain(e.valueFrom.secretKeyRef.name);
        }
      }
    }
  });
});

describe('.env.example', () => {
  it('names every setting the configuration reads', () => {
    const example = readFileSync(`${ROOT}.env.example`, 'utf8');
    for (const name of CONFIG_NAMES) expect(example, name).toContain(name);
  });
});
