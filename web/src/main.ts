import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, getJson, readToken, setReadToken } from './api.js';
import { everyFor } from './buckets.js';
import type { BboChart, Window } from './chart.js';
import { Ladder } from './ladder.js';
import { bookOf, type BboJson, type Book, type BookJson, type Instrument, type OrdersJson } from './model.js';
import { QueuePanel, type QueuePick } from './queue.js';
import { Replay, type ReplayStatus } from './replay.js';
import { formatInstant, parseInstant } from '../../src/time.js';

/**
 * The book page: pick an instrument, see its ladder at any instant (slider,
 * typed ISO instant, previous / next snapshot), replay it at a speed, and
 * chart its best bid and ask. State that a link should keep (symbol,
 * publisher, instant) lives in the URL's query.
 */
const DEPTH = 10;
const SLIDER_STEPS = 100_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  instrument: $<HTMLSelectElement>('instrument'),
  publisherField: $<HTMLElement>('publisher-field'),
  publisher: $<HTMLSelectElement>('publisher'),
  range: $<HTMLElement>('range'),
  error: $<HTMLElement>('error'),
  tokenForm: $<HTMLFormElement>('token-form'),
  token: $<HTMLInputElement>('token'),
  slider: $<HTMLInputElement>('slider'),
  prev: $<HTMLButtonElement>('prev'),
  next: $<HTMLButtonElement>('next'),
  instantForm: $<HTMLFormElement>('instant-form'),
  instant: $<HTMLInputElement>('instant'),
  play: $<HTMLButtonElement>('play'),
  speed: $<HTMLSelectElement>('speed'),
  replayStatus: $<HTMLElement>('replay-status'),
};

// Asked for before anything else is set up: the first paint waits on it.
let instrumentsRequest: Promise<Instrument[]> = getJson<Instrument[]>('/v1/instruments');
instrumentsRequest.catch(() => undefined); // start() reports it

const ladder = new Ladder($('ladder'), DEPTH, (pick) => pickQueue(pick));
const queue = new QueuePanel($('queue'), () => pickQueue(null));
/** Made once the first book is drawn, so that neither its code nor its data delays it. */
let chart: BboChart | null = null;

interface Selection {
  symbol: string;
  /** Set when the symbol has more than one publisher. */
  publisherId?: number;
  first: bigint;
  last: bigint;
}
let instruments: Instrument[] = [];
let selection: Selection | null = null;
let shown: Book | null = null;

// ---- errors and the read token -------------------------------------------

function showError(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    ui.tokenForm.hidden = false;
    ui.token.focus();
  }
  const text = err instanceof ApiError ? `${err.detail} (${err.code})` : String((err as Error)?.message ?? err);
  ui.error.textContent = text;
  ui.error.hidden = false;
}

function clearError(): void {
  ui.error.hidden = true;
  ui.error.textContent = '';
}

ui.tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  setReadToken(ui.token.value);
  ui.token.value = '';
  ui.tokenForm.hidden = true;
  clearError();
  instrumentsRequest = getJson<Instrument[]>('/v1/instruments');
  void start();
});

// ---- the book at an instant ----------------------------------------------

const bookPath = (s: Selection, at?: bigint) => {
  const q = new URLSearchParams({ depth: String(DEPTH) });
  if (at !== undefined) q.set('at', at.toString());
  if (s.publisherId !== undefined) q.set('publisher_id', String(s.publisherId));
  return `/v1/books/${encodeURIComponent(s.symbol)}?${q}`;
};

/** Shows a book at the next animation frame (the latest one asked for wins). */
let drawPending: Book | null = null;
function show(book: Book): void {
  shown = book;
  if (drawPending === null) requestAnimationFrame(() => {
    const b = drawPending!;
    drawPending = null;
    ladder.render(b);
    chart?.mark(b);
    if (picked !== null) void loadQueue(BigInt(b.tsRecv));
    // For tests and the curious: what is drawn, how often, and when the first book was.
    const body = document.body.dataset;
    body.shownTs = b.tsRecv;
    body.renders = String(Number(body.renders ?? 0) + 1);
    body.firstPaintMs ??= performance.now().toFixed(0);
    body.renderedAt = performance.now().toFixed(1);
  });
  drawPending = book;
  rememberInUrl();
}

/**
 * Asks for the book at `at` (default: the latest). One request at a time:
 * while one is out, later asks replace each other and only the last is sent,
 * so a dragged slider never queues requests behind the server.
 */
const NONE = Symbol('none');
let wanted: bigint | undefined | typeof NONE = NONE;
let asking = false;
async function goTo(at: bigint | undefined, moveSlider = true): Promise<void> {
  if (selection === null) return;
  if (at !== undefined) {
    ui.instant.value = formatInstant(at);
    if (moveSlider) placeSlider(at);
  }
  wanted = at;
  if (asking) return;
  asking = true;
  try {
    while (wanted !== NONE) {
      const t = wanted;
      wanted = NONE;
      try {
        const book = bookOf(await getJson<BookJson>(bookPath(selection, t)));
        clearError();
        show(book);
        if (t === undefined) {
          ui.instant.value = formatInstant(BigInt(book.tsRecv));
          placeSlider(BigInt(book.tsRecv));
        }
      } catch (err) {
        showError(err);
      }
    }
  } finally {
    asking = false;
  }
}

function placeSlider(at: bigint): void {
  if (selection === null) return;
  const span = selection.last - selection.first;
  const pos = span === 0n ? 0n : ((at - selection.first) * BigInt(SLIDER_STEPS)) / span;
  ui.slider.value = String(Math.max(0, Math.min(SLIDER_STEPS, Number(pos))));
}

function sliderInstant(): bigint {
  const s = selection!;
  return s.first + ((s.last - s.first) * BigInt(ui.slider.value)) / BigInt(SLIDER_STEPS);
}

ui.slider.addEventListener('input', () => { stopReplay(); void goTo(sliderInstant(), false); });

ui.instantForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const at = parseInstant(ui.instant.value);
  if (at === null) {
    showError(new Error(`"${ui.instant.value}" is not an instant: give ISO-8601 with a zone (2025-09-24T20:00:00.123456789Z) or integer ns since the epoch`));
    return;
  }
  stopReplay();
  void goTo(at);
});

ui.prev.addEventListener('click', () => {
  stopReplay();
  if (shown !== null) void goTo(BigInt(shown.tsRecv) - 1n);
});

ui.next.addEventListener('click', async () => {
  stopReplay();
  if (selection === null || shown === null) return;
  // The next instant with a snapshot of the symbol; the book there is then read as any other.
  const q = new URLSearchParams({ from: (BigInt(shown.tsRecv) + 1n).toString(), limit: '1', depth: '1', format: 'json' });
  try {
    const [next] = await getJson<Array<{ ts_recv: string }>>(`/v1/books/${encodeURIComponent(selection.symbol)}/snapshots?${q}`);
    if (next === undefined) showError(new Error('this is the last snapshot'));
    else void goTo(BigInt(next.ts_recv));
  } catch (err) {
    showError(err);
  }
});

// ---- a level's queue (L3) --------------------------------------------------

/** The level whose queue is shown; its orders follow the book shown (a replay's too). */
let picked: QueuePick | null = null;

function pickQueue(pick: QueuePick | null): void {
  picked = pick;
  ladder.pick(pick);
  if (pick === null) queue.hide();
  else if (shown !== null) void loadQueue(BigInt(shown.tsRecv));
}

const ordersPath = (s: Selection, at: bigint) => {
  const q = new URLSearchParams({ depth: String(DEPTH), at: at.toString() });
  if (s.publisherId !== undefined) q.set('publisher_id', String(s.publisherId));
  return `/v1/books/${encodeURIComponent(s.symbol)}/orders?${q}`;
};

/**
 * Reads the picked level's orders at `at`. As goTo does, one request at a
 * time, the latest instant asked for sent next: a replay drawing many books a
 * second shows the queue as often as the server answers, never a backlog.
 */
let queueWanted: bigint | null = null;
let queueAsking = false;
async function loadQueue(at: bigint): Promise<void> {
  queueWanted = at;
  if (queueAsking) return;
  queueAsking = true;
  try {
    while (queueWanted !== null && picked !== null && selection !== null) {
      const t: bigint = queueWanted;
      queueWanted = null;
      const pick = picked;
      try {
        const book = await getJson<OrdersJson>(ordersPath(selection, t));
        if (picked !== pick) continue; // another level was picked meanwhile
        const levels = pick.side === 'bid' ? book.bids : book.asks;
        queue.render(pick, levels.find((l) => l.price === pick.price) ?? null, t);
        document.body.dataset.queueAt = t.toString();
      } catch (err) {
        queue.failed(pick, err instanceof ApiError ? `${err.detail} (${err.code})` : String((err as Error)?.message ?? err));
      }
    }
  } finally {
    queueAsking = false;
  }
}

// ---- replay ----------------------------------------------------------------

const replay = new Replay(
  (book) => {
    show(book);
    ui.instant.value = formatInstant(BigInt(book.tsRecv));
    placeSlider(BigInt(book.tsRecv));
  },
  (s) => showReplayStatus(s),
);

function showReplayStatus(s: ReplayStatus): void {
  const text = {
    playing: `replaying: ${s.frames} frames`,
    ended: `replay ended: ${s.frames} frames, end marker received`,
    paused: `paused after ${s.frames} frames`,
    cut: `the stream was cut after ${s.frames} frames: no end marker (the server stopped or the connection dropped)`,
    failed: `replay failed after ${s.frames} frames: ${'detail' in s ? s.detail : ''}`,
  }[s.state];
  ui.replayStatus.textContent = text;
  ui.replayStatus.dataset.state = s.state;
  ui.play.textContent = s.state === 'playing' ? 'Pause' : 'Play';
  // A cut replay resumes after its last frame; one that ended or failed starts afresh.
  if (s.state === 'cut') replayFrom = replay.lastKey;
  if (s.state === 'ended' || s.state === 'failed') replayFrom = null;
}

/** Where Play resumes: after the last frame a paused or cut replay received; null: from the instant shown. */
let replayFrom: string | null = null;

function stopReplay(): void {
  replay.stop();
  replayFrom = null;
}

ui.play.addEventListener('click', () => {
  if (replay.playing) {
    replay.stop();
    replayFrom = replay.lastKey;
    return;
  }
  if (selection === null) return;
  // From the instant asked for last (the book shown is the one at it, or is on its way).
  const asked = parseInstant(ui.instant.value);
  const from = asked !== null ? asked + 1n : shown === null ? selection.first : BigInt(shown.tsRecv) + 1n;
  void replay.play({
    symbol: selection.symbol, publisherId: selection.publisherId, depth: DEPTH, speed: Number(ui.speed.value),
    ...(replayFrom !== null ? { after: replayFrom } : { from: from.toString() }),
  });
});

// ---- chart -----------------------------------------------------------------

let chartRequest: AbortController | null = null;
/** Loads the chart over a window (null: the instrument's whole range), in about a thousand buckets. */
async function loadChart(w: Window | null): Promise<void> {
  if (selection === null) return;
  const from = w === null ? selection.first : BigInt(Math.floor(w.min * 1e6)) * 1000n;
  const to = w === null ? selection.last : BigInt(Math.ceil(w.max * 1e6)) * 1000n;
  if (to <= from) return;
  // The chart's code (uPlot) is a chunk of its own, loaded after the first book is drawn.
  const { BboChart } = await import('./chart.js');
  chart ??= new BboChart($('chart'), (zoomed) => void loadChart(zoomed), () => void loadChart(null), (ns) => { stopReplay(); void goTo(ns); });
  chartRequest?.abort();
  const request = (chartRequest = new AbortController());
  const q = new URLSearchParams({ from: from.toString(), to: to.toString(), every: everyFor(to - from) });
  if (selection.publisherId !== undefined) q.set('publisher_id', String(selection.publisherId));
  try {
    const bbo = await getJson<BboJson>(`/v1/books/${encodeURIComponent(selection.symbol)}/bbo?${q}`, request.signal);
    chart!.show(bbo.buckets, { min: Number(from / 1000n) / 1e6, max: Number(to / 1000n) / 1e6 });
  } catch (err) {
    if ((err as Error).name !== 'AbortError') showError(err);
  }
}

// ---- instrument and URL ----------------------------------------------------

let urlTimer = 0;
function rememberInUrl(): void {
  clearTimeout(urlTimer);
  urlTimer = window.setTimeout(() => {
    if (selection === null) return;
    const q = new URLSearchParams({ symbol: selection.symbol });
    if (selection.publisherId !== undefined) q.set('publisher', String(selection.publisherId));
    if (shown !== null) q.set('at', shown.tsRecv);
    history.replaceState(null, '', `?${q}`);
  }, 300);
}

function select(symbol: string, publisherId: number | undefined): Selection {
  const books = instruments.filter((i) => i.symbol === symbol);
  const publishers = [...new Set(books.map((i) => i.publisher_id))];
  ui.publisherField.hidden = publishers.length < 2;
  ui.publisher.replaceChildren(...publishers.map((p) => new Option(`publisher ${p}`, String(p))));
  const publisher = publishers.length < 2 ? undefined : publishers.includes(publisherId ?? -1) ? publisherId : publishers[0];
  if (publisher !== undefined) ui.publisher.value = String(publisher);
  const mine = books.filter((i) => publisher === undefined || i.publisher_id === publisher);
  const first = mine.reduce((m, i) => (BigInt(i.first_ts_recv) < m ? BigInt(i.first_ts_recv) : m), BigInt(mine[0]?.first_ts_recv ?? 0));
  const last = mine.reduce((m, i) => (BigInt(i.last_ts_recv) > m ? BigInt(i.last_ts_recv) : m), 0n);
  const snapshots = mine.reduce((n, i) => n + i.snapshots, 0);
  ui.range.textContent = mine.length === 0 ? '' : `${formatInstant(first)} to ${formatInstant(last)}, ${snapshots.toLocaleString('en')} snapshots`;
  return { symbol, publisherId: publisher, first, last };
}

async function open(symbol: string, publisherId: number | undefined, at: bigint | undefined): Promise<void> {
  stopReplay();
  pickQueue(null);
  shown = null;
  selection = select(symbol, publisherId);
  document.title = `${symbol}: booktape`;
  await goTo(at);
  await loadChart(null);
  const drawn = shown as Book | null; // set by goTo, meanwhile
  if (drawn !== null) chart?.mark(drawn);
}

ui.instrument.addEventListener('change', () => void open(ui.instrument.value, undefined, undefined));
ui.publisher.addEventListener('change', () => void open(selection!.symbol, Number(ui.publisher.value), shown === null ? undefined : BigInt(shown.tsRecv)));

async function start(): Promise<void> {
  try {
    instruments = await instrumentsRequest;
  } catch (err) {
    showError(err);
    return;
  }
  const symbols = [...new Set(instruments.map((i) => i.symbol).filter((s): s is string => s !== null))];
  ui.instrument.replaceChildren(...symbols.map((s) => new Option(s, s)));
  const params = new URLSearchParams(location.search);
  const symbol = params.get('symbol') ?? symbols[0];
  if (symbol === undefined) {
    showError(new Error('the store holds no instrument yet: ingest a file (booktape ingest <file>, or POST /v1/ingest)'));
    return;
  }
  if (!symbols.includes(symbol)) ui.instrument.append(new Option(symbol, symbol));
  ui.instrument.value = symbol;
  const at = params.get('at') === null ? undefined : parseInstant(params.get('at')!) ?? undefined;
  const publisher = params.get('publisher') === null ? undefined : Number(params.get('publisher'));
  await open(symbol, publisher, at);
  document.body.dataset.ready = 'true';
}

if (readToken() !== null) ui.tokenForm.hidden = true;
void start();
