import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Batches lines into ~64 KiB writes and waits for 'drain', so a slow reader
 * (a pipe, a terminal) bounds memory instead of letting output pile up.
 */
export class LineWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly out: Writable, private readonly flushAt = 64 * 1024) {}

  /** Resolves at once unless the buffer was flushed into a full stream. */
  async line(s: string): Promise<void> {
    this.parts.push(s, '\n');
    this.size += s.length + 1;
    if (this.size >= this.flushAt) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}
