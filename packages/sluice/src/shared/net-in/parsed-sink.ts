import type { SectionOf } from '../../config/schema.ts';
import type { SluiceParser } from '../parse/common.ts';
import { type extractSection, extractTag } from './params.ts';
import type { Reporter } from './report.ts';
import type { MessageSink } from './stream-server.ts';

export interface ParsedSinkOptions {
  name: string;
  tag: string;
  parser: SluiceParser;
  sourceAddressKey?: string;
  sourceHostnameKey?: string;
  /** <extract> tag_key: the event's tag from this field (removed unless keep) */
  tagKey?: { key: string; keep: boolean };
  reporter: Reporter;
}

/** Longest part of a message a log line quotes. */
export const QUOTE = 200;

export function quote(text: string): string {
  return text.length > QUOTE ? `${text.slice(0, QUOTE)}...` : text;
}

/**
 * in_tcp / in_udp: each message through the `<parse>` parser (every record it holds, e.g.
 * a JSON array), with the client's address and name added. A message the parser does not
 * match, or that gives no time (estimate_current_event false), is dropped with a warning,
 * as Fluentd's "pattern not matched".
 */
export function parsedSink(o: ParsedSinkOptions): MessageSink {
  const { parser, tag, sourceAddressKey: addrKey, sourceHostnameKey: hostKey } = o;
  return (b, s, e, peer, out) => {
    const text = b.toString('utf8', s, e);
    let results: ReturnType<SluiceParser['parse']>[];
    let error: string | undefined;
    try {
      results = parser.parseAll ? parser.parseAll(text) : [parser.parse(text)];
    } catch (err) {
      results = [undefined];
      error = (err as Error).message;
    }
    if (results.length === 0) results = [undefined];
    for (const r of results) {
      if (!r?.time) {
        o.reporter.problem('INPUT_UNMATCHED', 'warn', `${o.name}: pattern not matched`, {
          message: quote(text),
          error: error ?? parser.lastError,
          remote: peer.address,
        });
        continue;
      }
      const record = r.record;
      let t = tag;
      if (o.tagKey && Object.hasOwn(record, o.tagKey.key)) {
        const v = record[o.tagKey.key];
        // Ruby's to_s: nil is "", a number its digits.
        t = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
        if (!o.tagKey.keep) delete record[o.tagKey.key];
      }
      if (addrKey) record[addrKey] = peer.address;
      if (hostKey) record[hostKey] = peer.hostname ?? peer.address;
      out.add(t, r.time.sec, r.time.nsec, record);
    }
  };
}

/** The source hostname key of in_tcp / in_udp (`source_host_key` is its old name). */
export function hostnameKeyOf(config: {
  params: { source_hostname_key?: string; source_host_key?: string };
}): string | undefined {
  const p = config.params;
  return p.source_hostname_key ?? p.source_host_key;
}

/** What parsedSinkFor reads of an in_tcp / in_udp config. */
export interface ParsedSinkConfig {
  params: {
    tag: string;
    source_address_key?: string;
    source_hostname_key?: string;
    source_host_key?: string;
  };
  sections: { extract?: SectionOf<typeof extractSection> };
}

/** parsedSink from an in_tcp / in_udp config: tag, source keys and `<extract>` as resolved. */
export function parsedSinkFor(
  name: string,
  config: ParsedSinkConfig,
  parser: SluiceParser,
  reporter: Reporter,
): MessageSink {
  return parsedSink({
    name,
    tag: config.params.tag,
    parser,
    sourceAddressKey: config.params.source_address_key,
    sourceHostnameKey: hostnameKeyOf(config),
    tagKey: extractTag(config.sections.extract),
    reporter,
  });
}
