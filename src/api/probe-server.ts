import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * A worker's probe port: GET /metrics (`registry`, for Prometheus) and
 * GET /readyz (200 when every check says "ok", else 503, with the checks as
 * JSON), on `port` (0: any free port).
 */
export async function serveProbes(registry: Registry, port: number, readiness: () => Promise<Record<string, string>>): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`),
      );
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      readiness().then((checks) => {
        const ok = Object.values(checks).every((v) => v === 'ok');
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not ready', checks }));
      });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('served here: GET /metrics, GET /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}
