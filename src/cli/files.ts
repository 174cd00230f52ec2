import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { openDbnFile, type DbnStream } from '../dbn/reader.js';
import { UsageError } from './errors.js';

/** Opens a DBN file named on the command line, refusing a directory with a clear message (not EISDIR from a read). */
export async function openInputFile(path: string): Promise<DbnStream> {
  const s = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new UsageError('NOT_FOUND', `no such file: ${path}`);
    throw err;
  });
  if (s.isDirectory()) throw new UsageError('IS_A_DIRECTORY', `${path} is a directory: give a .dbn or .dbn.zst file`);
  return openDbnFile(path);
}

/** Checks that an output file can be created: its directory exists and is a directory. */
export async function checkOutputPath(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  const s = await stat(dir).catch(() => null);
  if (s === null) throw new UsageError('NO_SUCH_DIRECTORY', `cannot write ${path}: the directory ${dir} does not exist; create it first`);
  if (!s.isDirectory()) throw new UsageError('NO_SUCH_DIRECTORY', `cannot write ${path}: ${dir} is not a directory`);
  const out = await stat(path).catch(() => null);
  if (out?.isDirectory()) throw new UsageError('IS_A_DIRECTORY', `${path} is a directory: give a file name to write`);
}

/** Binary output (DBN) is for a file or a pipe: on a terminal it is noise, and can upset the terminal. */
export function refuseBinaryToTty(what: string): void {
  if (process.stdout.isTTY) throw new UsageError('BINARY_TO_TTY', `${what} writes binary: redirect it to a file (> out.mbp.dbn)`);
}
