import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };

/**
 * scripts/build-once.mjs in a project of its own (a copy of the script, a
 * build that counts its runs), so that what it decides can be watched
 * without rebuilding this repository's dist/ under the other tests.
 */
function project(): { dir: string; builds: () => number; run: () => Promise<string> } {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-build-once-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'src'));
  copyFileSync(`${ROOT}scripts/build-once.mjs`, join(dir, 'scripts', 'build-once.mjs'));
  writeFileSync(join(dir, 'src', 'a.ts'), 'export const a = 1;\n');
  const build = [
    "const fs = require('node:fs');",
    "fs.mkdirSync('dist/src', { recursive: true }); fs.mkdirSync('dist/web', { recursive: true });",
    "fs.writeFileSync('dist/src/cli.js', ''); fs.writeFileSync('dist/web/index.html', '');",
    "fs.appendFileSync('builds.log', 'built\\n');",
  ].join(' ');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', private: true, scripts: { build: `node -e "${build.replace(/"/g, '\\"')}" && node scripts/build-once.mjs --stamp` } }));
  return {
    dir,
    builds: () => readFileSync(join(dir, 'builds.log'), 'utf8').split('\n').filter(Boolean).length,
    run: async () => (await promisify(execFile)('node', ['scripts/build-once.mjs'], { cwd: dir })).stderr,
  };
}

describe('building once (scripts/build-once.mjs)', () => {
  it('builds when there is no complete build, a source is newer than the last, or an output is gone; else not', async () => {
    const p = project();
    expect(await p.run()).toContain('building (no complete build yet)');
    expect(p.builds()).toBe(1);
    expect(await p.run()).toBe('booktape: dist/ is current; not building again\n');
    expect(p.builds()).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(p.dir, 'src', 'a.ts'), 'export const a = 2;\n'); // an edit, after the last build
    expect(await p.run()).toContain('building (src/a.ts changed since the last build)');
    expect(p.builds()).toBe(2);
    expect(await p.run()).toContain('not building again');
    rmSync(join(p.dir, 'dist', 'web', 'index.html'));
    expect(await p.run()).toContain('building (dist/web/index.html is missing)');
    expect(p.builds()).toBe(3);
  }, 120_000); // five npm and node starts

  it('npm ci builds (prepare), and the demo and the test setup build only through it; the build stamps its end', () => {
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.build).toMatch(/&& node scripts\/build-once\.mjs --stamp$/);
    expect(pkg.scripts.demo).toBe('node scripts/build-once.mjs && node dist/src/cli.js demo');
    expect(readFileSync(`${ROOT}test/build.global.ts`, 'utf8')).toContain("['scripts/build-once.mjs']");
  });
});
