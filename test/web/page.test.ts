import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, CLX5, ROOT } from '../helpers.js';
import { serve, type Served } from './serve.js';

/**
 * The book page in a real headless Chromium (Debian's package, never one a
 * tool downloads) against real `booktape serve` processes on the embedded
 * store holding CLX5. Screenshots of each state go to test-output/web/.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SHOTS = join(ROOT, 'test-output', 'web');
const READ_TOKEN = 'read-token-for-the-page-test';
const WRITE_TOKEN = 'write-token-for-the-page-test';

interface LevelJson { price: string; size: number; count: number }
interface BookJson { ts_recv: string; crossed: boolean; bids: LevelJson[]; asks: LevelJson[] }

let browser: Browser;
let open: Served;
let guarded: Served;

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'booktape-web-'));
  const store = join(dir, 'clx5.duckdb');
  await promisify(execFile)('node', [CLI, 'ingest', CLX5], {
    env: { ...process.env, BOOKTAPE_DUCKDB_PATH: store, BOOKTAPE_DATA_ROOTS: dirname(CLX5), LOG_LEVEL: 'silent' },
  });
  // A second copy for the server this suite stops (DuckDB lets one process open a file).
  copyFileSync(store, join(dir, 'guarded.duckdb'));
  [open, guarded] = await Promise.all([serve(store, { BOOKTAPE_WRITE_TOKEN: WRITE_TOKEN }), serve(join(dir, 'guarded.duckdb'), { BOOKTAPE_READ_TOKEN: READ_TOKEN })]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await open?.stop();
  await guarded?.stop();
});

/** A new page that records console errors and uncaught exceptions. */
async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** The ladder as shown: per level, the exact API price (kept on the cell), size and order count, both sides. */
async function ladder(page: Page) {
  return page.$$eval('#ladder tbody tr', (rows) => rows.map((tr) => {
    const cell = (c: string) => tr.querySelector<HTMLElement>(`.${c}`)!;
    const side = (s: string) => (cell(`${s}-price`).dataset.price
      ? { price: cell(`${s}-price`).dataset.price!, shown: cell(`${s}-price`).textContent, size: Number(cell(`${s}-size`).textContent), count: Number(cell(`${s}-count`).textContent || 0) }
      : null);
    return { bid: side('bid'), ask: side('ask') };
  }));
}

/** What the ladder must show for an API book, level for level. */
function expectedLadder(book: BookJson) {
  return Array.from({ length: 10 }, (_, k) => ({
    bid: book.bids[k] ? { price: book.bids[k].price, size: book.bids[k].size, count: book.bids[k].count } : null,
    ask: book.asks[k] ? { price: book.asks[k].price, size: book.asks[k].size, count: book.asks[k].count } : null,
  }));
}

const withoutShown = (rows: Awaited<ReturnType<typeof ladder>>) =>
  rows.map((r) => ({ bid: r.bid && { price: r.bid.price, size: r.bid.size, count: r.bid.count }, ask: r.ask && { price: r.ask.price, size: r.ask.size, count: r.ask.count } }));

const shownTs = (page: Page) => page.$eval('body', (b) => b.dataset.shownTs ?? null);

describe.skipIf(!hasChromium)(`the book page in headless Chromium${hasChromium ? '' : ` (skipped: no ${CHROMIUM}; apt-get install chromium)`}`, () => {
  it('loads with no console errors, first paint under a second, and shows CLX5 ending crossed: 65.40 x1 over 64.78 x3', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${open.url}/`);
    await page.waitForFunction(() => document.querySelector('#ladder .bid-price')?.textContent === '65.40');
    const [top] = await ladder(page);
    expect(top.bid).toMatchObject({ shown: '65.40', size: 1 });
    expect(top.ask).toMatchObject({ shown: '64.78', size: 3 });
    const badge = page.locator('#ladder .badge');
    expect(await badge.isVisible()).toBe(true);
    expect(await badge.textContent()).toContain('CROSSED');
    expect(await page.locator('#ladder .spread').textContent()).toBe('-0.62');
    expect(await shownTs(page)).toBe('1758751199999903747');
    // The chart's series came from the bbo endpoint.
    await page.waitForFunction(() => document.querySelectorAll('#chart canvas').length > 0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SHOTS, 'final-crossed.png') });
    expect(errors).toEqual([]);
    await page.close();
    // First paint, from navigation to the first ladder drawn, in fresh tabs
    // (the page's first load above also paid the server's first reads); the
    // best of three, as the machine is shared with other work.
    const paints: number[] = [];
    for (let k = 0; k < 3; k++) {
      const { page: again } = await newPage();
      await again.goto(`${open.url}/`);
      await again.waitForFunction(() => document.body.dataset.firstPaintMs !== undefined);
      paints.push(Number(await again.$eval('body', (b) => b.dataset.firstPaintMs)));
      await again.close();
    }
    const best = Math.min(...paints);
    // The budget is for this machine at rest; with other work queued on every
    // core (load above 1.5 per core) it would measure the queue, so the
    // figure is then shown and held only to a loose bound.
    const load = loadavg()[0] / availableParallelism();
    console.log(`first paint (navigation to ladder drawn), ms: ${paints.join(', ')}; load ${load.toFixed(1)} per core`);
    expect(best, 'ms from navigation to the first ladder, best of three').toBeLessThan(load <= 1.5 ? 1000 : 5000);
  });

  it('at 2025-09-24T20:00:00Z the ladder equals the API book at that instant, level for level', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${open.url}/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    const api = (await (await fetch(`${open.url}/v1/books/CLX5?at=2025-09-24T20:00:00Z&depth=10`)).json()) as BookJson;
    await page.fill('#instant', '2025-09-24T20:00:00Z');
    await page.press('#instant', 'Enter');
    await page.waitForFunction((ts) => document.body.dataset.shownTs === ts, api.ts_recv);
    await page.waitForTimeout(50); // the frame that drew it
    expect(withoutShown(await ladder(page))).toEqual(expectedLadder(api));
    expect(await page.inputValue('#instant')).toBe('2025-09-24T20:00:00.000000000Z');
    await page.screenshot({ path: join(SHOTS, 'at-2000Z.png') });
    // Previous and next snapshot step through stored instants, each the API's book there.
    await page.click('#prev');
    await page.waitForFunction((ts) => document.body.dataset.shownTs !== ts, api.ts_recv);
    const prevTs = (await shownTs(page))!;
    expect(BigInt(prevTs) < BigInt(api.ts_recv)).toBe(true);
    await page.click('#next');
    await page.waitForFunction((ts) => document.body.dataset.shownTs === ts, api.ts_recv);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a slider move shows the API book at the slider instant, and within a frame or two when its block is cached', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${open.url}/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    /**
     * Moves the slider; resolves with ms from the input event to the ladder
     * drawn, and from the book's response arriving to the ladder drawn (the
     * page's own share: the rest is the server's).
     */
    const move = (value: number) => page.evaluate(async (v) => {
      const slider = document.getElementById('slider') as HTMLInputElement;
      const before = document.body.dataset.renders;
      const t0 = performance.now();
      slider.value = String(v);
      slider.dispatchEvent(new Event('input'));
      await new Promise<void>((resolve) => {
        const tick = () => (document.body.dataset.renders !== before || performance.now() - t0 > 2000 ? resolve() : requestAnimationFrame(tick));
        requestAnimationFrame(tick);
      });
      const drawn = Number(document.body.dataset.renderedAt);
      const response = performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/books/CLX5?')).at(-1) as PerformanceResourceTiming;
      return { total: drawn - t0, afterResponse: drawn - response.responseEnd };
    }, value);
    await move(50_000);
    const instant = await page.inputValue('#instant');
    const api = (await (await fetch(`${open.url}/v1/books/CLX5?at=${instant}&depth=10`)).json()) as BookJson;
    expect(await shownTs(page)).toBe(api.ts_recv);
    expect(withoutShown(await ladder(page))).toEqual(expectedLadder(api));
    // Neighbouring instants (one slider step is ~90 ms of data): the same cached block.
    const moves = [];
    for (let k = 1; k <= 15; k++) moves.push(await move(50_000 + k));
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
    const total = median(moves.map((m) => m.total));
    const afterResponse = median(moves.map((m) => m.afterResponse));
    console.log(`slider move to ladder drawn: median ${total.toFixed(1)} ms, of which ${afterResponse.toFixed(1)} ms after the response arrived`);
    // Drawn in the animation frame after the response (17 ms at 60 Hz; two allowed for a busy machine).
    expect(afterResponse, 'median ms from the response to the ladder drawn').toBeLessThan(34);
    expect(total, 'median ms from the slider move to the ladder drawn').toBeLessThan(250);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('replay at 1000x advances the shown time to the last snapshot and ends with the end marker', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${open.url}/?symbol=CLX5&at=2025-09-24T21:50:00Z`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.shownTs !== undefined);
    const start = BigInt((await shownTs(page))!);
    await page.selectOption('#speed', '1000');
    await page.click('#play');
    await page.waitForFunction(() => document.getElementById('replay-status')!.dataset.state === 'playing');
    await page.waitForTimeout(300);
    const during = BigInt((await shownTs(page))!);
    expect(during > start).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'replaying.png') });
    await page.waitForFunction(() => document.getElementById('replay-status')!.dataset.state === 'ended', undefined, { timeout: 30_000 });
    expect(await shownTs(page)).toBe('1758751199999903747');
    expect(await page.textContent('#replay-status')).toMatch(/^replay ended: \d+ frames, end marker received$/);
    await page.screenshot({ path: join(SHOTS, 'replay-ended.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('pause stops the replay where it is; play resumes after the last frame received', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${open.url}/?symbol=CLX5&at=2025-09-24T20:00:00Z`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.shownTs !== undefined);
    await page.selectOption('#speed', '10');
    await page.click('#play');
    await page.waitForFunction(() => /replaying: [1-9]/.test(document.getElementById('replay-status')!.textContent ?? ''));
    await page.click('#play'); // now Pause
    await page.waitForFunction(() => document.getElementById('replay-status')!.dataset.state === 'paused');
    const pausedAt = BigInt((await shownTs(page))!);
    await page.waitForTimeout(300);
    expect(BigInt((await shownTs(page))!)).toBe(pausedAt); // stays paused
    const resumed = page.waitForRequest((r) => r.url().includes('/v1/replay?'));
    await page.click('#play');
    const after = new URL((await resumed).url()).searchParams.get('after');
    expect(after).toMatch(/^\d+,432669,1,\d+,\d+$/);
    expect(BigInt(after!.split(',')[0]) >= pausedAt).toBe(true);
    await page.waitForFunction((t) => BigInt(document.body.dataset.shownTs!) > BigInt(t), pausedAt.toString());
    await page.click('#play');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an unpaced replay of all 32,053 frames keeps the page drawing and its memory flat', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${open.url}/?symbol=CLX5&at=2025-09-24T19:30:01Z`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.shownTs !== undefined);
    const cdp = await page.context().newCDPSession(page);
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return ((await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
    };
    const before = await heap();
    await page.evaluate(() => {
      // The longest gap between animation frames while the replay runs.
      const w = window as unknown as { longestGap: number };
      w.longestGap = 0;
      let last = performance.now();
      const tick = (now: number) => {
        w.longestGap = Math.max(w.longestGap, now - last);
        last = now;
        if (document.getElementById('replay-status')!.dataset.state !== 'ended') requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await page.selectOption('#speed', '0');
    await page.click('#play');
    await page.waitForFunction(() => document.getElementById('replay-status')!.dataset.state === 'ended', undefined, { timeout: 60_000 });
    expect(await page.textContent('#replay-status')).toMatch(/^replay ended: \d+ frames/);
    const frames = Number(/(\d+) frames/.exec((await page.textContent('#replay-status'))!)![1]);
    expect(frames).toBeGreaterThan(1000);
    const gap = await page.evaluate(() => (window as unknown as { longestGap: number }).longestGap);
    const grown = (await heap()) - before;
    console.log(`unpaced replay of ${frames} frames: longest gap between animation frames ${gap.toFixed(0)} ms, heap growth ${(grown / 2 ** 20).toFixed(2)} MB`);
    // As for first paint: at rest the budget; under a queue of other work a loose bound.
    const load = loadavg()[0] / availableParallelism();
    expect(gap, `longest ms between animation frames (load ${load.toFixed(1)} per core)`).toBeLessThan(load <= 1.5 ? 250 : 2000);
    expect(grown, 'heap growth in bytes over the replay').toBeLessThan(8 * 2 ** 20);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('dragging across the chart zooms: the bbo series is asked again over the narrower window, in finer buckets, once a window', async () => {
    const { page, errors } = await newPage();
    const asked: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/bbo?')) asked.push(r.url()); });
    const first = page.waitForResponse((r) => r.url().includes('/bbo?'));
    await page.goto(`${open.url}/`);
    const whole = await first;
    expect(whole.status()).toBe(200);
    const wholeEvery = new URL(whole.url()).searchParams.get('every');
    expect(((await whole.json()) as { buckets: unknown[] }).buckets.length).toBeGreaterThan(100);
    const over = page.locator('#chart .u-over');
    const box = (await over.boundingBox())!;
    const zoomed = page.waitForResponse((r) => r.url().includes('/bbo?'));
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const narrow = await zoomed;
    expect(narrow.status()).toBe(200);
    const q = new URL(narrow.url()).searchParams;
    expect(q.get('every')).not.toBe(wholeEvery);
    expect(BigInt(q.get('to')!) - BigInt(q.get('from')!) < 1_000_000_000_000n).toBe(true);
    await page.waitForTimeout(500);
    // Showing a window is not a zoom: each window was asked for once (the
    // chart used to ask again for every window it had just shown).
    expect(asked).toEqual([whole.url(), narrow.url()]);
    await page.screenshot({ path: join(SHOTS, 'chart-zoomed.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the chart has axis titles, and its legend reads the instant the ladder shows until hovered, then the bucket under the pointer', async () => {
    const { page, errors } = await newPage();
    // Every text drawn on a canvas: uPlot draws its axes, and their titles, there.
    await page.addInitScript(() => {
      const drawn: string[] = [];
      (window as unknown as { drawnTexts: string[] }).drawnTexts = drawn;
      const fillText = CanvasRenderingContext2D.prototype.fillText;
      CanvasRenderingContext2D.prototype.fillText = function (text: string, x: number, y: number, maxWidth?: number) {
        drawn.push(String(text));
        return fillText.call(this, text, x, y, maxWidth);
      };
    });
    const legend = () => page.$$eval('#chart .u-legend tr', (rows) => Object.fromEntries(rows.map((r) => [
      r.querySelector('.u-label')?.textContent?.replace(/:$/, '') ?? '', r.querySelector('.u-value')?.textContent ?? '',
    ])));
    await page.goto(`${open.url}/?symbol=CLX5&at=1758744000001831743`);
    await page.waitForFunction(() => document.body.dataset.shownTs === '1758744000001831743');
    await page.waitForFunction(() => document.querySelector('#chart .u-legend .u-value')?.textContent === '20:00:00.001831743');
    const [top] = await ladder(page);
    // Not "--": the book at the instant shown, as the ladder shows it, and the last trade up to its bucket.
    expect(await legend()).toEqual({ 'Time (UTC)': '20:00:00.001831743', 'Best bid': top.bid!.shown, 'Best ask': top.ask!.shown, 'Last trade': expect.stringMatching(/^\d+\.\d{2,}$/) });
    expect(top.bid!.shown).toBe('64.80');
    const texts = await page.evaluate(() => (window as unknown as { drawnTexts: string[] }).drawnTexts);
    expect(texts).toContain('Time (UTC)');
    expect(texts).toContain('Price');
    await page.screenshot({ path: join(SHOTS, 'chart-legend.png') });
    // Hovered: the bucket under the pointer, its time to the millisecond.
    const box = (await page.locator('#chart .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('#chart .u-legend .u-value')?.textContent !== '20:00:00.001831743');
    const hovered = await legend();
    expect(hovered['Time (UTC)']).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(hovered['Best bid']).toMatch(/^\d+\.\d{2,}$/);
    // The pointer leaves: the instant shown again; a step to the next snapshot, its book.
    await page.mouse.move(5, 5);
    await page.waitForFunction(() => document.querySelector('#chart .u-legend .u-value')?.textContent === '20:00:00.001831743');
    await page.click('#next');
    await page.waitForFunction(() => document.body.dataset.shownTs !== '1758744000001831743');
    const next = (await shownTs(page))!;
    await page.waitForFunction((t) => document.querySelector('#chart .u-legend .u-value')?.textContent === t, `${new Date(Number(BigInt(next) / 1_000_000n)).toISOString().slice(11, 19)}.${next.slice(-9)}`);
    const [nextTop] = await ladder(page);
    expect(await legend()).toMatchObject({ 'Best bid': nextTop.bid!.shown, 'Best ask': nextTop.ask!.shown });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('clicking a level shows its queue (orders front first, sizes, size ahead, age) as the orders API has it, at the instant shown and while a replay runs', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${open.url}/?symbol=CLX5&at=2025-09-24T20:00:00Z`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.shownTs !== undefined);
    const at = (await shownTs(page))!;
    /** The queue as shown: [position, order id, size, ahead, age] per row. */
    const shownQueue = () => page.$$eval('#queue tbody tr', (rows) => rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    /** The same from the API, at the instant the panel says. */
    const apiQueue = async (side: 'bids' | 'asks', price: string, ts: string) => {
      const book = (await (await fetch(`${open.url}/v1/books/CLX5/orders?at=${ts}&depth=10`)).json()) as Record<'bids' | 'asks', Array<{ price: string; orders: Array<{ order_id: string; size: number; size_ahead: number; position: number; ts_recv: string }> }>>;
      const level = book[side].find((l) => l.price === price);
      const { ageText } = await import('../../web/src/queue.js');
      return level?.orders.map((o) => [String(o.position), o.order_id, String(o.size), String(o.size_ahead), ageText(BigInt(ts) - BigInt(o.ts_recv))]) ?? null;
    };
    // The best bid: 64.80 with 9 orders at 20:00.
    await page.click('#ladder tbody tr[data-level="0"] .bid-price');
    await page.waitForFunction((ts) => document.body.dataset.queueAt === ts, at);
    expect(await page.$eval('#queue', (q) => [(q as HTMLElement).hidden, (q as HTMLElement).dataset.side, (q as HTMLElement).dataset.price])).toEqual([false, 'bid', '64.800000000']);
    expect(await page.$eval('#ladder tbody tr[data-level="0"] .bid-price', (td) => td.classList.contains('picked'))).toBe(true);
    const rows = await shownQueue();
    expect(rows).toHaveLength(9);
    expect(rows).toEqual(await apiQueue('bids', '64.800000000', at));
    expect(rows[0].slice(0, 4)).toEqual(['0', '8058566404888', '1', '0']);
    expect(rows[0][4]).toBe('8 m 17 s'); // in the queue since 19:51:42.587
    await page.screenshot({ path: join(SHOTS, 'queue-at-2000Z.png') });
    // An ask level deeper in the book, by its size cell.
    await page.click('#ladder tbody tr[data-level="2"] .ask-size');
    await page.waitForFunction(() => document.getElementById('queue')!.dataset.side === 'ask');
    const askPrice = (await page.$eval('#queue', (q) => q.dataset.price))!;
    await page.waitForFunction((ts) => document.body.dataset.queueAt === ts, at);
    expect(await shownQueue()).toEqual(await apiQueue('asks', askPrice, at));
    // While a replay runs, the queue follows the books it draws.
    await page.click('#ladder tbody tr[data-level="0"] .bid-price');
    await page.selectOption('#speed', '10');
    await page.click('#play');
    await page.waitForFunction((ts) => BigInt(document.body.dataset.queueAt ?? '0') > BigInt(ts) + 1_000_000_000n, at, { timeout: 30_000 });
    await page.click('#play'); // pause
    await page.waitForFunction(() => document.getElementById('replay-status')!.dataset.state === 'paused');
    await page.waitForTimeout(500); // the last queue request lands
    const queueAt = (await page.$eval('#queue', (q) => q.dataset.at))!;
    expect(queueAt).toBe(await shownTs(page));
    const price = (await page.$eval('#queue', (q) => q.dataset.price))!;
    const expected = await apiQueue('bids', price, queueAt);
    if (expected === null) expect(await page.textContent('#queue .queue-note')).toBe('no level at this price at this instant');
    else expect(await shownQueue()).toEqual(expected);
    await page.screenshot({ path: join(SHOTS, 'queue-replaying.png') });
    await page.click('#queue .queue-close');
    expect(await page.$eval('#queue', (q) => (q as HTMLElement).hidden)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('Bull Board: a browser without the write token is asked for it (Basic); with it as the password, any user name, the board', async () => {
    const anonymous = await browser.newContext();
    const tab = await anonymous.newPage();
    // Chromium asks for credentials (the login prompt): with none to give, Playwright cancels it.
    await expect(tab.goto(`${open.url}/admin/queues`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    // A read's 401 (Bearer only) is no prompt: the page is answered, for the book page to ask with its own form.
    expect((await (await anonymous.newPage()).goto(`${guarded.url}/v1/instruments`))!.status()).toBe(401);
    await anonymous.close();
    // What a person types at the prompt: any user name, the token as the password.
    const signedIn = await browser.newContext({ httpCredentials: { username: 'me', password: WRITE_TOKEN } });
    const page = await signedIn.newPage();
    const board = await page.goto(`${open.url}/admin/queues`);
    expect(board!.status()).toBe(200);
    await page.waitForFunction(() => document.body.textContent?.includes('ingest'), undefined, { timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'bull-board.png') });
    await signedIn.close();
  });

  it('an unknown symbol in the URL shows the API error as a message', async () => {
    const { page } = await newPage();
    await page.goto(`${open.url}/?symbol=NOPE`);
    const error = page.locator('#error');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toContain('no instrument named NOPE');
    expect(await error.textContent()).toContain('UNKNOWN_SYMBOL');
    await page.screenshot({ path: join(SHOTS, 'unknown-symbol.png') });
    await page.close();
  });

  it('with a read token set, the page asks for it once and sends it; a replay cut by the server stopping is reported as cut', async () => {
    const { page } = await newPage();
    await page.goto(`${guarded.url}/`);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    expect(await page.textContent('#error')).toContain('UNAUTHORIZED');
    await page.screenshot({ path: join(SHOTS, 'token-asked.png') });
    await page.fill('#token', READ_TOKEN);
    await page.press('#token', 'Enter');
    await page.waitForFunction(() => document.querySelector('#ladder .bid-price')?.textContent === '65.40');
    expect(await page.locator('#token-form').isVisible()).toBe(false);
    expect(await page.locator('#error').isVisible()).toBe(false);
    // A reload keeps the token for the tab: not asked again.
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    expect(await page.locator('#token-form').isVisible()).toBe(false);
    // Replay from the start as recorded (2.5 hours), then stop the server under it.
    await page.fill('#instant', '2025-09-24T19:30:01Z');
    await page.press('#instant', 'Enter');
    // Play at once, before that book is drawn: the replay starts from the instant asked for.
    await page.selectOption('#speed', '1');
    await page.click('#play');
    await page.waitForFunction(() => /replaying: [1-9]/.test(document.getElementById('replay-status')!.textContent ?? ''));
    expect(await guarded.stop()).toBe(0);
    await page.waitForFunction(() => document.getElementById('replay-status')!.dataset.state === 'cut', undefined, { timeout: 15_000 });
    expect(await page.textContent('#replay-status')).toMatch(/cut after \d+ frames: no end marker/);
    await page.screenshot({ path: join(SHOTS, 'replay-cut.png') });
    await page.close();
  });
});
