import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers.js';

/** How the project installs, what it ships, and what CI runs. */
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
  dependencies: Record<string, string>; devDependencies: Record<string, string>; allowScripts: Record<string, boolean>; scripts: Record<string, string>;
};
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean; optional?: boolean; hasInstallScript?: boolean }>;
};
const ciRun = readFileSync(`${ROOT}.ci/run`, 'utf8');
const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');

describe('dependencies', () => {
  it('are pinned to exact versions, the ones the lockfile installs', () => {
    for (const deps of [pkg.dependencies, pkg.devDependencies]) {
      for (const [name, version] of Object.entries(deps)) {
        expect(version, name).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
        expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
      }
    }
  });

  it('every package with an install script has an explicit allowScripts decision (so installs are silent)', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    for (const name of withScripts) expect(typeof pkg.allowScripts[name], name).toBe('boolean');
    expect(pkg.allowScripts).toMatchObject({ 'zstd-napi': true, '@scarf/scarf': false, 'msgpackr-extract': false });
  });

  // The SBOM covers the whole tree: `npm sbom --omit dev` (npm 11) leaves out
  // production packages that dev tools also use (detect-libc, which the DuckDB
  // bindings load, among some twenty others), which this test caught.
  it('the SBOM (npm run sbom, as CI writes it) lists every production package installed, at its version', async () => {
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'sbom'], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
    const bom = JSON.parse(stdout) as { bomFormat: string; components: Array<{ name: string; version: string }> };
    expect(bom.bomFormat).toBe('CycloneDX');
    const listed = new Set(bom.components.map((c) => `${c.name}@${c.version}`));
    // Production packages: those the lockfile does not mark dev-only, and
    // that are installed here (other platforms' optional binaries are in the
    // lockfile but not on disk).
    const production = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.dev !== true && existsSync(`${ROOT}${path}`))
      .map(([path, p]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${p.version}`);
    expect(production.length).toBeGreaterThan(50);
    expect(production.filter((id) => !listed.has(id))).toEqual([]);
    for (const [name, version] of Object.entries(pkg.dependencies)) expect(listed.has(`${name}@${version}`), name).toBe(true);
  });
});

describe('CI and the image', () => {
  it('.ci/run installs with npm ci, audits, writes the SBOM, runs the suite, its faults and deep searches, then the suite again on Node 24', () => {
    const steps = ['npm ci', 'bash .ci/audit', 'npm run -s sbom > sbom.cdx.json', 'npm test', 'npm run test:faults', 'npm run test:deep', 'bash .ci/node24 npm test'];
    const at = steps.map((s) => ciRun.indexOf(s));
    expect(at.every((i) => i >= 0), JSON.stringify(at)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(ciRun).not.toMatch(/npm install/);
    expect(readFileSync(`${ROOT}.gitignore`, 'utf8')).toMatch(/^sbom\.cdx\.json$/m);
  });

  it('every test file is in a suite CI runs: npm test\'s (*.test.ts), the faults\' (test/faults/*.fault.ts) or both', () => {
    const files = execFileSync('git', ['ls-files', 'test'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter((f) => /\.(test|fault)\.ts$/.test(f));
    expect(files.length).toBeGreaterThan(40);
    for (const f of files) expect(/^test\/.+\.test\.ts$/.test(f) || /^test\/faults\/[^/]+\.fault\.ts$/.test(f), f).toBe(true);
    expect(pkg.scripts['test:faults']).toBe('vitest run --config vitest.faults.config.ts');
    expect(pkg.scripts['test:deep']).toBe('vitest run --config vitest.deep.config.ts');
    expect(readFileSync(`${ROOT}vitest.faults.config.ts`, 'utf8')).toContain("include: ['test/faults/**/*.fault.ts']");
  });

  it('the GitHub workflow runs .ci/run on push and pull requests, and builds the image', () => {
    const wf = parse(readFileSync(`${ROOT}.github/workflows/ci.yml`, 'utf8')) as {
      on: Record<string, unknown>; jobs: Record<string, { steps: Array<{ run?: string }> }>;
    };
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push']);
    const runs = (job: string) => wf.jobs[job].steps.map((s) => s.run ?? '').join('\n');
    const tester = Object.keys(wf.jobs).find((j) => /^bash \.ci\/run$/m.test(runs(j)));
    expect(tester).toBeDefined();
    // Tests start their own redis-server too, so the binary is installed, not a service container.
    expect(runs(tester!)).toMatch(/apt-get install .*redis-server/);
    expect(Object.keys(wf.jobs).some((j) => /docker build\b.* \.$/m.test(runs(j)))).toBe(true);
  });

  it('the Dockerfile: npm ci, multi-stage, Node 24, no compilers or bench/ at runtime, not root, a HEALTHCHECK node can run', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages[stages.length - 1];
    expect(runtime).toMatch(/^node:24\.\d+\.\d+-bookworm-slim\b/);
    expect(stages[0]).toMatch(/npm ci\b/);
    expect(dockerfile).not.toMatch(/npm install/);
    expect(runtime).not.toMatch(/apt-get|g\+\+|python3|\bmake\b/);
    expect(dockerfile).not.toMatch(/COPY\s+bench/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "-e", [^\n]*\/healthz/m);
    expect(readFileSync(`${ROOT}.dockerignore`, 'utf8')).toMatch(/^\.env$/m);
    // The build stage copies every tsconfig `npm run build` reads.
    const copied = [...stages[0].matchAll(/^COPY (.+) \S+$/gm)].flatMap((m) => m[1].split(/\s+/));
    for (const [, config] of pkg.scripts.build.matchAll(/tsc -p (\S+)/g)) expect(copied, config).toContain(config);
    // ... and every script it runs.
    for (const [, script] of pkg.scripts.build.matchAll(/node (scripts\/\S+)/g)) expect(copied, script).toContain(script.split('/')[0]);
  });
});
