// The search page's targets, read from a built pipeline: which indices each
// elasticsearch/opensearch output writes (so may be searched), its time field and servers;
// monitor_agent's `<search>` sections and the config errors around them and the dashboard's
// access settings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.ts';
import { collectTargets, describeTarget } from '../../src/monitor/search-targets.ts';

const quiet = pino({ level: 'silent' });

describe('search targets', () => {
  it("are the pipeline's elasticsearch/opensearch outputs, copy's stores included", async () => {
    const engine = await Engine.fromText(
      `
<match daily.**>
  @type opensearch
  @id daily
  host os.internal
  port 9201
  scheme https
  user writer
  password pw
  logstash_format true
  logstash_prefix app-\${tag}
</match>
<match plain.**>
  @type elasticsearch
  @id plain
  hosts http://u:p@es1:9200,es2
  index_name Fluentd-%Y.%m
  include_timestamp true
  <buffer time>
    timekey 1d
  </buffer>
</match>
<match stream.**>
  @type copy
  <store>
    @type opensearch
    @id stream
    data_stream_name logs-\${tag}
  </store>
  <store>
    @type null
  </store>
</match>
<match bare.**>
  @type elasticsearch
  @id bare
</match>
`,
      { logger: quiet },
    );
    const targets = collectTargets(engine, []);
    assert.deepEqual([...targets.values()].map(describeTarget), [
      { name: 'daily', source: 'output', type: 'opensearch', index: 'app-*-*', timeField: '@timestamp' },
      {
        name: 'plain',
        source: 'output',
        type: 'elasticsearch',
        index: 'fluentd-*.*',
        timeField: '@timestamp',
      },
      { name: 'stream', source: 'output', type: 'opensearch', index: 'logs-*', timeField: '@timestamp' },
      { name: 'bare', source: 'output', type: 'elasticsearch', index: 'fluentd', timeField: 'time' },
    ]);
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    assert.deepEqual(targets.get('daily')!.servers, [
      { base: 'https://os.internal:9201', authorization: basic('writer:pw') },
    ]);
    assert.deepEqual(targets.get('plain')!.servers, [
      { base: 'http://es1:9200', authorization: basic('u:p') },
      { base: 'http://es2:9200', authorization: undefined },
    ]);
    assert.deepEqual(targets.get('bare')!.servers, [
      { base: 'http://localhost:9200', authorization: undefined },
    ]);
    // What the page is given carries no server and no credential.
    assert.doesNotMatch(JSON.stringify([...targets.values()].map(describeTarget)), /os\.internal|pw|Basic/);
    for (const t of targets.values()) await t.agent.close();
  });

  it('a <search> section is checked when the config is built; its name may not be an output @id', async () => {
    await assert.rejects(
      Engine.fromText(
        '<source>\n  @type monitor_agent\n  dashboard true\n  <search>\n    name x\n  </search>\n</source>\n',
        { logger: quiet },
      ),
      /'index'/,
    );
    await assert.rejects(
      Engine.fromText(
        '<source>\n  @type monitor_agent\n  <search>\n    name x\n    index a-*\n    hosts ftp://x\n  </search>\n</source>\n',
        { logger: quiet },
      ),
      /SEARCH_BAD_HOSTS|http or https|not host:port/,
    );
    const engine = await Engine.fromText(
      `<source>
  @type monitor_agent
  port 0
  dashboard true
  <search>
    name es
    index a-*
  </search>
</source>
<match **>
  @type elasticsearch
  @id es
</match>
`,
      { logger: quiet },
    );
    await assert.rejects(engine.start(), /SEARCH_DUPLICATE_NAME: <search> name 'es'/);
    await engine.stop();
  });

  it('a dashboard off loopback needs a token or a password', async () => {
    const conf = (extra: string) =>
      `<source>\n  @type monitor_agent\n  bind 0.0.0.0\n  port 0\n  dashboard true\n${extra}</source>\n`;
    await assert.rejects(Engine.fromText(conf(''), { logger: quiet }), /MONITOR_DASHBOARD_NO_AUTH/);
    await assert.rejects(
      Engine.fromText(conf('  dashboard_password p\n'), { logger: quiet }),
      /MONITOR_DASHBOARD_AUTH: dashboard_password is set without dashboard_user/,
    );
    for (const ok of ['  dashboard_token t\n', '  dashboard_user u\n  dashboard_password p\n']) {
      const e = await Engine.fromText(conf(ok), { logger: quiet });
      await e.stop();
    }
    // loopback, or no dashboard: nothing asked
    const lo = await Engine.fromText(
      '<source>\n  @type monitor_agent\n  bind 127.0.0.1\n  port 0\n  dashboard true\n</source>\n',
      { logger: quiet },
    );
    await lo.stop();
    const api = await Engine.fromText(
      '<source>\n  @type monitor_agent\n  bind 0.0.0.0\n  port 0\n</source>\n',
      {
        logger: quiet,
      },
    );
    await api.stop();
  });
});
