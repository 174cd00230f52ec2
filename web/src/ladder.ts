import type { Book, Level } from './model.js';
import { midOf, shortPrice, spreadOf } from './price.js';
import { formatInstant } from '../../src/time.js';
import type { QueuePick } from './queue.js';

/**
 * The depth ladder: bids and asks side by side, best first, a size bar per
 * level scaled to the largest size shown. Rows are made once; a render only
 * sets text and widths, so it fits in a frame however often it runs.
 */
export class Ladder {
  private readonly rows: HTMLTableRowElement[] = [];
  private readonly ts: HTMLElement;
  private readonly spread: HTMLElement;
  private readonly mid: HTMLElement;
  private readonly badge: HTMLElement;
  /** The level whose queue is shown, marked on the ladder wherever its price is. */
  private picked: QueuePick | null = null;

  /** `onPick` is called with the level a click lands on (either side's cells of a row). */
  constructor(root: HTMLElement, readonly depth: number, onPick: (pick: QueuePick) => void = () => undefined) {
    root.innerHTML = `
      <div class="summary">
        <span>Book at <time class="book-ts">-</time></span>
        <span>Spread <b class="spread">-</b></span>
        <span>Mid <b class="mid">-</b></span>
        <span class="badge" hidden></span>
      </div>
      <table class="levels">
        <thead><tr><th>Orders</th><th>Size</th><th>Bid</th><th>Ask</th><th>Size</th><th>Orders</th></tr></thead>
        <tbody></tbody>
      </table>`;
    const body = root.querySelector('tbody')!;
    for (let k = 0; k < depth; k++) {
      const tr = document.createElement('tr');
      tr.dataset.level = String(k);
      tr.innerHTML = `<td class="bid-count"></td><td class="bid-size bar"><i></i><span></span></td><td class="bid-price"></td>`
        + `<td class="ask-price"></td><td class="ask-size bar"><i></i><span></span></td><td class="ask-count"></td>`;
      body.append(tr);
      this.rows.push(tr);
    }
    this.ts = root.querySelector('.book-ts')!;
    this.spread = root.querySelector('.spread')!;
    this.mid = root.querySelector('.mid')!;
    this.badge = root.querySelector('.badge')!;
    body.addEventListener('click', (e) => {
      const cell = (e.target as HTMLElement).closest('td');
      const side = cell?.className.startsWith('bid') ? 'bid' : cell?.className.startsWith('ask') ? 'ask' : null;
      const price = side === null ? '' : cell!.parentElement!.querySelector<HTMLElement>(`.${side}-price`)!.dataset.price ?? '';
      if (side !== null && price !== '') onPick({ side, price });
    });
  }

  /** Marks the level whose queue is shown (null: none). */
  pick(p: QueuePick | null): void {
    this.picked = p;
    for (const tr of this.rows) for (const side of ['bid', 'ask'] as const) mark(tr, side, p);
  }

  render(book: Book): void {
    this.ts.textContent = formatInstant(BigInt(book.tsRecv));
    this.ts.dataset.ns = book.tsRecv;
    const bid = book.bids[0];
    const ask = book.asks[0];
    this.spread.textContent = bid && ask ? spreadOf(bid.price, ask.price) : '-';
    this.mid.textContent = bid && ask ? midOf(bid.price, ask.price) : '-';
    const state = book.crossed ? 'crossed' : book.locked ? 'locked' : null;
    this.badge.hidden = state === null;
    this.badge.className = `badge ${state ?? ''}`;
    this.badge.textContent = state === null ? '' : state.toUpperCase();
    this.badge.title = state === 'crossed' ? 'best bid above best ask' : state === 'locked' ? 'best bid equals best ask' : '';
    let largest = 1;
    for (const l of book.bids) largest = Math.max(largest, l.size);
    for (const l of book.asks) largest = Math.max(largest, l.size);
    this.rows.forEach((tr, k) => {
      fill(tr, 'bid', book.bids[k], largest);
      fill(tr, 'ask', book.asks[k], largest);
      mark(tr, 'bid', this.picked);
      mark(tr, 'ask', this.picked);
    });
  }
}

/** Marks a row's side as the picked level when its price is the pick's. */
function mark(tr: HTMLTableRowElement, side: 'bid' | 'ask', p: QueuePick | null): void {
  const price = tr.querySelector<HTMLElement>(`.${side}-price`)!;
  price.classList.toggle('picked', p !== null && p.side === side && price.dataset.price === p.price);
}

function fill(tr: HTMLTableRowElement, side: 'bid' | 'ask', level: Level | undefined, largest: number): void {
  const price = tr.querySelector<HTMLElement>(`.${side}-price`)!;
  const size = tr.querySelector<HTMLElement>(`.${side}-size`)!;
  const count = tr.querySelector<HTMLElement>(`.${side}-count`)!;
  price.textContent = level ? shortPrice(level.price) : '';
  price.dataset.price = level?.price ?? '';
  size.querySelector('span')!.textContent = level ? String(level.size) : '';
  size.querySelector('i')!.style.width = level ? `${(100 * level.size) / largest}%` : '0';
  // Top-of-book venues report no order count (0): shown as blank, not as "0 orders".
  count.textContent = level && level.count > 0 ? String(level.count) : '';
}
