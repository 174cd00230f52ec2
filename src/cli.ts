#!/usr/bin/env node
import { createWriteStream, readFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Command } from 'commander';
import { CompressStream } from 'zstd-napi';
import { schemaName, stypeName } from './dbn/constants.js';
import { requireMbo } from './book/rebuild.js';
import { writeSynthetic } from './dbn/synth.js';
import type { RecordCounts } from './dbn/framing.js';
import { writeDecoded, type DecodeFormat } from './cli/decode.js';
import { formatOrders, reconstructedBooks, reconstructedOrders, writeMbp, type MbpFormat, type OrdersFormat } from './cli/book.js';
import { mbpLevelsOf, writeMbpRecords } from './cli/mbp-input.js';
import { UsageError, reportCliError } from './cli/errors.js';
import { checkOutputPath, openInputFile, refuseBinaryToTty } from './cli/files.js';
import { ProgressLine } from './cli/progress.js';
import { parseDuration, parseInstant } from './time.js';
import { nonNegativeInt, oneOf, positiveInt } from './cli/options.js';
import { loadEnvFile } from './cli/env-file.js';
import { withDatabentoOptions, type DatabentoFlags } from './cli/databento-options.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command();
// Usage errors are one line on stderr and exit 2 (reportCliError), not the
// whole help: commander throws instead of exiting, and prints nothing itself.
// Subcommands inherit both settings from here.
program
  .name('booktape')
  .description('Databento MBO (DBN) files to order-book history: decode, rebuild books, store, replay')
  .version(version, '-V, --version', 'print the version')
  .exitOverride()
  .configureOutput({ outputError: () => undefined });

program
  .command('meta')
  .description('print the DBN metadata of FILE as JSON (plain or zstd, any schema)')
  .argument('<file>', 'a .dbn or .dbn.zst file')
  .action(async (file: string) => {
    const stream = await openInputFile(file);
    await stream.close();
    // Enums by Databento's names, as their own metadata JSON prints them.
    const m = stream.metadata;
    const named = { ...m, schema: schemaName(m.schema), stype_in: stypeName(m.stype_in), stype_out: stypeName(m.stype_out) };
    process.stdout.write(JSON.stringify(named, null, 1) + '\n');
  });

program
  .command('decode')
  .description(
    'print MBO records one per line, in Databento JSON (header fields flattened, u64/i64 as decimal strings) or CSV; an MBP-1 or MBP-10 file prints its MBP records in the shape `mbp` writes; other rtypes are skipped and counted on stderr',
  )
  .argument('<file>', 'a .dbn or .dbn.zst file of schema mbo, mbp-1 or mbp-10')
  .option('--limit <n>', 'stop after N records', positiveInt('--limit'))
  .option('--format <format>', 'json or csv', oneOf('--format', ['json', 'csv'] as const), 'json')
  .action(async (file: string, opts: { limit?: number; format: DecodeFormat }) => {
    const stream = await openInputFile(file);
    const levels = mbpLevelsOf(stream.metadata);
    if (levels !== null) {
      const { skipped } = await writeMbpRecords(stream, process.stdout, { levels, depth: levels, format: opts.format, limit: opts.limit });
      reportSkipped(skipped, 'MBP');
      return;
    }
    // As book and mbp do: a file of another schema is refused, not printed as nothing.
    // A mixed-schema file (schema null) is decoded, its other records counted.
    try {
      requireMbo(stream.metadata);
    } catch (err) {
      await stream.close();
      throw err;
    }
    const counts = await writeDecoded(stream, process.stdout, { format: opts.format, limit: opts.limit ?? Infinity });
    reportSkipped(counts, 'MBO');
  });

/** Records of other rtypes that decode left out, on stderr so they never mix with the data on stdout. */
function reportSkipped(counts: RecordCounts, printed: 'MBO' | 'MBP'): void {
  if (counts.other.size > 0) process.stderr.write(`booktape: skipped non-${printed} records by rtype: ${JSON.stringify(counts.toJSON())}\n`);
}

function depthOption(value: string): number {
  if (value === 'all') return Infinity;
  return positiveInt('--depth')(value);
}

program
  .command('book')
  .description('rebuild the L3 book and print it as JSON: per instrument and publisher, bids and asks best-first with price (decimal string, 9 places), size and order count, plus anomaly counts; --orders lists each level\'s resting orders in queue order')
  .argument('<file>', 'an MBO .dbn or .dbn.zst file')
  .option('--depth <n>', 'levels per side, or "all"', depthOption, 10)
  .option('--at <time>', 'stop after the last record with ts_recv at or before TIME (ISO-8601 with a zone, or ns since the epoch)')
  .option('--orders', 'each level\'s resting orders, front of the queue first: order_id, size, size ahead, and the ts_recv at which it took its place')
  .option('--format <format>', 'with --orders: text (default), json or csv; without: json', oneOf('--format', ['text', 'json', 'csv'] as const))
  .option('--verify', 'check every book invariant after every record (slow); stops at the first violation')
  .action(async (file: string, opts: { depth: number; at?: string; orders?: boolean; format?: OrdersFormat; verify?: boolean }) => {
    let at: bigint | undefined;
    if (opts.at !== undefined) {
      const parsed = parseInstant(opts.at);
      if (parsed === null) throw new UsageError('BAD_TIME', `--at "${opts.at}" is not a time: use an instant from 1970 to 2554 as ISO-8601 with a zone (2025-09-24T21:00:00.5Z) or integer ns since the epoch`);
      at = parsed;
    }
    if (!opts.orders && opts.format !== undefined && opts.format !== 'json') {
      throw new UsageError('NEEDS_ORDERS', `--format ${opts.format} lists orders: add --orders (the book without them is JSON)`);
    }
    const progress = new ProgressLine('book:');
    const stream = await openInputFile(file);
    const rebuildOpts = { depth: opts.depth, at, verify: opts.verify, onProgress: (n: number) => progress.report(n) };
    if (opts.orders) {
      const out = await reconstructedOrders(stream, rebuildOpts);
      progress.end();
      process.stdout.write(formatOrders(out, opts.format ?? 'text'));
      return;
    }
    const out = await reconstructedBooks(stream, rebuildOpts);
    progress.end();
    process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  });

program
  .command('mbp')
  .description('write MBP-N depth snapshots: after every F_LAST event, or sampled with --every. JSON lines and CSV in Databento\'s MBP shape and names; --format dbn writes DBN MBP-10 records. An MBP-10 or MBP-1 file is written again as it is (or cut to MBP-1 with --depth 1)')
  .argument('<file>', 'an MBO .dbn or .dbn.zst file, or an MBP-1 or MBP-10 one')
  .option('--depth <n>', 'levels per side (default 10; an MBP file\'s own depth)', positiveInt('--depth'))
  .option('--every <interval>', 'sample: at most one snapshot per book per interval (e.g. 100ms, 1s), only when the top levels changed')
  .option('--format <format>', 'json, csv or dbn', oneOf('--format', ['json', 'csv', 'dbn'] as const), 'json')
  .option('--verify', 'check every book invariant after every record (slow)')
  .action(async (file: string, opts: { depth?: number; every?: string; format: MbpFormat; verify?: boolean }) => {
    let intervalNs = 0;
    if (opts.every !== undefined) {
      const parsed = parseDuration(opts.every);
      if (parsed === null) throw new UsageError('BAD_INTERVAL', `--every "${opts.every}" is not an interval: use a number with ns, us, ms, s or m (e.g. 100ms)`);
      intervalNs = parsed;
    }
    const stream = await openInputFile(file);
    const levels = mbpLevelsOf(stream.metadata);
    const depth = opts.depth ?? levels ?? 10;
    try {
      if (opts.format === 'dbn' && depth !== 1 && depth !== 10) {
        throw new UsageError('BAD_DEPTH', '--format dbn writes MBP-1 or MBP-10 records, the depths Databento has: use --depth 1 or --depth 10');
      }
      if (opts.format === 'dbn') refuseBinaryToTty('--format dbn');
      if (levels !== null && depth !== 1 && depth !== levels) {
        throw new UsageError('BAD_DEPTH', `${file} holds MBP-${levels} records (${levels} level${levels > 1 ? 's' : ''} a side): write them at --depth ${levels}${levels > 1 ? ' or 1' : ''}`);
      }
      if (levels !== null && (opts.every !== undefined || opts.verify)) {
        throw new UsageError('NOT_MBO_OPTION', `${opts.every !== undefined ? '--every' : '--verify'} works on books rebuilt from MBO; ${file} is MBP-${levels}, already snapshots`);
      }
    } catch (err) {
      await stream.close();
      throw err;
    }
    if (levels !== null) {
      const { written } = await writeMbpRecords(stream, process.stdout, { levels, depth: depth as 1 | 10, format: opts.format });
      process.stderr.write(`booktape: wrote ${written} snapshots\n`);
      return;
    }
    const progress = new ProgressLine('mbp:');
    const n = await writeMbp(stream, process.stdout, {
      depth, intervalNs, format: opts.format, verify: opts.verify, onProgress: (r) => progress.report(r),
    });
    progress.end();
    process.stderr.write(`booktape: wrote ${n} snapshots\n`);
  });

// The service commands load their modules on use (see cli/services.ts).
const services = () => import('./cli/services.js');

withDatabentoOptions(program
  .command('ingest')
  .description('run the pipeline in this process (no Redis needed): source -> books -> snapshots and trades in the configured store; prints the run summary as JSON')
  .argument('[source]', 'a file under BOOKTAPE_DATA_ROOTS, an http(s) URL whose host is in BOOKTAPE_URL_ALLOW_HOSTS, or a databento: request; or --databento ...'), true)
  .action(async (source: string | undefined, opts: DatabentoFlags) => (await services()).ingestCommand(source, opts));

withDatabentoOptions(program
  .command('enqueue')
  .description('queue an ingest job on Redis (REDIS_URL); the same content already queued or ingested returns its existing job')
  .argument('[source]', 'a file path (as the workers see it), an http(s) URL, or a databento: request; or --databento ...')
  .option('--force', 'queue a new run even if this content was already ingested'), true)
  .action(async (source: string | undefined, opts: DatabentoFlags & { force?: boolean }) => (await services()).enqueueCommand(source, opts));

withDatabentoOptions(program
  .command('backfill')
  .description('queue one Databento ingest job per whole UTC day from FIRST to LAST (both included), for the dataset and symbols of the options or of BOOKTAPE_DATABENTO_*; days queued or ingested before are not bought again; prints a JSON line per day')
  .argument('<first>', 'first UTC day, e.g. 2024-06-03')
  .argument('<last>', 'last UTC day')
  .option('--force', 'queue days already ingested again'), false)
  .action(async (first: string, last: string, opts: DatabentoFlags & { force?: boolean }) => (await services()).backfillCommand(first, last, opts));

program
  .command('worker')
  .description('process ingest jobs from Redis until SIGTERM/SIGINT; also scans BOOKTAPE_INBOX when BOOKTAPE_SCAN_EVERY or BOOKTAPE_SCAN_CRON is set, and runs the Databento schedule when BOOKTAPE_DATABENTO_CRON is set')
  .action(async () => (await services()).workerCommand());

program
  .command('serve')
  .description('serve the HTTP API (PORT) and the TCP replay (BOOKTAPE_TCP_PORT) until SIGTERM/SIGINT; with the DuckDB store, ingest jobs run in this process')
  .action(async () => (await services()).serveCommand());

program
  .command('demo')
  .description('ingest the bundled CLX5 sample into the embedded store (no Redis or QuestDB needed), then serve it')
  .action(async () => (await services()).demoCommand());

program
  .command('replay')
  .description('replay stored snapshots from a running server (booktape serve, the demo) to stdout, over HTTP or the TCP port: NDJSON lines (a header, the frames, an end line) or DBN; says on stderr how long a paced replay takes and how it ended')
  .option('--url <url>', 'the server\'s HTTP address (default: http://localhost:PORT, PORT from the environment or 8080)')
  .option('--tcp [address]', 'use the TCP replay port instead: [host:]port (no value: localhost:BOOKTAPE_TCP_PORT, default 7070)')
  .option('--symbols <list>', 'comma-separated raw symbols (default: all)')
  .option('--from <time>', 'first ts_recv, inclusive (ISO-8601 with a zone, or ns since the epoch)')
  .option('--to <time>', 'last ts_recv, inclusive')
  .option('--after <key>', 'resume after this frame: ts_recv,instrument_id,publisher_id,sequence,sub_sequence')
  .option('--depth <n>', 'levels per side (1 to 50; dbn: 1 or 10)')
  .option('--publisher-id <id>', 'one publisher\'s books, where a symbol has several')
  .option('--rate <n>', 'frames per second (default: as fast as possible)')
  .option('--speed <x>', 'a multiple of recorded time (1 = as recorded), instead of --rate')
  .option('--format <format>', 'ndjson or dbn', oneOf('--format', ['ndjson', 'dbn'] as const), 'ndjson')
  .option('--token <token>', 'the server\'s read token (default: BOOKTAPE_READ_TOKEN)')
  .action(async (opts: import('./cli/replay.js').ReplayOptions) => (await import('./cli/replay.js')).replayCommand(opts));

program
  .command('synth')
  .description('write a deterministic, realistic synthetic MBO file (for benchmarks and load tests)')
  .argument('<out>', 'output path')
  .requiredOption('--records <n>', 'number of MBO records', positiveInt('--records'))
  .option('--seed <s>', 'PRNG seed: the same seed writes the same bytes', nonNegativeInt('--seed'), 1)
  .option('--instruments <k>', 'number of instruments (odd ones also trade on a second publisher)', positiveInt('--instruments'), 4)
  .option('--zstd', 'compress the output with zstd')
  .action(async (out: string, opts: { records: number; seed: number; instruments: number; zstd?: boolean }) => {
    await checkOutputPath(out);
    const started = performance.now();
    const file = createWriteStream(out);
    let sink: NodeJS.WritableStream & import('node:stream').Writable = file;
    if (opts.zstd) {
      // With a content checksum, as Databento writes its files: damage is then an error, not wrong values.
      const compressor = new CompressStream({ checksumFlag: true });
      compressor.pipe(file);
      sink = compressor;
    }
    const progress = new ProgressLine('synth:');
    const summary = await writeSynthetic(sink, { ...opts, onProgress: (n) => progress.report(n, n / opts.records) });
    progress.end();
    sink.end();
    await finished(file);
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(
      `booktape: wrote ${summary.records} records (${summary.events} events, ${summary.books} books) to ${out} in ${seconds.toFixed(1)} s\n`,
    );
  });

async function main(): Promise<void> {
  loadEnvFile();
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  // The line is written (stderr is synchronous for files, pipes and terminals);
  // exit now rather than after whatever retry timers a failed connection left.
  process.exit(reportCliError(err));
});

// `booktape decode big.dbn | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
