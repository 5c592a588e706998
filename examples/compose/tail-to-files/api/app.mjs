// The web API of seed 000, in Node so the example needs no image build: every call is
// logged to log/app.log ("YYYY-MM-DD HH:MM:SS INFO <function> START|END ...") for the
// collector to tail. Listens on $PORT (default 5000; 0 picks a free port and prints it).
import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const logDir = process.env.LOG_DIR ?? 'log';
const logFile = join(logDir, 'app.log');
mkdirSync(logDir, { recursive: true });

const pad = (n) => String(n).padStart(2, '0');
function stamp(d = new Date()) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function log(message) {
  appendFileSync(logFile, `${stamp()} INFO ${message}\n`);
}

const users = { name: { 0: 'user1', 1: 'user2', 2: 'user3' }, age: { 0: '24', 1: '30', 2: '18' } };

function logged(name, fn, args) {
  const start = performance.now();
  log(`${name} START args=() kwds=${JSON.stringify(args)}`);
  const result = fn();
  log(`${name} END elapsed_time [ms]=${(performance.now() - start).toFixed(5)}, return ${JSON.stringify(result)}`);
  return result;
}

function route(req, body) {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/') return 'Hello API Server!\n';
  if (req.method === 'GET' && url.pathname === '/health') return logged('_health', () => ({ health: 'ok' }), {});
  if (req.method === 'GET' && url.pathname === '/metadata') return logged('_metadata', () => users, {});
  if (req.method === 'POST' && url.pathname === '/add_users/') {
    const user = JSON.parse(body);
    return logged(
      '_add_user',
      () => {
        users.name[user.id] = user.name;
        users.age[user.id] = user.age;
        return users;
      },
      { user_data: user },
    );
  }
  return undefined;
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    try {
      const out = route(req, body);
      res.writeHead(out === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out ?? { detail: 'Not Found' }));
    } catch (err) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: String(err) }));
    }
  });
});

server.listen(Number(process.env.PORT ?? 5000), () => {
  log('start api server');
  console.log(`listening on ${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
