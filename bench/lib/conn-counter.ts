// A TCP pass-through in front of the simulator that counts connections open
// at once: with keep-alive pools this is the outbound WeChat concurrency the
// server allows itself (workers × wechatConcurrency at most).
import net from 'node:net';

export interface ConnCounter {
  url: string;
  open(): number;
  max(): number;
  resetMax(): void;
  close(): Promise<void>;
}

export function countConnections(targetPort: number): Promise<ConnCounter> {
  let open = 0;
  let max = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    open++;
    max = Math.max(max, open);
    sockets.add(client);
    sockets.add(upstream);
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      open--;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.pipe(upstream).pipe(client);
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as net.AddressInfo).port;
    resolve({
      url: `http://127.0.0.1:${port}`,
      open: () => open,
      max: () => max,
      resetMax: () => (max = open),
      close: () => new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
    });
  }));
}
