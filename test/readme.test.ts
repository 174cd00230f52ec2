import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLX5, ROOT } from './helpers.js';
import { serve, type Served } from './api/served.js';

const README = readFileSync(`${ROOT}README.md`, 'utf8');

/**
 * The README's commands, run as a user would: every line of its ```sh
 * blocks (```console and ```text blocks are shown, not run). The set-up
 * lines are CI's own steps (.ci/run runs `npm ci` and `npm test`), and the
 * demo never returns, so those are left out here.
 */
const SETUP = /^(npm ci|npm test|npm run demo)\b/;
const commands = [...README.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => m[1].split('\n'))
  .map((line) => line.replace(/\s+#.*$/, '').trim())
  .filter((line) => line !== '' && !SETUP.test(line));

describe('README', () => {
  it('is at most about 12,000 characters', () => {
    expect(README.length).toBeLessThanOrEqual(12_500);
  });

  describe('its commands, against a real server on the embedded store holding CLX5', () => {
    let s: Served;
    beforeAll(async () => {
      s = await serve({ 'CLX5_mbo.dbn': CLX5 }, { BOOKTAPE_READ_TOKEN: '' });
    });
    afterAll(async () => {
      await s?.close();
    });

    it('has commands to run', () => {
      expect(commands.length).toBeGreaterThanOrEqual(10);
    });

    it.each(commands)('%s', async (line) => {
      // The README's ports are the defaults; this server has its own. curl fails on an HTTP error.
      const run = line
        .replaceAll('localhost:8080', `127.0.0.1:${s.server.httpPort}`)
        .replaceAll('localhost 7070', `127.0.0.1 ${s.server.tcpPort}`)
        .replace(/^curl /, 'curl -fsS ');
      // `booktape replay` finds the server where `serve` would listen: PORT and BOOKTAPE_TCP_PORT.
      const env = { ...process.env, PORT: String(s.server.httpPort), BOOKTAPE_TCP_PORT: String(s.server.tcpPort) };
      const { stdout } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', run], { cwd: ROOT, env, timeout: 30_000, maxBuffer: 64 * 2 ** 20 });
      if (!line.includes('>')) expect(stdout.length, `${line} printed nothing`).toBeGreaterThan(0);
    }, 40_000);
  });
});
