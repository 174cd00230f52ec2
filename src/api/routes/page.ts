import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { Problem } from '../problem.js';

/**
 * The book page at `/` (docs/web.md): the static files `npm run build`
 * bundles from web/ into dist/web. The page is public; the data it reads goes
 * through the read token like any other client's.
 */

const TAG = 'page';

export function pageRoutes(dir = webDir()): RouteGroup {
  const router = Router();
  router.get('/', (_req, res, next) => {
    if (dir === null) return next(new Problem('unavailable', 'PAGE_NOT_BUILT', 'the book page is not built: run npm run build (it bundles web/ into dist/web)'));
    res.sendFile(join(dir, 'index.html'));
  });
  if (dir !== null) router.use(express.static(dir, { index: false }));
  return {
    tag: { name: TAG, description: 'The book page: a depth ladder, time travel, replay and a chart, over this API' },
    router,
    paths: {
      '/': {
        get: operation(TAG, {
          summary: 'The book page (its scripts and styles are served beside it)',
          access: 'open',
          responses: { 200: { description: 'The page', content: { 'text/html': { type: 'string' } } } },
          problems: [problem('unavailable', 'The page is not built (PAGE_NOT_BUILT): run npm run build')],
        }),
      },
    },
  };
}

/** dist/web under the package root (the nearest folder up with a package.json), or null when not built. */
function webDir(): string | null {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return existsSync(join(d, 'dist', 'web', 'index.html')) ? join(d, 'dist', 'web') : null;
  }
  return null;
}
