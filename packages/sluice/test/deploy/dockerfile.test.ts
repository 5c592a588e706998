// The Dockerfile cannot be built here (no Docker engine), so it is held to what can be
// checked: dockerfile-utils' linter, stages, a numeric non-root USER, no remote ADD,
// EXPOSEd ports, fluentd-image conventions, and every COPY source present in the build
// context (not removed by .dockerignore). The entrypoint is run for real in entrypoint.test.ts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { readRepo, repoPath } from './helpers.ts';

const text = readRepo('Dockerfile');
const df = DockerfileParser.parse(text);
const instructions = df.getInstructions();
const froms = df.getFROMs();
const finalStart = froms[froms.length - 1]!.getRange().start.line;
const inFinal = instructions.filter((i) => i.getRange().start.line >= finalStart);
const args = (keyword: string, list = instructions) =>
  list.filter((i) => i.getKeyword() === keyword).map((i) => i.getArguments().map((a) => a.getValue()));

/** .dockerignore patterns as regexps (the subset of Go filepath.Match this file uses: *, **). */
function ignored(path: string): boolean {
  const patterns = readRepo('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return patterns.some((p) => {
    const re = p
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*\*\//g, '\u0000')
      .replace(/\*/g, '[^/]*')
      .replace(/\u0000/g, '(?:.*/)?');
    return new RegExp(`^${re}(?:/.*)?$`).test(path);
  });
}

describe('Dockerfile', () => {
  it('passes the dockerfile-utils linter with no diagnostics', () => {
    assert.deepEqual(
      validate(text, {}).map((d) => `${d.range.start.line + 1}: ${d.message}`),
      [],
    );
    assert.ok(validate('FROM node:20\nEXPOSE 24224/tcpx\n', {}).length > 0, 'the linter does report errors');
  });

  it('is multi-stage: a named build stage, then a runtime stage from the same slim Node image', () => {
    assert.ok(froms.length >= 2);
    assert.equal(froms[0]!.getBuildStage(), 'build');
    const base = args('ARG').find((a) => a[0]!.startsWith('NODE_IMAGE='))?.[0];
    assert.match(base ?? '', /^NODE_IMAGE=node:20(\.\d+)*-[a-z]+-slim$/);
    for (const f of froms) assert.equal(f.getImageName(), '${NODE_IMAGE}');
    const copyFrom = inFinal.filter(
      (i) => i.getKeyword() === 'COPY' && /--from=build\b/.test(i.getTextContent()),
    );
    assert.equal(copyFrom.length, 1, 'the runtime stage takes the app from the build stage');
  });

  it('runs as a numeric non-root user (Kubernetes runAsNonRoot can verify it)', () => {
    const users = args('USER', inFinal);
    assert.equal(users.length, 1);
    const [uid, gid] = users[0]![0]!.split(':');
    assert.match(uid!, /^\d+$/);
    assert.notEqual(Number(uid), 0);
    if (gid !== undefined) assert.notEqual(Number(gid), 0);
  });

  it('never ADDs a URL or archive (COPY only)', () => {
    assert.deepEqual(args('ADD'), []);
  });

  it('EXPOSEs forward 24224 tcp+udp and the monitor port 24220', () => {
    assert.deepEqual(args('EXPOSE', inFinal).flat().sort(), ['24220/tcp', '24224/tcp', '24224/udp']);
  });

  it('keeps the fluent/fluentd conventions: /fluentd/etc/$FLUENTD_CONF, /fluentd/log, FLUENTD_OPT', () => {
    const env = Object.fromEntries(
      args('ENV', inFinal)
        .flat()
        .map((kv) => kv.split('=') as [string, string]),
    );
    assert.equal(env.FLUENTD_CONF, 'fluent.conf');
    assert.ok('FLUENTD_OPT' in env);
    assert.equal(env.SLUICE_CONF_DIR, '/fluentd/etc');
    assert.match(text, /COPY deploy\/docker\/fluent\.conf \/fluentd\/etc\/fluent\.conf/);
    assert.match(text, /mkdir -p \/fluentd\/log/);
    assert.deepEqual(args('ENTRYPOINT', inFinal), [['["sluice-entrypoint"]']]);
    assert.deepEqual(args('CMD', inFinal), [['["sluice"]']]);
    assert.match(text, /COPY deploy\/docker\/entrypoint\.sh \/usr\/local\/bin\/sluice-entrypoint/);
    assert.match(text, /ln -s \/app\/packages\/sluice\/bin\/sluice\.js \/usr\/local\/bin\/sluice/);
  });

  it('every COPY source exists and is inside the build context', () => {
    const sources = instructions
      .filter((i) => i.getKeyword() === 'COPY' && !/--from=/.test(i.getTextContent()))
      .flatMap((i) =>
        i
          .getArguments()
          .slice(0, -1)
          .map((a) => a.getValue()),
      );
    assert.ok(sources.length >= 5);
    for (const s of sources) {
      assert.ok(existsSync(repoPath(s)), `COPY ${s}: no such file in the repository`);
      assert.ok(!ignored(s), `COPY ${s}: excluded by .dockerignore`);
    }
    assert.ok(
      ignored('packages/sluice/test/deploy/k8s.test.ts') && ignored('node_modules/x'),
      '.dockerignore keeps tests and node_modules out',
    );
  });

  it('copies the manifest of every npm workspace before `npm install` (or the install fails in the build)', () => {
    const root = JSON.parse(readRepo('package.json')) as { workspaces: string[] };
    for (const ws of root.workspaces)
      assert.match(text, new RegExp(`COPY ${ws}/package\\.json ${ws}/`), `workspace ${ws}`);
    assert.match(text, /npm install --omit=dev/);
  });

  it('the image runs the compiled build: tsx is a development dependency, left out by `npm install --omit=dev`', () => {
    const sluicePkg = JSON.parse(readRepo('packages/sluice/package.json')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(sluicePkg.dependencies.tsx, undefined, 'tsx is not a runtime dependency of packages/sluice');
    const lock = JSON.parse(readRepo('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    assert.equal(
      lock.packages['node_modules/tsx']?.dev,
      true,
      'package-lock.json installs tsx only with dev',
    );
    // and the build stops with a reason if dist/ is not what runs
    assert.match(text, /chooseEntry\('\/app\/packages\/sluice'\)\.mode !== 'dist'/);
  });
});
