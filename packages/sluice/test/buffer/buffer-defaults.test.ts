// An output's declared <buffer> defaults (Fluentd's config_set_default) and the resolved
// <buffer> the buffer engine hands an output and its secondary (OutputPlugin.useBuffer).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BufferConfig } from '../../src/core/buffer-config.ts';
import type { PluginDescriptor } from '../../src/core/plugin.ts';
import { UTC } from '../../src/time/time-zone.ts';
import { build, descriptor, FakeOutput } from './helpers.ts';

class Recording extends FakeOutput {
  given: BufferConfig[] = [];
  useBuffer(b: BufferConfig): void {
    this.given.push(b);
  }
}

const withDefaults = (d: PluginDescriptor['bufferDefaults']): PluginDescriptor => ({
  ...descriptor,
  bufferDefaults: d,
});

describe('buffer defaults declared by an output', () => {
  it('chunk keys, timekey and other parameters apply where <buffer> leaves them out', async () => {
    const { bo } = await build('<buffer>\n</buffer>', {
      descriptor: withDefaults({ chunkKeys: ['time'], timekey: 3600, params: { timekey_use_utc: 'true' } }),
    });
    assert.deepEqual(bo.config.keys, { tag: false, time: true, keys: [] });
    assert.equal(bo.config.timekey, 3600);
    assert.equal(bo.config.zone, UTC);
  });

  it('what the config writes wins over the declared defaults', async () => {
    const { bo } = await build('<buffer tag>\ntimekey_use_utc false\n</buffer>', {
      descriptor: withDefaults({ chunkKeys: ['time'], timekey: 3600, params: { timekey_use_utc: 'true' } }),
    });
    assert.deepEqual(bo.config.keys, { tag: true, time: false, keys: [] });
    assert.notEqual(bo.config.zone, UTC);
  });

  it('the declared buffer type is used when <buffer> has no @type', async () => {
    const { bo } = await build(undefined, {
      descriptor: withDefaults({ type: 'memory', chunkKeys: ['tag'] }),
    });
    assert.equal(bo.config.type, 'memory');
    assert.deepEqual(bo.config.keys, { tag: true, time: false, keys: [] });
  });
});

describe('the resolved <buffer> handed to outputs', () => {
  it('the output and its secondary get the buffer engine’s settings once, before start', async () => {
    const out = new Recording();
    const secondary = new Recording();
    const { bo } = await build('<buffer tag, time>\ntimekey 60\n</buffer>', { output: out, secondary });
    assert.equal(out.given.length, 1);
    assert.equal(out.given[0], bo.config);
    assert.equal(secondary.given[0], bo.config);
    assert.equal(out.given[0]!.timekey, 60);
  });

  it('an error thrown by useBuffer fails the build', async () => {
    const out = new Recording();
    out.useBuffer = () => {
      throw new Error('bad path for these chunk keys');
    };
    await assert.rejects(build('<buffer>\n</buffer>', { output: out }), /bad path for these chunk keys/);
  });
});
