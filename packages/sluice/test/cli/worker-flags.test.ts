// The flags `<system> workers N` starts its workers with: the supervisor's own, plus a small
// young generation unless the user chose its size (issue 26: worker peak RSS).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerExecArgv } from '../../src/cli/supervisor.ts';

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
});
