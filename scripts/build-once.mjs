#!/usr/bin/env node
/**
 * `npm run build`, once per change of what it compiles. `npm ci` builds
 * (through `prepare`); `npm run demo` and the test suite's setup then run
 * this, which builds again only when a source is newer than the last
 * complete build. Plain JavaScript: it runs before anything is compiled.
 *
 *   node scripts/build-once.mjs           build unless dist/ is current
 *   node scripts/build-once.mjs --stamp   mark dist/ current (the build's last step)
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Written last by `npm run build`, so it exists only after a build that finished. */
const STAMP = join(ROOT, 'dist', '.build-stamp');
/** What the build reads: the sources it compiles or bundles, and the files that configure it. */
const INPUTS = ['src', 'jobs', 'web', 'tsconfig.json', 'package.json', 'package-lock.json'];
/** What the build makes that everything runs: gone (deleted by hand), the build is not current. */
const OUTPUTS = ['dist/src/cli.js', 'dist/web/index.html'];

/** The most recently modified file under `path` (a file or a directory), with its mtime. */
function newest(path) {
  const s = statSync(path, { throwIfNoEntry: false });
  if (s === undefined) return { path, mtimeMs: 0 };
  if (!s.isDirectory()) return { path, mtimeMs: s.mtimeMs };
  let best = { path, mtimeMs: 0 };
  for (const name of readdirSync(path)) {
    const found = newest(join(path, name));
    if (found.mtimeMs > best.mtimeMs) best = found;
  }
  return best;
}

if (process.argv.includes('--stamp')) {
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
} else {
  const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs;
  const changed = INPUTS.map((p) => newest(join(ROOT, p))).reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  const missing = OUTPUTS.find((p) => statSync(join(ROOT, p), { throwIfNoEntry: false }) === undefined);
  if (built !== undefined && changed.mtimeMs < built && missing === undefined) {
    process.stderr.write('booktape: dist/ is current; not building again\n');
  } else {
    const why = built === undefined ? 'no complete build yet' : missing !== undefined ? `${missing} is missing` : `${relative(ROOT, changed.path)} changed since the last build`;
    process.stderr.write(`booktape: building (${why})\n`);
    try {
      execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    } catch (err) {
      // The build printed why; its exit status is this one's.
      process.exit(err.status ?? 1);
    }
  }
}
