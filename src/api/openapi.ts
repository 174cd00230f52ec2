import type { Router } from 'express';
import type { OpenAPIV3 } from 'openapi-types';
import { z } from 'zod';
import { FAILURE_KINDS, type FailureKind } from '../errors.js';
import type { Access } from './auth.js';

/**
 * How a route declares itself: every route group (a file in routes/) returns
 * a RouteGroup, its Express router and the OpenAPI description of each
 * route on it, side by side. createApp mounts the routers and the document
 * is the union of the groups' paths, so a route without a description is
 * one the coverage test (test/api/openapi.test.ts) names.
 *
 * To add a route: add it to a group's router, and an `operation(...)` for it
 * under the same path (OpenAPI form, `{symbol}` for `:symbol`) in the
 * group's `paths`. Parameters and bodies come from the zod schemas the route
 * validates with; answers from a zod schema of the response body.
 */
export interface RouteGroup {
  tag: OpenAPIV3.TagObject;
  paths: OpenAPIV3.PathsObject;
  router: Router;
}

/** A zod schema as an OpenAPI 3.0 schema: what the client sends (io: input) or receives. */
export function schemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): OpenAPIV3.SchemaObject {
  const json = z.toJSONSchema(schema, { io, target: 'openapi-3.0', unrepresentable: 'any' }) as OpenAPIV3.SchemaObject & { $schema?: string };
  delete json.$schema;
  return json;
}

/** One OpenAPI parameter per field of a zod object (a route's query or path schema), with its description. */
export function parametersOf(where: 'query' | 'path', schema: z.ZodObject): OpenAPIV3.ParameterObject[] {
  const json = schemaOf(schema, 'input');
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s as OpenAPIV3.SchemaObject;
    return { in: where, name, required: where === 'path' || required.has(name), schema: rest, ...(description ? { description } : {}) };
  });
}

/** The error body of every failed request (RFC 9457 problem+json). */
export const ProblemSchema = z.object({
  type: z.string().describe('a URI naming the problem, from its code'),
  title: z.string(),
  status: z.number().int(),
  code: z.string().describe('stable: branch on this, e.g. INVALID_PARAMETER, UNKNOWN_SYMBOL, STORE_BUSY'),
  detail: z.string().describe('what went wrong and what to do about it'),
  field: z.string().optional().describe('the parameter at fault, for validation errors'),
});

/** What each kind of failure means to a client, as the description of its answer. */
const KIND_ANSWERS: Record<FailureKind, string> = {
  invalid: 'A parameter or the body is invalid',
  'not-found': 'Not found',
  unauthorized: 'The token is missing or wrong (when the server has one configured)',
  forbidden: 'Refused: the server is not configured to allow this',
  'too-large': 'The request body is over its limit',
  'unsupported-media': 'The request body is not UTF-8 JSON',
  unavailable: 'The store or Redis did not answer, or is out of resources: try again later',
  internal: 'An unexpected error; it has been logged',
};

/** The problem+json answer of `kind`, with what it means here. */
export function problem(kind: FailureKind, description = KIND_ANSWERS[kind]): [string, OpenAPIV3.ResponseObject] {
  return [String(FAILURE_KINDS[kind].httpStatus), { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } }];
}

/** The answers every route may give besides its own: a token check, an internal error. */
function commonProblems(access: Access | 'open'): [string, OpenAPIV3.ResponseObject][] {
  const out = [problem('internal')];
  if (access === 'read') out.push(problem('unauthorized'));
  if (access === 'write') out.push(problem('unauthorized'), problem('forbidden', 'Writes are disabled: the server has no BOOKTAPE_WRITE_TOKEN'));
  return out;
}

export interface OperationSpec {
  summary: string;
  description?: string;
  access: Access | 'open';
  path?: z.ZodObject;
  query?: z.ZodObject;
  /** A JSON request body. */
  body?: z.ZodType;
  /** Status -> description and content (media type -> zod schema or a plain OpenAPI schema). */
  responses: Record<number, { description: string; content?: Record<string, z.ZodType | OpenAPIV3.SchemaObject> }>;
  /** Problem answers besides the common ones, e.g. problem('not-found', 'Unknown symbol'). */
  problems?: [string, OpenAPIV3.ResponseObject][];
}

/** An OpenAPI operation under `tag`, built from the route's own schemas. */
export function operation(tag: string, spec: OperationSpec): OpenAPIV3.OperationObject {
  const responses: OpenAPIV3.ResponsesObject = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const content = r.content === undefined
      ? undefined
      : Object.fromEntries(Object.entries(r.content).map(([media, s]) => [media, { schema: s instanceof z.ZodType ? schemaOf(s) : s }]));
    responses[status] = { description: r.description, ...(content ? { content } : {}) };
  }
  const problems = [...(spec.problems ?? []), ...(spec.query || spec.path || spec.body ? [problem('invalid')] : []), ...commonProblems(spec.access)];
  for (const [status, r] of problems) responses[status] ??= r;
  const parameters = [...(spec.path ? parametersOf('path', spec.path) : []), ...(spec.query ? parametersOf('query', spec.query) : [])];
  return {
    tags: [tag],
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.access === 'open' ? { security: [] } : spec.access === 'read' ? { security: [{ bearer: [] }, {}] } : { security: [{ bearer: [] }] }),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(spec.body, 'input') } } } } : {}),
    responses,
  };
}

/** The whole document: the groups' paths and tags, the Problem schema, the token scheme. */
export function openApiDocument(groups: RouteGroup[]): OpenAPIV3.Document {
  const paths: OpenAPIV3.PathsObject = {};
  for (const g of groups) {
    for (const [path, item] of Object.entries(g.paths)) paths[path] = { ...paths[path], ...item };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'booktape API', version: '1', description: 'Order-book history from Databento MBO files: books, exports, replays, ingest jobs.' },
    tags: groups.map((g) => g.tag),
    paths,
    components: {
      schemas: { Problem: schemaOf(ProblemSchema) },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'BOOKTAPE_READ_TOKEN for reads (when set), BOOKTAPE_WRITE_TOKEN for ingest and Bull Board' },
      },
    },
  };
}
