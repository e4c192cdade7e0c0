// A stand-in business system: records notify calls and answers params calls.
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Business {
  url: string;
  received: Received[];
  /** What GET <url>/params/<name> answers (JSON object); 404 when unset. */
  params: Map<string, unknown>;
  /** Status the notify endpoint answers (default 200). */
  notifyStatus: number;
  close(): Promise<void>;
}

export async function startBusiness(): Promise<Business> {
  const b: Business = { url: '', received: [], params: new Map(), notifyStatus: 200, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const u = new URL(req.url!, 'http://x');
      b.received.push({ method: req.method!, path: u.pathname, query: u.searchParams, headers: req.headers, body });
      if (u.pathname.startsWith('/params/')) {
        const v = b.params.get(u.pathname.slice('/params/'.length));
        res.writeHead(v === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v ?? { error: 'unknown' }));
        return;
      }
      res.writeHead(b.notifyStatus, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  b.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return b;
}
