// Sluice keeps V8's young generation small unless the user chose its size (issue 26: CPU
// per event and peak RSS): the flags `<system> workers N` starts its workers with, and the
// check every process makes before it keeps its own young generation at its initial size.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerExecArgv, youngGenerationChosen } from '../../src/core/heap-flags.ts';

describe('worker node flags', () => {
  it('adds --max-semi-space-size=1 to the supervisor flags', () => {
    assert.deepEqual(workerExecArgv(['--import', 'tsx']), ['--import', 'tsx', '--max-semi-space-size=1']);
    assert.deepEqual(workerExecArgv([], ''), ['--max-semi-space-size=1']);
  });
  it('keeps a size the user chose, on the command line or in NODE_OPTIONS', () => {
    assert.deepEqual(workerExecArgv(['--max-semi-space-size=16']), ['--max-semi-space-size=16']);
    assert.deepEqual(workerExecArgv([], '--enable-source-maps --max-semi-space-size=8'), []);
    assert.deepEqual(workerExecArgv(['--min-semi-space-size=4']), ['--min-semi-space-size=4']);
  });
  it('sees a young-generation choice among the flags', () => {
    assert.equal(youngGenerationChosen([], ''), false);
    assert.equal(youngGenerationChosen(['--max-old-space-size=512'], '--enable-source-maps'), false);
    assert.equal(youngGenerationChosen(['--semi-space-growth-factor=2'], ''), true);
    assert.equal(youngGenerationChosen([], '--max-semi-space-size=32'), true);
  });
});
