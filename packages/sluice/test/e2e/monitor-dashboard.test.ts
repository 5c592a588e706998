// Acceptance (issue 8): a headless Chromium (Debian's, driven by playwright-core) opens the
// dashboard of a running `sluice`, sees the pipeline graph, sees an edge's rate rise while
// events flow, and sees live-tail lines for the chosen tag. Saves a screenshot under
// test-artifacts/ for a person to look at.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from '../helpers/browser.ts';
import { freePort } from '../helpers/ports.ts';
import { type SluiceProcess, spawnSluice } from '../helpers/sluice-process.ts';

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));

let dir: string;
let proc: SluiceProcess | undefined;
let browser: BrowserContext | undefined;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-dashboard-'));
});
after(async () => {
  await browser?.close();
  await proc?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the dashboard shows the graph, a rising rate and live-tail lines of the chosen tag', async () => {
  const deadPort = await freePort();
  const conf = join(dir, 'dashboard.conf');
  await writeFile(
    conf,
    `
<source>
  @type monitor_agent
  @id monitor
  port 0
  dashboard true
</source>
<source>
  @type sample
  @id app_events
  tag app.hello
  rate 20
  size 5
  sample {"message":"hello from the app"}
</source>
<source>
  @type sample
  @id pings
  tag sys.ping
  rate 5
  sample {"message":"ping"}
</source>
<filter app.**>
  @type record_transformer
  @id add_host
  <record>
    host test
  </record>
</filter>
<match app.**>
  @type copy
  @id fan_out
  <store>
    @type null
    @id discard
  </store>
  <store>
    @type null
    @id archive
    <buffer>
      flush_interval 1s
    </buffer>
  </store>
  <store ignore_error>
    @type http
    @id downstream
    endpoint http://127.0.0.1:${deadPort}/events
    <buffer>
      flush_interval 0.5s
      retry_wait 1s
    </buffer>
  </store>
</match>
<match sys.**>
  @type null
  @id sys_out
</match>
`,
  );
  proc = spawnSluice(['-c', conf]);
  const base = (await proc.waitFor('stderr', /monitor_agent listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;

  const launched = await launchChromium(dir, { width: 1400, height: 900 });
  browser = launched.browser;
  const { page, consoleErrors } = launched;
  await page.goto(`${base}/`, { timeout: 30_000 });
  assert.equal(new URL(page.url()).pathname, '/dashboard/', 'the monitor root redirects to the dashboard');

  // The graph: sources -> router -> filter / matches -> copy stores.
  for (const id of [
    'in:app_events',
    'in:pings',
    'router:',
    'filter:add_host',
    'out:fan_out',
    'out:discard',
    'out:archive',
    'out:sys_out',
  ]) {
    await page.locator(`#graph g.node[data-id="${id}"]`).waitFor({ timeout: 15_000 });
  }
  assert.match((await page.locator('#graph g.node[data-id="out:archive"]').textContent()) ?? '', /archive/);

  // A rate rises on the edge from the app source while it emits (100 events/s configured).
  const edge = '#graph text.rate[data-counter="in:app_events"]';
  // (Page-side code is given as text: the test's TypeScript has no DOM types.)
  await page.waitForFunction(
    `Number(document.querySelector(${JSON.stringify(edge)})?.getAttribute('data-rate') ?? 0) > 0`,
    undefined,
    {
      timeout: 20_000,
    },
  );
  assert.match((await page.locator(edge).textContent()) ?? '', /\/s$/);
  assert.equal(await page.locator('#graph g.edge.active[data-counter="in:app_events"]').count(), 1);
  await page.locator('#outputs tr[data-output="archive"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#status').textContent(), 'ready');
  // The output whose receiver is down shows its retry state and last error.
  await page.locator('#graph g.node.output.retrying[data-id="out:downstream"]').waitFor({ timeout: 20_000 });
  assert.match(
    (await page.locator('#outputs tr[data-output="downstream"]').textContent()) ?? '',
    /retrying.*ECONNREFUSED/,
  );

  // Live tail of app.** only.
  await page.fill('#tail-pattern', 'app.**');
  await page.click('#tail-form button[type="submit"]');
  await page.locator('#tail li[data-tag="app.hello"]').first().waitFor({ timeout: 20_000 });
  await page.waitForFunction(`document.querySelectorAll('#tail li').length >= 5`, undefined, {
    timeout: 20_000,
  });
  const tags = await page
    .locator('#tail li')
    .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-tag')));
  assert.ok(
    tags.every((t) => t === 'app.hello'),
    `only app.** lines: ${tags.join(',')}`,
  );
  assert.match((await page.locator('#tail li').first().textContent()) ?? '', /hello from the app/);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
});
