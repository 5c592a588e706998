// Counting HTTP sink (a child process of tcp_to_http): counts events in request bodies
// (newline-delimited JSON: one per line; a JSON array body: its elements), answers 200.
// Usage (forked): sink-http.ts -> sends {port}; answers 'stats'.
import { createServer } from 'node:http';

const stats = { events: 0, bytes: 0, requests: 0, firstAt: 0, lastAt: 0, cpuS: 0 };

function countBody(b: Buffer): number {
  if (b.length === 0) return 0;
  if (b[0] === 0x5b) return (JSON.parse(b.toString('utf8')) as unknown[]).length;
  let n = 0;
  let i = b.indexOf(10);
  while (i >= 0) {
    n++;
    i = b.indexOf(10, i + 1);
  }
  if (b[b.length - 1] !== 10) n++;
  return n;
}

const server = createServer((req, res) => {
  if (stats.firstAt === 0) stats.firstAt = performance.now();
  const parts: Buffer[] = [];
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    stats.bytes += body.length;
    stats.events += countBody(body);
    stats.requests++;
    stats.lastAt = performance.now();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('message', (m) => {
  if (m === 'stats') {
    const c = process.cpuUsage();
    stats.cpuS = (c.user + c.system) / 1e6;
    process.send?.({ stats });
  }
});
process.on('disconnect', () => process.exit(0));
