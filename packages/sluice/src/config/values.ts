// Value grammars of Fluentd's config types (lib/fluent/config/types.rb), as Fluentd reads them.

export function parseBool(v: string): boolean | undefined {
  const s = v.trim();
  // Fluentd treats an empty value (`key` alone on a line) as true for bool params.
  if (s === 'true' || s === 'yes' || s === '') return true;
  if (s === 'false' || s === 'no') return false;
  return undefined;
}

const SIZE_UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `512`, `10k`, `8MB`, `10GB`, `1.5m` -> bytes (1024-based, as Fluentd). */
export function parseSize(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  return Math.floor(unit ? n * SIZE_UNITS[unit]! : n);
}

const TIME_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `2`, `1.5s`, `60s`, `10m`, `1h`, `1d` -> seconds (float). */
export function parseTime(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/i.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  return unit ? n * TIME_UNITS[unit]! : n;
}

/** JSON array, or a comma-separated list with items trimmed. */
export function parseArray(v: string): string[] | undefined {
  const s = v.trim();
  if (s.startsWith('[')) {
    try {
      const a = JSON.parse(s);
      return Array.isArray(a) ? a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))) : undefined;
    } catch {
      return undefined;
    }
  }
  if (s === '') return [];
  return s.split(',').map((x) => x.trim());
}

/** JSON object, or `k1:v1,k2:v2`. */
export function parseHash(v: string): Record<string, string> | undefined {
  const s = v.trim();
  if (s.startsWith('{')) {
    try {
      const o = JSON.parse(s);
      if (o === null || typeof o !== 'object' || Array.isArray(o)) return undefined;
      const out: Record<string, string> = {};
      for (const [k, x] of Object.entries(o)) out[k] = typeof x === 'string' ? x : JSON.stringify(x);
      return out;
    } catch {
      return undefined;
    }
  }
  const out: Record<string, string> = {};
  if (s === '') return out;
  for (const part of s.split(',')) {
    const i = part.indexOf(':');
    if (i < 0) return undefined;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}
