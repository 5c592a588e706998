// Issue 24, point 5: Sluice beyond one machine. Two edge Sluices (tail -> kafka2) write to a
// topic with 4 partitions; two aggregator Sluices in one consumer group (kafka_group -> file
// buffer -> out_file) share its partitions. One aggregator is SIGKILLed in the middle: the
// other takes its partitions over, and every line written on the edges arrives
// (at-least-once; duplicates are reported). What the killed aggregator had accepted into its
// file buffer (and so committed) comes out of that buffer when it is started again, as a
// Kubernetes Deployment or a compose restart policy would: the test restarts it at the end.
// The same topology as examples/compose/kafka-scale-out and examples/k8s/kafka-scale-out.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, watch } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../buffer/helpers.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';
import { createTopic, topicName } from '../plugins/output/kafka-helpers.ts';
import { type KafkaServer, startKafka } from '../stores/kafka.ts';

const LINES = 3000; // per edge, in three bursts

describe('scale-out through Kafka (e2e)', () => {
  let kafka: KafkaServer;
  before(async () => {
    kafka = await startKafka();
  });
  after(async () => {
    await kafka?.stop();
  });

  it('two edges -> 4 partitions -> two aggregators in one group; one aggregator killed: every line arrives', {
    timeout: 600_000,
  }, async (t) => {
    const { dir, cleanup } = await tempDir();
    const topic = topicName('scale');
    await createTopic(kafka.brokers, topic, 4);
    const brokers = kafka.brokers.join(',');
    const edgeConf = (n: number) =>
      `<source>\n  @type tail\n  path ${join(dir, `edge${n}.log`)}\n  pos_file ${join(dir, `edge${n}.pos`)}\n  tag edge${n}\n  read_from_head true\n  <parse>\n    @type none\n  </parse>\n</source>\n` +
      `<match edge*>\n  @type kafka2\n  brokers ${brokers}\n  default_topic ${topic}\n  <buffer>\n    @type file\n    path ${join(dir, `edge${n}-buffer`)}\n    flush_mode interval\n    flush_interval 0.2\n  </buffer>\n</match>\n`;
    const outDir = join(dir, 'out');
    mkdirSync(outDir);
    const aggConf = (n: number) =>
      `<source>\n  @type kafka_group\n  brokers ${brokers}\n  consumer_group aggregators\n  topics ${topic}\n  session_timeout 10\n  retry_wait_seconds 1\n</source>\n` +
      `<match **>\n  @type file\n  path ${join(outDir, `agg${n}`)}\n  append true\n  <buffer>\n    @type file\n    path ${join(dir, `agg${n}-buffer`)}\n    flush_mode interval\n    flush_interval 0.2\n  </buffer>\n</match>\n`;
    for (const n of [1, 2]) {
      await writeFile(join(dir, `edge${n}.conf`), edgeConf(n));
      await writeFile(join(dir, `agg${n}.conf`), aggConf(n));
      await writeFile(join(dir, `edge${n}.log`), '');
    }
    const start = async (name: string) => {
      const p = spawnSluice(['-c', join(dir, `${name}.conf`)]);
      await p.waitFor('stderr', /sluice started/, 90_000);
      return p;
    };
    // every message line of every file out_file wrote: "time\ttag\t{json}"
    const counts = () => {
      const seen = new Map<string, number>();
      for (const f of readdirSync(outDir)) {
        for (const line of readFileSync(join(outDir, f), 'utf8').split('\n')) {
          if (!line) continue;
          const msg = (JSON.parse(line.slice(line.lastIndexOf('\t') + 1)) as { message: string }).message;
          seen.set(msg, (seen.get(msg) ?? 0) + 1);
        }
      }
      return seen;
    };
    const written: string[] = [];
    const burst = (from: number, to: number) => {
      for (const n of [1, 2]) {
        let text = '';
        for (let i = from; i < to; i++) {
          const m = `edge${n}-${String(i).padStart(6, '0')}`;
          written.push(m);
          text += `${m}\n`;
        }
        appendFileSync(join(dir, `edge${n}.log`), text);
      }
    };
    /** Resolves once every line in `want` is in the output files (checked when they change), bounded. */
    const arrived = (want: string[], ms: number) =>
      new Promise<string[]>((resolve) => {
        const missing = () => {
          const seen = counts();
          return want.filter((w) => !seen.has(w));
        };
        const w = watch(outDir);
        const done = (m: string[]) => {
          w.close();
          clearTimeout(timer);
          resolve(m);
        };
        const timer = setTimeout(() => done(missing()), ms);
        w.on('change', () => {
          if (missing().length === 0) done([]);
        });
        if (missing().length === 0) done([]);
      });

    const procs: SluiceProcess[] = [];
    try {
      const agg1 = await start('agg1');
      const agg2 = await start('agg2');
      procs.push(agg1, agg2);
      procs.push(await start('edge1'), await start('edge2'));
      const third = Math.floor(LINES / 3);
      const wrote = (n: number) =>
        readdirSync(outDir).some(
          (f) => f.startsWith(`agg${n}`) && readFileSync(join(outDir, f), 'utf8').length > 0,
        );
      // The first lines can all be read by the aggregator that joined first, before the group
      // has rebalanced to two members: small bursts until both have written (bounded in count
      // and time), so that the kill below takes partitions away from a working member.
      let next = 0;
      const warmUntil = Date.now() + 120_000;
      for (let k = 0; k < 200 && Date.now() < warmUntil; k++) {
        burst(next, next + 50);
        next += 50;
        assert.deepEqual(await arrived([...written], 120_000), [], 'first lines, before the kill');
        if (wrote(1) && wrote(2)) break;
      }
      const fromA = counts().size;
      assert.ok(wrote(1) && wrote(2), 'both aggregators got partitions and wrote lines');
      // the second burst is on its way when agg1 dies
      burst(next, next + third);
      agg1.proc.kill('SIGKILL');
      await agg1.exited;
      burst(next + third, next + 2 * third);
      // agg2 takes agg1's partitions once the group drops agg1 (session_timeout 10 s); what
      // agg1 had accepted into its buffer before dying is still there
      const missingBeforeRestart = await arrived([...written], 120_000);
      t.diagnostic(
        `after the kill, before agg1 is back: ${missingBeforeRestart.length} lines only in agg1's buffer`,
      );
      const agg1b = await start('agg1');
      procs.push(agg1b);
      const missing = await arrived([...written], 120_000);
      const seen = counts();
      const dups = [...seen.values()].reduce((n, c) => n + (c - 1), 0);
      t.diagnostic(
        `lines written: ${written.length}, arrived: ${seen.size} distinct, duplicates: ${dups}, missing: ${missing.length}; first burst ${fromA} lines`,
      );
      assert.deepEqual(missing.slice(0, 10), []);
    } finally {
      for (const p of procs) await p.stop(10_000);
      await cleanup();
    }
  });
});
