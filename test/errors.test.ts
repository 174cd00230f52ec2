import { connect } from 'node:net';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BooktapeError, FAILURE_KINDS, toBooktapeError } from '../src/errors.js';
import { StoreError } from '../src/store/port.js';
import { DbnError } from '../src/dbn/errors.js';
import { SourceError } from '../src/pipeline/source.js';
import { ConfigError } from '../src/config.js';
import { toIngestError } from '../src/pipeline/errors.js';

/** A real Node error from a real refused connection (port 1 on loopback has no listener). */
function refusedConnection(): Promise<Error> {
  return new Promise((resolve) => connect(1, '127.0.0.1').on('error', resolve));
}

describe('one error model: everything derives from the kind', () => {
  it('maps Node errors where they arise by errno, not by the shape of their code', async () => {
    const refused = await refusedConnection();
    expect((refused as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    // An ALL_CAPS code used to exit 2 ("fix your input"); a refused connection is a service that is away.
    expect(toBooktapeError(refused)).toMatchObject({ kind: 'unavailable', code: 'UNAVAILABLE' });
    expect(toBooktapeError(refused).traits).toEqual({ httpStatus: 503, exitCode: 2, retryable: true, logLevel: 'warn' });

    const missing = await readFile('/no/such/file.dbn').catch((e: unknown) => e);
    expect(toBooktapeError(missing)).toMatchObject({ kind: 'not-found', code: 'NOT_FOUND', message: 'no such file: /no/such/file.dbn' });

    const coded = Object.assign(new Error('boom'), { code: 'SOMETHING_CAPS' });
    expect(toBooktapeError(coded)).toMatchObject({ kind: 'internal', code: 'INTERNAL' });
    expect(toBooktapeError(coded).traits.exitCode).toBe(1);
  });

  it("gives each of booktape's errors its kind where it is raised", () => {
    expect(new StoreError('STORE_BUSY', 'x').kind).toBe('unavailable');
    expect(new DbnError('BAD_MAGIC', 'x', 0).kind).toBe('invalid');
    expect(new SourceError('SOURCE_TIMEOUT', 'x').kind).toBe('unavailable');
    expect(new SourceError('SOURCE_NOT_ALLOWED', 'x').kind).toBe('invalid');
    expect(new ConfigError('x').traits.exitCode).toBe(2);
    for (const e of [new StoreError('STORE_BUSY', 'x'), new DbnError('BAD_MAGIC', 'x', 0), new ConfigError('x')]) expect(e).toBeInstanceOf(BooktapeError);
  });

  it('keeps code and kind across a thread boundary (structured clone of the JSON form)', () => {
    const sent = structuredClone(toIngestError(new StoreError('STORE_WRITE_FAILED', 'disk full')).toJSON());
    expect(sent).toEqual({ code: 'STORE_WRITE_FAILED', kind: 'unavailable', message: 'disk full' });
    const dbn = structuredClone(toIngestError(new DbnError('TRUNCATED_RECORD', 'cut', 40)).toJSON());
    expect(dbn).toMatchObject({ code: 'TRUNCATED_RECORD', kind: 'invalid', offset: 40 });
  });

  it('has one row per kind, and statuses that are errors', () => {
    for (const [kind, t] of Object.entries(FAILURE_KINDS)) {
      expect(t.httpStatus, kind).toBeGreaterThanOrEqual(400);
      expect(t.exitCode, kind).toBeGreaterThan(0);
    }
  });
});
