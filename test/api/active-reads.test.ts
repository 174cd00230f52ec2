import { describe, expect, it } from 'vitest';
import { ActiveReads } from '../../src/stream/active-reads.js';

/** A read that runs until its signal aborts, then ends after `lingerMs` (a query finishing). */
const read = (lingerMs: number, ended: string[], name: string) => (signal: AbortSignal) =>
  new Promise<string>((resolve) => {
    const end = () => setTimeout(() => { ended.push(name); resolve(name); }, lingerMs);
    if (signal.aborted) end();
    else signal.addEventListener('abort', end, { once: true });
  });

describe('ActiveReads', () => {
  it('stop() aborts every read in flight and resolves only once all have ended; reads started after it are aborted at once', async () => {
    const reads = new ActiveReads();
    const ended: string[] = [];
    const runs = Array.from({ length: 60 }, (_, k) => reads.run(new AbortController(), read(k % 5 * 10, ended, `r${k}`)));
    expect(reads.size).toBe(60);
    await reads.stop();
    expect(ended).toHaveLength(60); // stop() waited for the slowest
    expect(reads.size).toBe(0);
    expect(await Promise.all(runs)).toEqual(Array.from({ length: 60 }, (_, k) => `r${k}`));
    const late = new AbortController();
    await reads.run(late, read(0, ended, 'late'));
    expect(late.signal.aborted).toBe(true);
  });

  it('a read whose client left ends on its own and is no longer tracked; no listener piles up on any signal', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const reads = new ActiveReads();
      const ended: string[] = [];
      const clients = Array.from({ length: 30 }, () => new AbortController());
      const runs = clients.map((c, k) => reads.run(c, read(0, ended, `r${k}`)));
      clients.forEach((c) => c.abort());
      await Promise.all(runs);
      expect(reads.size).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
