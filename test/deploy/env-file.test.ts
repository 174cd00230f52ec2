import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers.js';

/**
 * The CLI reads `.env` in its working directory, as compose reads the one
 * beside docker-compose.yml; variables set in the environment win. Checked
 * with real processes: `booktape worker` validates its configuration first,
 * so a bad value from .env shows in its error, and a good one from the
 * environment wins over it.
 */
const run = promisify(execFile);
const dirs: string[] = [];
const dirWith = (envFile: string | null) => {
  const dir = mkdtempSync(`${tmpdir()}/booktape-env-`);
  dirs.push(dir);
  if (envFile !== null) writeFileSync(`${dir}/.env`, envFile);
  return dir;
};
/** Runs the CLI in `cwd` with only PATH (and `env`) inherited; returns its exit code and stderr. */
async function cli(cwd: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stderr } = await run(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH, ...env }, timeout: 20_000 });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('.env', () => {
  it('is read at start: a setting in it reaches the configuration', async () => {
    const dir = dirWith('# booktape\nBOOKTAPE_DEPTH=99\n');
    const r = await cli(dir, ['worker']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[BAD_CONFIG\].*BOOKTAPE_DEPTH/);
  });

  it('the environment wins over it', async () => {
    const dir = dirWith('BOOKTAPE_DEPTH=99\nLOG_LEVEL=nonsense\n');
    // BOOKTAPE_DEPTH from the environment is good, so only LOG_LEVEL (from .env) is refused.
    const r = await cli(dir, ['worker'], { BOOKTAPE_DEPTH: '10' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LOG_LEVEL/);
    expect(r.stderr).not.toMatch(/BOOKTAPE_DEPTH/);
  });

  it('no .env is no error, and a .env that cannot be read is a clear one', async () => {
    const none = await cli(dirWith(null), ['meta', `${process.cwd()}/data/CLX5_mbo.dbn`]);
    expect(none).toMatchObject({ code: 0 });
    const dir = dirWith(null);
    mkdirSync(`${dir}/.env`); // a directory where the file should be
    const bad = await cli(dir, ['meta', `${process.cwd()}/data/CLX5_mbo.dbn`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^booktape: error \[BAD_ENV_FILE\]: cannot read \.env \(not a file\)/);
  });
});
