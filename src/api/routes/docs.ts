import { Router, type RequestHandler } from 'express';
import type { OpenAPIV3 } from 'openapi-types';
import swaggerUi from 'swagger-ui-express';
import { operation, type RouteGroup } from '../openapi.js';

/** The API's own description: the OpenAPI document and Swagger UI over it. */

const TAG = 'docs';

/** `document` is read when the routes answer, so it may include this group's own paths. */
export function docsRoutes(document: () => OpenAPIV3.Document): RouteGroup {
  const router = Router();
  router.get('/openapi.json', (_req, res) => { res.json(document()); });
  let page: RequestHandler | undefined;
  const ui: RequestHandler = (req, res, next) => (page ??= swaggerUi.setup(document()))(req, res, next);
  router.use('/docs', swaggerUi.serve, ui);
  return {
    tag: { name: TAG, description: 'This document, and a page to try the API in a browser' },
    router,
    paths: {
      '/openapi.json': {
        get: operation(TAG, {
          summary: 'This OpenAPI document',
          access: 'open',
          responses: { 200: { description: 'OpenAPI 3.0', content: { 'application/json': { type: 'object' } } } },
        }),
      },
      '/docs': {
        get: operation(TAG, {
          summary: 'Swagger UI over this document',
          access: 'open',
          responses: { 200: { description: 'The page', content: { 'text/html': { type: 'string' } } } },
        }),
      },
    },
  };
}
