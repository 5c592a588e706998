import type { IncomingHttpHeaders } from 'node:http';

export interface CorsOptions {
  /** allowed origins; '*' allows any; an entry may hold one '*' wildcard (`https://*.example.com`) */
  origins: string[];
  credentials: boolean;
}

/** Fluentd's include_cors_allow_origin: exact match, or prefix/suffix around a single '*'. */
export function originAllowed(cors: CorsOptions, origin: string | undefined): boolean {
  if (origin === undefined) return false;
  if (cors.origins.includes(origin)) return true;
  for (const o of cors.origins) {
    if (o === '') continue;
    const star = o.indexOf('*');
    if (star < 0) continue;
    const start = o.slice(0, star);
    const end = o.slice(star + 1);
    if (origin.startsWith(start) && origin.endsWith(end)) return true;
  }
  return false;
}

/** Headers to add to an answer (POST) for an allowed origin; undefined when none apply. */
export function corsHeaders(
  cors: CorsOptions,
  origin: string | undefined,
): Record<string, string> | undefined {
  if (cors.origins.includes('*')) return { 'Access-Control-Allow-Origin': '*' };
  if (!originAllowed(cors, origin)) return undefined;
  const h: Record<string, string> = { 'Access-Control-Allow-Origin': origin! };
  if (cors.credentials) h['Access-Control-Allow-Credentials'] = 'true';
  return h;
}

/** The answer to an OPTIONS preflight, as Fluentd gives it: 200 with the allow headers, or 403. */
export function preflight(
  cors: CorsOptions | undefined,
  headers: IncomingHttpHeaders,
): { status: number; headers: Record<string, string> } {
  if (!cors || headers['access-control-request-method'] !== 'POST') return { status: 403, headers: {} };
  const base = {
    'Access-Control-Allow-Methods': 'POST',
    'Access-Control-Allow-Headers': String(headers['access-control-request-headers'] ?? ''),
  };
  const allow = corsHeaders(cors, headers.origin);
  if (!allow) return { status: 403, headers: {} };
  return { status: 200, headers: { ...base, ...allow } };
}
