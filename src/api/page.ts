import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { Problem } from './problem.js';

/**
 * The book page at `/`: the static files `npm run build` bundles from web/
 * into dist/web. The page itself is public; the data it reads goes through
 * the API's read token.
 */
export function pageRouter(dir = webDir()): Router {
  const router = Router();
  if (dir !== null) {
    router.use(express.static(dir, { index: 'index.html', maxAge: 0 }));
  } else {
    router.get('/', (_req, _res, next) => next(new Problem(503, 'PAGE_NOT_BUILT', 'the book page is not built: run npm run build (it bundles web/ into dist/web)')));
  }
  return router;
}

/** dist/web under the package root (the nearest folder up with a package.json), or null when not built. */
function webDir(): string | null {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return existsSync(join(d, 'dist', 'web', 'index.html')) ? join(d, 'dist', 'web') : null;
  }
  return null;
}
