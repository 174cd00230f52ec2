import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Builds dist/ before any test runs, when a source changed since the last
 * build (scripts/build-once.mjs). Worker threads (the engine, zstd), the CLI
 * and the subprocess tests run the compiled files, so without this a
 * `npx vitest` after an edit would test the previous build.
 */
export default function build(): void {
  execFileSync('node', ['scripts/build-once.mjs'], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit' });
}
