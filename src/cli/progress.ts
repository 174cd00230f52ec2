import { progressEveryMs } from '../config.js';

/**
 * One line of progress on stderr for a long command: records, rate, and
 * (when the total is known) percent and time left. On a terminal it
 * rewrites itself in place; elsewhere (a log file, a pipe, CI) it prints a
 * whole line every BOOKTAPE_PROGRESS_MS (default 5 s). A run shorter than
 * that prints nothing.
 */
const TTY_EVERY_MS = 250;

const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export class ProgressLine {
  private readonly started = performance.now();
  private readonly tty: boolean;
  private readonly everyMs: number;
  private last = 0;
  private shown = false;

  constructor(private readonly what: string, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = out.isTTY === true;
    this.everyMs = this.tty ? TTY_EVERY_MS : progressEveryMs();
  }

  /** `done` records so far; `fraction` of the whole (0-1) when known. */
  report(done: number, fraction: number | null = null): void {
    const now = performance.now();
    if (now - this.started < this.everyMs || now - this.last < this.everyMs) return;
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const parts = [`${count.format(done)} records`, `${count.format(done / seconds)}/s`];
    if (fraction !== null && fraction > 0) {
      parts.push(`${(Math.min(fraction, 1) * 100).toFixed(1)}%`);
      if (fraction < 1) parts.push(`${duration((seconds * (1 - fraction)) / fraction)} left`);
    }
    const line = `booktape: ${this.what} ${parts.join(', ')}`;
    this.out.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
    this.shown = true;
  }

  /** Ends a line rewritten in place, so what follows starts on its own. */
  end(): void {
    if (this.tty && this.shown) this.out.write('\n');
  }
}
