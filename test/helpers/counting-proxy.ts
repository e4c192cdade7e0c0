// A pass-through to the WeChat simulator that records every call it forwards,
// so that a test can tell which instance of a cluster called WeChat, and when:
// give each instance its own proxy as --wechat-api.
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

export interface ProxiedCall {
  at: number;
  path: string;
  /** The appid the call is for (query `appid`, or the JSON body's appid / component_appid), '' when none. */
  appid: string;
}

export interface CountingProxy {
  url: string;
  calls: ProxiedCall[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function appidOf(url: URL, text: string): string {
  const q = url.searchParams.get('appid');
  if (q) return q;
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    for (const k of ['appid', 'component_appid']) if (typeof j[k] === 'string') return j[k];
  } catch {
    /* not JSON */
  }
  return '';
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const calls: ProxiedCall[] = [];
  // Its own connections to the simulator, closed with the proxy (so that nothing keeps the test process alive).
  const agent = new Agent();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const data = await body(req);
      const url = new URL(req.url ?? '/', target);
      calls.push({ at: Date.now(), path: url.pathname, appid: appidOf(url, data.toString()) });
      const r = await request(url, {
        method: req.method as 'GET' | 'POST',
        body: data.length > 0 ? data : undefined,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        dispatcher: agent,
      });
      const answer = Buffer.from(await r.body.arrayBuffer());
      res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'application/json') });
      res.end(answer);
    })().catch(() => {
      res.writeHead(502).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await agent.close();
    },
  };
}
