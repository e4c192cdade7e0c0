// Baseline: the least a Node HTTP server can do for GET /task/:appid/:type —
// node:http, a Map lookup, the same pre-serialised envelope the product
// answers with. No framework, no auth, no metrics: Node's floor.
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

const entries = JSON.parse(process.env.BENCH_ENTRIES ?? '{}') as Record<string, string>;
const answers = new Map<string, Buffer>();
for (const [k, v] of Object.entries(entries))
  answers.set(`/task/${k}`, Buffer.from(JSON.stringify({ code: 200, message: '', result: v })));
const notFound = Buffer.from(JSON.stringify({ code: 404, message: 'not found', result: null }));

const server = createServer((req, res) => {
  const body = req.method === 'GET' ? answers.get(req.url ?? '') : undefined;
  res.statusCode = body ? 200 : 404;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', (body ?? notFound).length);
  res.end(body ?? notFound);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
