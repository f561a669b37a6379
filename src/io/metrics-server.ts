/**
 * `--metrics ADDR:PORT`: an HTTP server (node:http) answering `GET /metrics` with the Prometheus text of
 * `render()` (src/report/prometheus.ts), `text/plain; version=0.0.4`; anything else is 404. It does not hold
 * the process (unref'd). For `mptcp proxy --metrics`; any long-running command of our stack can start one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running metrics server. */
export interface MetricsServer {
  /** The address and port it listens on (the port chosen when 0 was asked). */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the server on `address`:`port`; rejects with the listen error (EADDRINUSE, ...). */
export function startMetricsServer(address: string, port: number, render: () => string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    let body: string;
    try {
      body = render();
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      server.unref();
      const a = server.address() as AddressInfo;
      resolve({ address: a.address, port: a.port, close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())) });
    });
  });
}
