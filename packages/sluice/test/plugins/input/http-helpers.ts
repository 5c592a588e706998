import http from 'node:http';
import https from 'node:https';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  reusedSocket: boolean;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  agent?: http.Agent;
  tls?: https.RequestOptions;
}

/** One HTTP request to 127.0.0.1 with a real client; resolves with the whole answer. */
export function send(port: number, path: string, o: SendOptions = {}): Promise<Answer> {
  const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
  const headers: Record<string, string | number> = { ...o.headers };
  if (body && headers['Content-Length'] === undefined && headers['Transfer-Encoding'] === undefined)
    headers['Content-Length'] = body.length;
  const lib = o.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'POST', headers, agent: o.agent, ...o.tls },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: b,
            text: b.toString('utf8'),
            reusedSocket: req.reusedSocket,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const json = (port: number, path: string, value: unknown, headers: Record<string, string> = {}) =>
  send(port, path, {
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(value),
  });
