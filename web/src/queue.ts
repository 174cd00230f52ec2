import type { LevelOrders } from './model.js';
import { shortPrice } from './price.js';
import { formatInstant } from '../../src/time.js';

/** Which level's queue is shown: a side and the API's exact price. */
export interface QueuePick {
  side: 'bid' | 'ask';
  price: string;
}

/** ns as an age a person reads at a glance: "850 ms", "12.3 s", "4 m 05 s", "1 h 02 m". */
export function ageText(ns: bigint): string {
  if (ns < 0n) return '-';
  const ms = Number(ns / 1_000_000n);
  if (ms < 1) return '< 1 ms';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.floor(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} m ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} m`;
}

/**
 * The queue of one ladder level (the one clicked): its resting orders front
 * first, each with its id, size, the size ahead of it, and its age at the
 * instant shown (from the ts_recv at which it took its place in the queue).
 */
export class QueuePanel {
  private readonly title: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly note: HTMLElement;

  constructor(private readonly root: HTMLElement, onClose: () => void) {
    root.innerHTML = `
      <div class="queue-head"><b class="queue-title"></b> <button type="button" class="queue-close" title="Close">&times;</button></div>
      <p class="queue-note muted"></p>
      <table class="queue">
        <thead><tr><th>#</th><th>Order</th><th>Size</th><th>Ahead</th><th>Age</th></tr></thead>
        <tbody></tbody>
      </table>`;
    this.title = root.querySelector('.queue-title')!;
    this.body = root.querySelector('tbody')!;
    this.note = root.querySelector('.queue-note')!;
    root.querySelector('.queue-close')!.addEventListener('click', onClose);
    root.hidden = true;
  }

  /** Shows the queue of `pick` in the book at `at` (ns): `level` as the orders route gave it, or null when the book has no such level then. */
  render(pick: QueuePick, level: LevelOrders | null, at: bigint): void {
    this.root.hidden = false;
    this.root.dataset.side = pick.side;
    this.root.dataset.price = pick.price;
    this.root.dataset.at = at.toString();
    this.title.textContent = `${pick.side === 'bid' ? 'Bid' : 'Ask'} ${shortPrice(pick.price)} queue at ${formatInstant(at)}`;
    if (level === null) {
      this.note.textContent = 'no level at this price at this instant';
      this.body.replaceChildren();
      return;
    }
    this.note.textContent = level.orders.length === 0
      ? `size ${level.size}: a top-of-book level, with no orders`
      : `${level.orders.length} order${level.orders.length === 1 ? '' : 's'}, size ${level.size}, front of the queue first`;
    this.body.replaceChildren(...level.orders.map((o) => {
      const tr = document.createElement('tr');
      tr.dataset.orderId = o.order_id;
      tr.innerHTML = `<td>${o.position}</td><td class="order-id"></td><td>${o.size}</td><td>${o.size_ahead}</td><td class="age"></td>`;
      tr.querySelector('.order-id')!.textContent = o.order_id;
      const age = tr.querySelector<HTMLElement>('.age')!;
      age.textContent = ageText(at - BigInt(o.ts_recv));
      age.title = `in the queue since ${formatInstant(BigInt(o.ts_recv))}`;
      return tr;
    }));
  }

  /** Shows why the queue could not be read. */
  failed(pick: QueuePick, detail: string): void {
    this.root.hidden = false;
    this.title.textContent = `${pick.side === 'bid' ? 'Bid' : 'Ask'} ${shortPrice(pick.price)} queue`;
    this.note.textContent = detail;
    this.body.replaceChildren();
  }

  hide(): void {
    this.root.hidden = true;
    delete this.root.dataset.price;
  }
}
