/**
 * When each frame of a paced replay is due, and the waits until then. A wait
 * ends at once when the replay's signal aborts (the client left, or a
 * shutdown), however long it was to be: a sleeping replay holds its window
 * of rows and its socket, and a shutdown waits for it.
 */

/** The longest single timer Node keeps (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Sleeps `ms`, or less when `signal` aborts first; resolves false if it did. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(slept);
    };
    const onAbort = () => done(false);
    // A wait past Node's longest timer goes on in steps.
    const step = Math.min(ms, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      if (ms > step) sleepUnlessAborted(ms - step, signal).then(done);
      else done(true);
    }, step);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface Pace {
  /** Frames per second; 0 = not by rate. */
  rate: number;
  /** Multiple of recorded time; 0 = not by recorded time. */
  speed: number;
}

/**
 * About how long a replay of `frames` spanning `spanNs` of recorded time
 * takes at `pace`, in seconds: the first frame goes at once, the last at
 * (frames - 1) / rate, or at its distance from the first / speed. 0 unpaced.
 */
export function pacedSeconds(frames: number, spanNs: bigint, pace: Pace): number {
  if (frames <= 1) return 0;
  if (pace.rate > 0) return (frames - 1) / pace.rate;
  if (pace.speed > 0 && spanNs > 0n) return Number(spanNs) / 1e9 / pace.speed;
  return 0;
}

/**
 * A replay's schedule: frame n is due n / rate seconds after the start, or
 * (its ts_recv - the first's) / speed. `due` says how far ahead of now a
 * frame is (ms), `lateness` how far behind its schedule one went out.
 */
export class Schedule {
  readonly paced: boolean;
  private started = 0;
  private firstTs: bigint | null = null;

  constructor(private readonly pace: Pace) {
    this.paced = pace.rate > 0 || pace.speed > 0;
  }

  /** Ms until frame `n` (ts_recv `ts`) is due; negative when it is late. */
  lead(n: number, ts: bigint): number {
    if (this.firstTs === null) {
      this.firstTs = ts;
      this.started = performance.now();
    }
    const due = this.pace.rate > 0 ? (n * 1000) / this.pace.rate : Number(ts - this.firstTs) / 1e6 / this.pace.speed;
    return due - (performance.now() - this.started);
  }
}

/**
 * Rows a replay paced by `rate` reads from the store at a time: about a
 * second's worth, from 64 up to the store's default. A slow replay holds no
 * more rows than it sends soon (a window of 4,096 rows at depth 10 is a few
 * MB, read ahead once more), so many slow clients do not fill memory.
 */
export function pageSizeFor(pace: Pace): number | undefined {
  return pace.rate > 0 && pace.rate < 4096 ? Math.max(64, Math.ceil(pace.rate)) : undefined;
}
