import type { Command } from 'commander';

/**
 * The CLI's way to name a Databento request: `--databento DATASET --symbols
 * A,B [--stype-in parent] --start T --end T`, in place of a source argument
 * (ingest, enqueue), or with a day range (backfill). The options only:
 * cli.ts loads this module at start, and the file commands must not wait for
 * the request's validation (zod); cli/databento-request-of.ts reads them.
 */

export interface DatabentoFlags {
  databento?: string;
  symbols?: string;
  stypeIn?: string;
  start?: string;
  end?: string;
}

/** Adds the options; `range`: with --start and --end (a single request), else without (backfill names days). */
export function withDatabentoOptions(cmd: Command, range: boolean): Command {
  cmd
    .option('--databento <dataset>', 'fetch from Databento (needs DATABENTO_API_KEY): the dataset, e.g. GLBX.MDP3')
    .option('--symbols <list>', 'Databento symbols, comma-separated')
    .option('--stype-in <stype>', 'their symbology: raw_symbol (the default), parent (ES.FUT), continuous (ES.c.0) or instrument_id');
  if (range) {
    cmd
      .option('--start <time>', 'inclusive start: a UTC date (2024-06-03) or an instant with a zone')
      .option('--end <time>', 'exclusive end, as --start');
  }
  return cmd;
}

