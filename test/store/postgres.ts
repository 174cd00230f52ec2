import { connect } from 'node:net';

/**
 * The machine's PostgreSQL, the reference the PostgreSQL-wire reader is
 * checked against (trust authentication on 127.0.0.1, as this kind of
 * machine and CI start it; .ci/run starts it when it is not running).
 */
export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'postgres' };

/** Whether PostgreSQL accepts connections (else its suites skip, saying why). */
export function postgresUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(PG.port, PG.host);
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
