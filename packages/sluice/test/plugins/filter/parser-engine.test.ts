import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventTime } from '@sluice/forward';
import pino from 'pino';
import { EventBatch } from '../../../src/core/batch.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { recordsOf, registerTestPlugins, resetCapture } from '../../helpers/capture.ts';

test('in a running pipeline, parsed access-log lines reach the output and malformed ones reach @ERROR', async () => {
  registerTestPlugins();
  resetCapture();
  const engine = await Engine.fromText(
    [
      '<filter app.**>',
      '  @type parser',
      '  key_name log',
      '  <parse>',
      '    @type apache2',
      '  </parse>',
      '</filter>',
      '<match app.**>',
      '  @type test_capture',
      '  name ok',
      '</match>',
      '<label @ERROR>',
      '  <match **>',
      '    @type test_capture',
      '    name err',
      '  </match>',
      '</label>',
    ].join('\n'),
    { logger: pino({ level: 'silent' }) },
  );
  await engine.start();
  try {
    const t = new EventTime(1000, 0);
    await engine.emit(
      EventBatch.fromEntries('app.web', [
        {
          time: t,
          record: {
            log: '192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0"',
          },
        },
        { time: t, record: { log: 'garbage line' } },
        { time: t, record: { other: 'no log field' } },
        { time: t, record: { log: '10.0.0.1 - bob [28/Feb/2013:12:00:01 +0900] "POST /x HTTP/1.1" 500 -' } },
      ]),
    );
    assert.deepEqual(
      recordsOf('ok').map((r) => [r.host, r.user, r.code]),
      [
        ['192.168.0.1', null, 200],
        ['10.0.0.1', 'bob', 500],
      ],
    );
    assert.deepEqual(recordsOf('err'), [{ log: 'garbage line' }, { other: 'no log field' }]);
  } finally {
    await engine.stop();
  }
});
