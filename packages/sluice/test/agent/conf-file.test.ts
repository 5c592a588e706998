import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { evaluateConf, parseLogs, settingsFromConf } from '../../src/agent/conf-file.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-agent-conf-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const extras = {
  stateDir: '/state',
  ack: false,
  buffer: 'file' as const,
  recoverWaitS: 10,
  readFromHead: false,
  workers: undefined,
};
const noExplicit = { stateDir: false, ack: false };

/** The seed's own conf (002): a shell script that runs hostname, writes the server list, heredocs LOGS. */
function seedConf(d: string): string {
  return `# pre-process
hostname=$(hostname)
mkdir -p ${d}/etc
cat <<"EOF" > ${d}/etc/primary_servers_list.conf
agg1.local:24224
agg2.local:24230
EOF
# configuration
TAG_PREFIX=raw
LOGS=$(cat <<EOF
# a comment line
web.access.$hostname ${d}/access.log

web.error.$hostname ${d}/error.log
EOF
)
PRIMARY_SERVERS_LIST=${d}/etc/primary_servers_list.conf
LOG_PATH=${d}/fluent-agent.log
LOG_VERBOSE=yes
KEEPALIVE_TIME=10800
FORCE_START=1
echo "this goes to stderr, not into the variables"
[ -f /usr/dena/bin/infraperl ] && PERL_PATH=/usr/dena/bin/infraperl
`;
}

describe('sluice agent --conf (the conf file is a shell script, evaluated with bash)', () => {
  it("reads the seed's conf: $(hostname), heredoc LOGS, a server list the script writes, TAG_PREFIX", async () => {
    const conf = join(dir, 'fluent-agent-lite.conf');
    await writeFile(conf, seedConf(dir));
    const vars = evaluateConf(conf);
    assert.equal(vars.TAG_PREFIX, 'raw');
    assert.equal(vars.KEEPALIVE_TIME, '10800');
    assert.equal(vars.PERL_PATH, undefined);
    assert.match(await readFile(join(dir, 'etc/primary_servers_list.conf'), 'utf8'), /agg2.local:24230/);
    const s = settingsFromConf(vars, extras, noExplicit);
    const h = hostname();
    assert.deepEqual(s.logs, [
      { tag: `raw.web.access.${h}`, path: `${dir}/access.log` },
      { tag: `raw.web.error.${h}`, path: `${dir}/error.log` },
    ]);
    assert.deepEqual(s.primary, [
      { host: 'agg1.local', port: 24224 },
      { host: 'agg2.local', port: 24230 },
    ]);
    assert.deepEqual(s.secondary, []);
    assert.equal(s.keepaliveS, 10800);
    assert.equal(s.verbose, true);
    assert.equal(s.forceStart, true);
    assert.equal(s.logPath, `${dir}/fluent-agent.log`);
  });

  it('the package conf: PRIMARY_SERVER/SECONDARY_SERVER, FIELD_NAME, ping, drain log, timings', async () => {
    const conf = join(dir, 'pkg.conf');
    await writeFile(
      conf,
      `TAG_PREFIX=""
FIELD_NAME="msg"
LOGS=$(cat <<"EOF"
apache2     ${dir}/access.log
# yourservice /var/log/yourservice/access.log
EOF
)
PRIMARY_SERVER="primary.fluentd.local:24224"
SECONDARY_SERVER="secondary.fluentd.local"
READ_BUFFER_SIZE=65536
PING_TAG=ping
PING_DATA=\`echo web01\`
PING_INTERVAL=30
DRAIN_LOG_TAG=drain
RECONNECT_WAIT_MAX=60
RECONNECT_WAIT_INCR_RATE=2
FORCE_START=yes
REQUIRE_ACK=yes
STATE_DIR=${dir}/state
`,
    );
    const s = settingsFromConf(evaluateConf(conf), extras, noExplicit);
    assert.deepEqual(s.logs, [{ tag: 'apache2', path: `${dir}/access.log` }]);
    assert.deepEqual(s.primary, [{ host: 'primary.fluentd.local', port: 24224 }]);
    assert.deepEqual(s.secondary, [{ host: 'secondary.fluentd.local', port: 24224 }]);
    assert.equal(s.fieldName, 'msg');
    assert.equal(s.readBufferSize, 65536);
    assert.deepEqual(s.ping, { tag: 'ping', data: 'web01', intervalS: 30 });
    assert.equal(s.drainLogTag, 'drain');
    assert.equal(s.reconnectWaitMaxS, 60);
    assert.equal(s.reconnectWaitIncrRate, 2);
    assert.equal(s.ack, true);
    assert.equal(s.stateDir, `${dir}/state`);
    // --state-dir given on the command line wins over STATE_DIR
    assert.equal(
      settingsFromConf(evaluateConf(conf), extras, { stateDir: true, ack: false }).stateDir,
      '/state',
    );
  });

  it('checks what the init script checks: servers, readable files unless FORCE_START, PING_DATA', async () => {
    const conf = join(dir, 'bad.conf');
    const run = async (text: string) => {
      await writeFile(conf, text);
      return () => settingsFromConf(evaluateConf(conf), extras, noExplicit);
    };
    assert.throws(
      await run(`LOGS="a ${dir}/x.log"\nFORCE_START=1\n`),
      /PRIMARY_SERVER\/PRIMARY_SERVERS_LIST not found/,
    );
    assert.throws(
      await run(`LOGS="a ${dir}/missing.log"\nPRIMARY_SERVER=h\n`),
      /missing.log does not exist or is not readable/,
    );
    assert.throws(await run(`LOGS=""\nPRIMARY_SERVER=h\n`), /No input logfiles specified/);
    assert.throws(
      await run(`LOGS="a ${dir}/x"\nPRIMARY_SERVER=h\nFORCE_START=1\nPING_TAG=p\n`),
      /PING_DATA not specified/,
    );
    assert.throws(
      await run(`LOGS="a ${dir}/x"\nPRIMARY_SERVER=h\nFORCE_START=no\n`),
      /does not exist or is not readable/,
    );
    assert.throws(() => evaluateConf(join(dir, 'nope.conf')), /Config file does not exists/);
  });

  it('LOGS lines: comments, blank lines and extra spaces', () => {
    assert.deepEqual(parseLogs('  a   /x  \n#b /y\n\n c /z', 'p'), [
      { tag: 'p.a', path: '/x' },
      { tag: 'p.c', path: '/z' },
    ]);
    assert.throws(() => parseLogs('lonely', ''), /'lonely' is not 'tag \/path\/to\/file'/);
  });
});
