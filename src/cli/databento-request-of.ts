import { databentoRequest, databentoSource, type StypeIn } from '../databento-request.js';
import type { DatabentoFlags } from './databento-options.js';
import { UsageError } from './errors.js';

/** The Databento request (or source) the CLI's options name, checked as Databento takes it. */

const symbolsOf = (list: string | undefined) => (list ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

/** The source a command runs on: the argument, or the Databento request the options name (one of the two). */
export function sourceOf(source: string | undefined, flags: DatabentoFlags): string {
  const named = flags.databento !== undefined;
  if (source !== undefined && named) throw new UsageError('USAGE', 'give a source or --databento, not both');
  if (source !== undefined) return source;
  if (!named) throw new UsageError('USAGE', 'give a source (a file or a URL), or a Databento request with --databento DATASET --symbols ... --start ... --end ...');
  return databentoSource(databentoRequest({
    dataset: flags.databento, symbols: symbolsOf(flags.symbols), stype_in: flags.stypeIn, start: flags.start ?? '', end: flags.end ?? '',
  }));
}

/** Dataset, symbols and symbology from the options, each falling back to the settings' (BOOKTAPE_DATABENTO_*). */
export function requestBaseOf(
  flags: DatabentoFlags,
  settings: { dataset: string; symbols: string[]; stype_in: StypeIn } | null,
): { dataset: string; symbols: string[]; stype_in: StypeIn } {
  const dataset = flags.databento ?? settings?.dataset;
  const symbols = flags.symbols !== undefined ? symbolsOf(flags.symbols) : settings?.symbols ?? [];
  if (dataset === undefined || symbols.length === 0) {
    throw new UsageError('USAGE', 'name what to fetch: --databento DATASET --symbols A,B, or set BOOKTAPE_DATABENTO_DATASET and BOOKTAPE_DATABENTO_SYMBOLS');
  }
  // Checked as a day's request would be: a bad value stops the command before anything is queued.
  const checked = databentoRequest({ dataset, symbols, stype_in: flags.stypeIn ?? settings?.stype_in, start: '2024-01-01', end: '2024-01-02' });
  return { dataset: checked.dataset, symbols: checked.symbols, stype_in: checked.stype_in };
}
