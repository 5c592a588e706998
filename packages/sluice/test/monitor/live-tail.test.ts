import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventBatch } from '../../src/core/batch.ts';
import { LiveTail, type TailLine, type TailViewer } from '../../src/monitor/live-tail.ts';
import { inputs, recordsOf } from '../helpers/capture.ts';
import { events, monitorTestFile } from './helpers.ts';

const start = monitorTestFile();

const CONF = `
<source>
  @type test_input
  tag app
</source>
<match app.**>
  @type test_capture
  name app
</match>
<match **>
  @type relabel
  @label @OTHER
</match>
<label @OTHER>
  <match **>
    @type test_capture
    name other
  </match>
</label>
`;

function viewer(pattern: string, writable = () => true): TailViewer & { lines: TailLine[] } {
  const lines: TailLine[] = [];
  return { pattern, lines, skipped: 0, sent: 0, writable, send: (l) => void lines.push(l) };
}

test('a viewer gets events of its tag pattern only, at most its rate and a few per batch; the rest is counted', async () => {
  const r = await start(CONF);
  const tail = new LiveTail(r.engine, { rate: 8, maxRecordChars: 100, perBatch: 3 });
  const v = viewer('app.web.**');
  const remove = tail.add(v);
  const emit = inputs.get('app')!;
  await emit.emit(events('app.web.access', 10, { n: 1 }));
  await emit.emit(events('app.db', 10));
  assert.equal(v.lines.length, 3, 'three of the first batch (perBatch)');
  assert.deepEqual(v.lines[0], {
    tag: 'app.web.access',
    label: '',
    time: '2023-11-14T22:13:20.000000000Z',
    record: '{"n":1}',
    truncated: false,
  });
  for (let i = 0; i < 5; i++) await emit.emit(events('app.web.access', 10));
  // 8 tokens at start (refilled by the few ms this takes, so at most one more).
  assert.ok(v.lines.length >= 8 && v.lines.length <= 9, `rate-limited: ${v.lines.length} lines`);
  assert.equal(v.sent, v.lines.length);
  assert.equal(v.skipped, 60 - v.lines.length, 'every matching event not sent is counted');
  assert.equal(recordsOf('app').length, 70, 'the pipeline delivered everything');
  remove();
  assert.equal(r.engine.pipeline('')!.taps.size, 0, 'no tap is left when nobody watches');
});

test('every label is tapped; long records are cut; a viewer whose socket is full gets nothing', async () => {
  const r = await start(CONF);
  const tail = new LiveTail(r.engine, { rate: 100, maxRecordChars: 20, perBatch: 5 });
  const all = viewer('**');
  const stuck = viewer('**', () => false);
  tail.add(all);
  tail.add(stuck);
  assert.equal(r.engine.pipeline('@OTHER')!.taps.size, 1);
  await inputs
    .get('app')!
    .emit(EventBatch.fromEntries('misc', events('misc', 1, { message: 'x'.repeat(100) }).entries()));
  assert.deepEqual(
    all.lines.map((l) => [l.label, l.tag, l.truncated, l.record.length]),
    [
      ['', 'misc', true, 21],
      ['@OTHER', 'misc', true, 21],
    ],
  );
  assert.equal(stuck.lines.length, 0);
  assert.equal(stuck.skipped, 2);
  assert.equal(recordsOf('other').length, 1);
  tail.close();
  assert.equal(r.engine.pipeline('@OTHER')!.taps.size, 0);
});

test('a bad tag pattern is refused when the viewer is added', async () => {
  const r = await start(CONF);
  const tail = new LiveTail(r.engine, { rate: 1, maxRecordChars: 10, perBatch: 1 });
  assert.throws(() => tail.add(viewer('/[/')), /pattern|regular expression/i);
  assert.equal(tail.size, 0);
});
