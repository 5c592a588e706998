// Acceptance (issue 23): tail -> file buffer -> opensearch, Sluice killed with SIGKILL at random
// moments under a steady writer, again and again; at the end the index holds every line exactly
// once, by count and by ids (id_policy hash, lines with their own time), and with the default
// chunk ids every line at least once, the buffer's re-sends folded. Sluice sends through the bulk proxy of helpers.ts (passing every
// request on untouched) so the test can wait on the requests, not on a timer.
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type SluiceProcess, spawnSluice } from '../../../helpers/sluice-process.ts';
import { type OpenSearchServer, startOpenSearch } from '../../../stores/opensearch.ts';
import { allHits, BulkProxy, countOf } from './helpers.ts';

const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 20);

/**
 * After a kill (chunk test, plain lines `<seq, 10 digits> y...`): how many lines in_tail will
 * read again, i.e. lines past the position its pos file holds that already reached the buffer
 * (a chunk file) or the node (a bulk request since `fromRequest`). Each is a new buffer entry,
 * so a new document with chunk ids: the count predicts the duplicates of the run.
 */
function rereadAfterKill(dir: string, log: string, fromRequest: number): number {
  const pos = Number.parseInt(readFileSync(join(dir, 'tail.pos'), 'utf8').split('\t')[1] ?? '0', 16);
  const text = readFileSync(log, 'latin1');
  let next = 0; // seq of the first line past the committed position
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) next++;
  let highest = -1;
  const buffer = join(dir, 'buffer');
  for (const f of existsSync(buffer) ? readdirSync(buffer) : []) {
    if (!f.endsWith('.log')) continue;
    for (const m of readFileSync(join(buffer, f), 'latin1').matchAll(/(\d{10}) y{60}/g))
      highest = Math.max(highest, Number(m[1]));
  }
  for (const r of proxy.requests.slice(fromRequest))
    for (const d of r.docs ?? [])
      highest = Math.max(highest, Number(String((d.doc as { message?: string }).message ?? '').slice(0, 10)));
  return Math.max(0, highest + 1 - next);
}

let proxy: BulkProxy;

describe('out_opensearch: tail -> file buffer -> opensearch under SIGKILL (e2e)', () => {
  let os: OpenSearchServer;
  let at: string;
  before(async () => {
    os = await startOpenSearch();
    proxy = new BulkProxy(os.url);
    at = await proxy.listen();
  });
  after(async () => {
    await proxy?.close();
    await os?.stop();
  });

  /**
   * One crash run: a steady writer appends lines, Sluice is killed KILLS times at random moments
   * and restarted, then runs until every line is indexed. Returns what the index holds.
   */
  async function crashRun(
    t: { after(fn: () => Promise<void> | void): void; diagnostic(s: string): void },
    name: string,
    opts: { idPolicy: 'chunk' | 'hash' },
  ): Promise<{ total: number; hits: { _id: string; seq: number }[]; rereads: number }> {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-es-crash-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const index = `crash-${name}-${process.pid}`;
    const log = join(dir, 'app.log');
    const conf = join(dir, 'sluice.conf');
    // hash: lines carry their own time (JSON, as applications log), so a line read twice is the
    // same event, time included
    const parse =
      opts.idPolicy === 'hash'
        ? '@type json\n    time_key time\n    time_format %Y-%m-%dT%H:%M:%S.%N%z'
        : '@type none';
    writeFileSync(
      conf,
      `<source>
  @type tail
  path ${log}
  pos_file ${join(dir, 'tail.pos')}
  tag app
  read_from_head true
  read_lines_limit 200
  <parse>
    ${parse}
  </parse>
</source>
<match app>
  @type opensearch
  hosts ${at}
  index_name ${index}
  id_policy ${opts.idPolicy}
  request_timeout 10s
  <buffer>
    @type file
    path ${join(dir, 'buffer')}
    flush_mode interval
    flush_interval 0.2s
    flush_thread_count 2
    chunk_limit_records 500
    retry_wait 0.2s
    retry_max_interval 1s
    retry_forever true
  </buffer>
</match>
`,
    );
    const fd = openSync(log, 'a');
    let seq = 0;
    const pad = 'y'.repeat(60);
    let writing = true;
    const line = (n: number) =>
      opts.idPolicy === 'hash'
        ? `${JSON.stringify({ time: new Date().toISOString().replace('Z', `${String(n % 1e6).padStart(6, '0')}+0000`), seq: n, pad })}\n`
        : `${String(n).padStart(10, '0')} ${pad}\n`;
    // Steady writer: 10 lines every 10 ms (about 1,000 lines/s), until told to stop.
    const writer = (async () => {
      while (writing) {
        let chunk = '';
        for (let i = 0; i < 10; i++) chunk += line(seq++);
        writeSync(fd, chunk);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    let proc: SluiceProcess | undefined;
    t.after(async () => {
      writing = false;
      await writer;
      closeSync(fd);
      await proc?.stop(5_000);
    });
    const sentBefore = proxy.requests.length;
    let rereads = 0;
    for (let round = 0; round < KILLS; round++) {
      proc = spawnSluice(['-c', conf]);
      const before = proxy.forwarded;
      // kill once this run has delivered some lines, a random number past that, mid-stream
      const goal = before + 200 + Math.floor(Math.random() * 600);
      const running = proc;
      await proxy
        .until(() => proxy.forwarded >= goal, `round ${round}: documents delivered`, 90_000)
        .catch((e: Error) => {
          // what the process said, to tell a stall from a machine too loaded to start it in time
          throw new Error(
            `${e.message}; sluice's log:\n${running.stdout().slice(-3000)}\n${running.stderr().slice(-3000)}`,
          );
        });
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50)));
      proc.proc.kill('SIGKILL');
      await proc.exited;
      if (opts.idPolicy === 'chunk') rereads += rereadAfterKill(dir, log, sentBefore);
    }
    writing = false;
    await writer;
    const total = seq;
    proc = spawnSluice(['-c', conf]);
    const last = proc;
    let indexed = 0;
    await proxy
      .until(
        async () => (indexed = await countOf(os.url, index)) >= total,
        `all ${total} lines indexed`,
        180_000,
      )
      .catch((e: Error) => {
        throw new Error(
          `${e.message} (${indexed} indexed); sluice's log:\n${last.stdout().slice(-3000)}\n${last.stderr().slice(-3000)}`,
        );
      });
    await proc.stop(10_000);
    const hits = (await allHits(os.url, index)).map((h) => ({
      _id: h._id,
      seq: opts.idPolicy === 'hash' ? Number(h._source.seq) : Number(String(h._source.message).slice(0, 10)),
    }));
    const seen = new Map<number, string[]>();
    for (const h of hits) seen.set(h.seq, [...(seen.get(h.seq) ?? []), h._id]);
    const twice = [...seen].filter(([, ids]) => ids.length > 1);
    t.diagnostic(
      `${name}: ${KILLS} kills, ${total} lines written, ${hits.length} documents, ${seen.size} distinct lines, ${hits.length - seen.size} duplicates; ${proxy.requests.slice(sentBefore).reduce((n, r) => n + (r.docs?.length ?? 0), 0)} documents sent (re-sends answered 409 included)`,
    );
    if (opts.idPolicy === 'chunk')
      t.diagnostic(
        `${name}: lines in_tail will read again, seen at the kills (pos file behind lines already in the buffer or sent): ${rereads}`,
      );
    if (twice.length > 0)
      t.diagnostic(
        `lines indexed twice, with their ids: ${twice
          .slice(0, 20)
          .map(([n, ids]) => `${n}: ${ids.join(' ')}`)
          .join('; ')}`,
      );
    const missing = [...Array(total).keys()].filter((n) => !seen.has(n));
    assert.equal(missing.length, 0, `lines never indexed: ${missing.slice(0, 10).join(',')}`);
    return { total, hits, rereads };
  }

  it(`id_policy hash, lines with their own time: every line lands exactly once across ${KILLS} kills`, {
    timeout: 900_000,
  }, async (t) => {
    const { total, hits } = await crashRun(t, 'hash', { idPolicy: 'hash' });
    assert.equal(hits.length, total, 'exactly once by count');
    assert.equal(new Set(hits.map((h) => h.seq)).size, total);
    assert.ok(
      hits.every((h) => /^[A-Za-z0-9_-]{27}$/.test(h._id)),
      'ids from the events',
    );
  });

  it(`id_policy chunk (default), plain lines: every line lands, the buffer's re-sends fold, across ${KILLS} kills`, {
    timeout: 900_000,
  }, async (t) => {
    const { total, hits, rereads } = await crashRun(t, 'chunk', { idPolicy: 'chunk' });
    assert.ok(
      hits.every((h) => /^[0-9a-f]{32}-\d+$/.test(h._id)),
      'ids from the chunk',
    );
    // Each buffer entry lands once (its id is unique in the index). A line in_tail read twice (the
    // process was killed after the buffer accepted the line, before the tail committed its
    // position) is two entries of the buffer, so two documents: in_tail's at-least-once, which
    // chunk ids cannot fold (docs/outputs/elasticsearch.md, "Crash test"). Those lines are counted
    // at each kill from the pos file and the buffer: every document indexed twice must be one.
    assert.equal(
      hits.length - total,
      rereads,
      'every line indexed twice is a line in_tail read again after a kill, none comes from the output',
    );
  });
});
