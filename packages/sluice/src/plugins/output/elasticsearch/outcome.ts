// What a bulk response says about each document. A bulk request answered 200 may still have
// refused some of its documents: every item is read, and each document gets one of four
// outcomes (docs/outputs/elasticsearch.md, "Outcomes").
import type { Operation } from './bulk-body.ts';

export type Outcome =
  /** 2xx: indexed, created, updated */
  | 'stored'
  /** 409 to a create: a document with this _id is there already (an earlier attempt stored it) */
  | 'duplicate'
  /** 429 or 5xx: the server may take it later; sent again, alone, after the buffer's backoff */
  | 'retry'
  /** any other 4xx: the document itself is wrong; it goes to <label @ERROR> with the reason */
  | 'rejected';

export interface ItemResult {
  outcome: Outcome;
  status: number;
  /** the server's error type and reason, for retry and rejected */
  type?: string;
  reason?: string;
  index?: string;
  id?: string;
}

export function outcomeOf(op: Operation, status: number): Outcome {
  if (status >= 200 && status < 300) return 'stored';
  if (status === 409 && op === 'create') return 'duplicate';
  if (status === 429 || status >= 500) return 'retry';
  return 'rejected';
}

interface RawError {
  type?: string;
  reason?: string;
  caused_by?: RawError;
}

interface RawItem {
  status?: number;
  _index?: string;
  _id?: string;
  error?: RawError | string;
}

/** "mapper_parsing_exception: failed to parse ... (caused by: illegal_argument_exception: ...)" */
function reasonOf(e: RawError): string {
  let s = e.reason ?? '';
  for (let c = e.caused_by, depth = 0; c && depth < 3; c = c.caused_by, depth++)
    s += ` (caused by: ${c.type ?? 'error'}: ${c.reason ?? ''})`;
  return s;
}

/** Cheap test of a response's head: `{"took":N,"errors":false,...` needs no parse of the items. */
const NO_ERRORS = /^\{\s*"took"\s*:\s*\d+\s*,\s*"errors"\s*:\s*false\b/;

/**
 * The result of each of the `count` documents of a request, in request order; 'all-stored'
 * when the response says there was no error. Throws when the response is not a bulk
 * response for `count` documents (the whole request is then retried).
 */
export function readBulkResponse(op: Operation, text: string, count: number): ItemResult[] | 'all-stored' {
  if (NO_ERRORS.test(text.slice(0, 80))) return 'all-stored';
  let parsed: { errors?: boolean; items?: Record<string, RawItem>[] };
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`the bulk response is not JSON: ${(e as Error).message}: ${text.slice(0, 200)}`);
  }
  if (parsed.errors === false) return 'all-stored';
  const items = parsed.items;
  if (!Array.isArray(items) || items.length !== count)
    throw new Error(
      `the bulk response has ${Array.isArray(items) ? items.length : 'no'} items for ${count} documents`,
    );
  return items.map((wrapped) => {
    const item = (wrapped && Object.values(wrapped)[0]) ?? {};
    const status = typeof item.status === 'number' ? item.status : 500;
    const result: ItemResult = { outcome: outcomeOf(op, status), status, index: item._index, id: item._id };
    const e = item.error;
    if (typeof e === 'string') result.reason = e;
    else if (e) {
      result.type = e.type;
      result.reason = reasonOf(e);
    }
    return result;
  });
}
