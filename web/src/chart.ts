import uPlot from 'uplot';
import type { BboBucketJson, Book } from './model.js';
import { shortPrice } from './price.js';
import { formatInstant } from '../../src/time.js';

/** A window of time, in seconds since the epoch (uPlot's x unit). */
export interface Window {
  min: number;
  max: number;
}

/** An axis label for x (seconds since the epoch) on a window `span` seconds wide. */
function utcLabel(x: number, span: number): string {
  const iso = new Date(x * 1000).toISOString(); // 2025-09-24T19:30:00.000Z
  if (span > 2 * 86_400) return iso.slice(5, 16).replace('T', ' ');
  return span > 600 ? iso.slice(11, 16) : span > 10 ? iso.slice(11, 19) : iso.slice(11, 23);
}

const seconds = (ns: string | bigint): number => Number(BigInt(ns) / 1000n) / 1e6;

/** The instant the ladder shows, and its book's best prices: what the legend reads while the pointer is elsewhere. */
interface Marked {
  x: number;
  /** "21:59:59.999903747": the time of day in UTC, to the nanosecond. */
  time: string;
  bid: string | null;
  ask: string | null;
}

/** A price as the legend shows it: as the ladder does, trailing zeros dropped to two places. */
const legendPrice = (v: number | null | undefined): string => (v === null || v === undefined ? '--' : shortPrice(v.toFixed(9)));

/**
 * Best bid and best ask (each bucket's last) and the last trade price per
 * bucket, over a window of time, drawn by uPlot. Dragging across selects a
 * window to zoom into (`zoom` is told, to fetch finer buckets); a
 * double-click asks for the whole range again (`reset`); a click picks an
 * instant (`pick`). A vertical line marks the instant the ladder shows.
 */
export class BboChart {
  private readonly plot: uPlot;
  /** The window show() set last: a setScale to it is the chart settling on it, not a zoom. */
  private shown: Window | null = null;
  private marked: Marked | null = null;

  constructor(root: HTMLElement, zoom: (w: Window) => void, reset: () => void, pick: (ns: bigint) => void) {
    const opts: uPlot.Options = {
      width: Math.max(320, root.clientWidth),
      height: 320,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      scales: { x: { time: true } },
      // The legend reads the bucket under the pointer; with the pointer away
      // from the chart (idx null), the instant the ladder shows, not "--".
      series: [
        { label: 'Time (UTC)', value: (_u, x, _s, idx) => (idx === null ? this.marked?.time ?? '--' : x === null ? '--' : new Date(x * 1000).toISOString().slice(11, 23)) },
        { label: 'Best bid', stroke: '#1a7f37', width: 1.5, paths: uPlot.paths.stepped!({ align: 1 }), value: (_u, v, _s, idx) => (idx === null ? this.marked?.bid ?? '--' : legendPrice(v)) },
        { label: 'Best ask', stroke: '#cf222e', width: 1.5, paths: uPlot.paths.stepped!({ align: 1 }), value: (_u, v, _s, idx) => (idx === null ? this.marked?.ask ?? '--' : legendPrice(v)) },
        {
          label: 'Last trade', stroke: '#0969da', width: 0, points: { show: true, size: 4, fill: '#0969da' }, paths: () => null,
          value: (u, v, _s, idx) => legendPrice(idx === null ? this.tradeAtMark(u) : v),
        },
      ],
      // UTC on the axis, 24-hour, with seconds or milliseconds as the zoom needs them.
      axes: [
        { label: 'Time (UTC)', values: (u, splits) => splits.map((x) => utcLabel(x, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0))) },
        { label: 'Price', size: 70 },
      ],
      cursor: {
        drag: { x: true, y: false },
        bind: { dblclick: () => () => { reset(); return null; } },
      },
      hooks: {
        setScale: [(u, key) => {
          const { min, max } = u.scales.x;
          if (key !== 'x' || min === undefined || max === undefined) return;
          // uPlot commits the scale show() sets after show() returns: asking
          // again for the window just shown doubled every request.
          if (this.shown !== null && min === this.shown.min && max === this.shown.max) return;
          zoom({ min, max });
        }],
        draw: [(u) => this.drawMark(u)],
      },
    };
    this.plot = new uPlot(opts, [[], [], [], []], root);
    let downAt = -1;
    this.plot.over.addEventListener('mousedown', (e) => { downAt = e.clientX; });
    this.plot.over.addEventListener('click', (e) => {
      if (Math.abs(e.clientX - downAt) > 3) return; // the end of a drag, not a click
      const x = this.plot.posToVal(e.offsetX, 'x');
      pick(BigInt(Math.round(x * 1e6)) * 1000n);
    });
    new ResizeObserver(() => this.plot.setSize({ width: Math.max(320, root.clientWidth), height: 320 })).observe(root);
  }

  /** Shows buckets over a window (the window stays as given, however sparse the buckets). */
  show(buckets: BboBucketJson[], window: Window): void {
    const x = buckets.map((b) => seconds(b.ts));
    const data: uPlot.AlignedData = [
      x,
      buckets.map((b) => b.bid?.last ?? null),
      buckets.map((b) => b.ask?.last ?? null),
      buckets.map((b) => b.trades?.price?.last ?? null),
    ];
    this.shown = window;
    this.plot.setData(data, false);
    this.plot.setScale('x', window);
  }

  /** Marks the instant the ladder shows, and shows its book's best prices in the legend while the pointer is elsewhere. */
  mark(book: Pick<Book, 'tsRecv' | 'bids' | 'asks'>): void {
    this.marked = {
      x: seconds(book.tsRecv),
      time: formatInstant(BigInt(book.tsRecv)).slice(11, -1),
      bid: book.bids[0] ? shortPrice(book.bids[0].price) : null,
      ask: book.asks[0] ? shortPrice(book.asks[0].price) : null,
    };
    this.plot.redraw(false, false);
    // Read again what the legend shows: the bucket under the pointer, or now this instant.
    // (uPlot's types say number; null, no point under the pointer, is what it keeps when the pointer is away.)
    this.plot.setLegend({ idx: (this.plot.cursor.idx ?? null) as number });
  }

  /** The last trade price in the bucket that holds the marked instant, or before it; null without one. */
  private tradeAtMark(u: uPlot): number | null {
    if (this.marked === null) return null;
    const [xs, , , trades] = u.data as [number[], ...(number | null | undefined)[][]];
    for (let i = xs.length - 1; i >= 0; i--) {
      if (xs[i] > this.marked.x) continue;
      const t = trades[i];
      if (t !== null && t !== undefined) return t;
    }
    return null;
  }

  private drawMark(u: uPlot): void {
    if (this.marked === null) return;
    const x = Math.round(u.valToPos(this.marked.x, 'x', true));
    if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = '#6e7781';
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.restore();
  }
}
