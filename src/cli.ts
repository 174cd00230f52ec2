#!/usr/bin/env node
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Command } from 'commander';
import { CompressStream } from 'zstd-napi';
import { openDbnFile } from './dbn/reader.js';
import { writeSynthetic } from './dbn/synth.js';
import { writeDecoded, type DecodeFormat } from './cli/decode.js';
import { reportCliError } from './cli/errors.js';
import { LineWriter } from './cli/line-writer.js';
import { nonNegativeInt, oneOf, positiveInt } from './cli/options.js';

const program = new Command();
program
  .name('booktape')
  .description('Databento MBO (DBN) files to order-book history: decode, rebuild books, store, replay')
  .showHelpAfterError();

program
  .command('meta')
  .description('print the DBN metadata of FILE as JSON (plain or zstd, any schema)')
  .argument('<file>', 'a .dbn or .dbn.zst file')
  .action(async (file: string) => {
    const stream = await openDbnFile(file);
    await stream.batches.return(undefined);
    process.stdout.write(JSON.stringify(stream.metadata, null, 1) + '\n');
  });

program
  .command('decode')
  .description(
    'print MBO records one per line, in Databento JSON (header fields flattened, u64/i64 as decimal strings) or CSV; other rtypes are skipped and counted on stderr',
  )
  .argument('<file>', 'a .dbn or .dbn.zst file')
  .option('--limit <n>', 'stop after N records', positiveInt('--limit'))
  .option('--format <format>', 'json or csv', oneOf('--format', ['json', 'csv'] as const), 'json')
  .action(async (file: string, opts: { limit?: number; format: DecodeFormat }) => {
    const stream = await openDbnFile(file);
    const out = new LineWriter(process.stdout);
    const counts = await writeDecoded(stream, out, { format: opts.format, limit: opts.limit ?? Infinity });
    await out.flush();
    if (counts.other.size > 0) process.stderr.write(`booktape: skipped non-MBO records by rtype: ${JSON.stringify(counts.toJSON())}\n`);
  });

program
  .command('synth')
  .description('write a deterministic, realistic synthetic MBO file (for benchmarks and load tests)')
  .argument('<out>', 'output path')
  .requiredOption('--records <n>', 'number of MBO records', positiveInt('--records'))
  .option('--seed <s>', 'PRNG seed: the same seed writes the same bytes', nonNegativeInt('--seed'), 1)
  .option('--instruments <k>', 'number of instruments (odd ones also trade on a second publisher)', positiveInt('--instruments'), 4)
  .option('--zstd', 'compress the output with zstd')
  .action(async (out: string, opts: { records: number; seed: number; instruments: number; zstd?: boolean }) => {
    const started = performance.now();
    const file = createWriteStream(out);
    let sink: NodeJS.WritableStream & import('node:stream').Writable = file;
    if (opts.zstd) {
      const compressor = new CompressStream();
      compressor.pipe(file);
      sink = compressor;
    }
    const summary = await writeSynthetic(sink, opts);
    sink.end();
    await finished(file);
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(
      `booktape: wrote ${summary.records} records (${summary.events} events, ${summary.books} books) to ${out} in ${seconds.toFixed(1)} s\n`,
    );
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportCliError(err);
});

// `booktape decode big.dbn | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
