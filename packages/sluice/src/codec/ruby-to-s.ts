// Fluentd compares and prints record values through Ruby's to_s; grep, rewrite_tag_filter
// and concat need the same text to match the same events.

/** Ruby's `to_s` of a record value, which is what Fluentd matches the pattern against. */
export function rubyToS(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : String(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  // Ruby would print Hash#inspect; JSON is the nearest faithful text for JS objects.
  return JSON.stringify(v);
}
