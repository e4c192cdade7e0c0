// Requests exactly as written: node:http keeps the path and headers as
// given (fetch would normalise them), and a plain socket sends bytes that
// no HTTP client would (NUL in the request line, unknown methods).
import { request } from 'node:http';
import { connect } from 'node:net';

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The envelope when the body is one, else null. */
  body: { code: number; message: string; result: unknown } | null;
}

function envelopeOf(text: string): RawReply['body'] {
  try {
    const v = JSON.parse(text) as RawReply['body'];
    return v && typeof v === 'object' && 'code' in v ? v : null;
  } catch {
    return null;
  }
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function rawRequest(base: string, r: RawRequest): Promise<RawReply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: Number(u.port), method: r.method, path: r.path, headers: r.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: envelopeOf(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

/** Bytes on a socket; resolves with the parsed status line and body of the answer. */
export function rawBytes(base: string, bytes: Buffer | string): Promise<RawReply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(Number(u.port), u.hostname, () => s.write(bytes));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      resolve({ status: m ? Number(m[1]) : 0, headers: {}, text, body: envelopeOf(body) });
    });
    s.setTimeout(10_000, () => s.destroy());
  });
}
