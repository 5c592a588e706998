import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Engine } from '../../../src/engine/engine.ts';
import { captured, recordsOf, registerTestPlugins, resetCapture } from '../../helpers/capture.ts';
import { spawnSluice } from '../../helpers/sluice-process.ts';

// The first plugins together, the way a user runs them: sample -> grep ->
// record_transformer -> stdout, in the real CLI process, and in an in-process engine.

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-core-plugins-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const pipeline = `
<source>
  @type sample
  tag app.web
  rate 50
  size 2
  auto_increment_key n
  sample [{"level":"info","msg":"hello"},{"level":"debug","msg":"noise"}]
</source>
<filter app.**>
  @type grep
  <exclude>
    key level
    pattern /debug/
  </exclude>
</filter>
<filter app.**>
  @type record_transformer
  <record>
    service \${tag_parts[1]}
    n_text n=\${record["n"]}
  </record>
</filter>
`;

describe('core plugins end to end', () => {
  test("sluice -c prints Fluentd's stdout lines for sample -> grep -> record_transformer -> stdout", async () => {
    const conf = join(dir, 'stdout.conf');
    await writeFile(conf, `${pipeline}<match app.**>\n  @type stdout\n</match>\n`);
    const p = spawnSluice(['-c', conf]);
    try {
      const m = await p.waitFor(
        'stdout',
        /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} [+-]\d{4}) app\.web: (\{.*\})$/m,
      );
      const record = JSON.parse(m[2]!);
      assert.equal(record.level, 'info');
      assert.equal(record.service, 'web');
      assert.equal(record.n_text, `n=${record.n}`);
      assert.equal(typeof record.n, 'number');
      // grep dropped every debug event
      await p.waitFor('stdout', /(?:app\.web: [^\n]*\n[\s\S]*?){4}/);
      assert.doesNotMatch(p.stdout(), /noise/);
    } finally {
      assert.equal(await p.stop(), 0);
    }
  });

  test('in the engine, emits reach the output in order with every transformation applied', async () => {
    registerTestPlugins();
    resetCapture();
    const engine = await Engine.fromText(
      `${pipeline}<match app.**>\n  @type test_capture\n  name core\n</match>\n`,
    );
    await engine.start();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for 5 batches')), 10_000);
        const check = () => {
          if ((captured.get('core')?.length ?? 0) < 5) return void setImmediate(check);
          clearTimeout(timer);
          resolve();
        };
        check();
      });
    } finally {
      await engine.stop();
    }
    const recs = recordsOf('core');
    assert.ok(recs.every((r) => r.level === 'info' && r.service === 'web' && r.n_text === `n=${r.n}`));
    // auto_increment_key counts every generated event, the dropped ones included.
    assert.deepEqual(
      recs.slice(0, 3).map((r) => r.n),
      [0, 2, 4],
    );
  });
});
