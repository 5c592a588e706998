// The receiving HTTP service of seed 003: logs every POST to /api/<name>/ and answers 200.
// Set FAIL=1 to answer 503 instead (to watch the collector retry). Listens on $PORT
// (default 8000; 0 picks a free port and prints it).
import { createServer } from 'node:http';

const failing = process.env.FAIL === '1';
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    const ok = req.method === 'POST' && /^\/api\/[^/]+\/$/.test(req.url ?? '') && !failing;
    console.log(JSON.stringify({ method: req.method, path: req.url, status: ok ? 200 : 503, body }));
    res.writeHead(ok ? 200 : req.method === 'POST' ? 503 : 404, { 'content-type': 'application/json' });
    res.end(ok ? '{"status":"ok"}' : '{"status":"unavailable"}');
  });
});
server.listen(Number(process.env.PORT ?? 8000), () => {
  console.log(`listening on ${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
