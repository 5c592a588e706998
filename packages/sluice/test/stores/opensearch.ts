// A one-node OpenSearch 2.19 for tests and benchmarks, from the jars of jvm/opensearch/pom.xml
// and the launcher jvm/opensearch/SluiceOpenSearch.java (both installed by
// scripts/test-deps.d/50-stores.sh). SLUICE_TEST_OPENSEARCH_URL points the tests at a
// server of your own instead (nothing is started then, and stop() leaves it alone).

import { join } from 'node:path';
import {
  cached,
  classpath,
  fetchWithin,
  javaBin,
  STORES_SRC,
  spawnServer,
  startOrStop,
  waitForLog,
  waitUntil,
} from './process.ts';

export const OPENSEARCH_VERSION = '2.19.6';

export interface OpenSearchServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** false when SLUICE_TEST_OPENSEARCH_URL named a server started elsewhere */
  started: boolean;
  /** ms from spawn to a yellow cluster (0 for an external server) */
  startMs: number;
  /** VmHWM of the JVM so far, KiB (undefined for an external server) */
  peakRssKiB(): number | undefined;
  stop(): Promise<void>;
}

export interface OpenSearchOptions {
  /** JVM heap in MiB, -Xms and -Xmx (default 512) */
  heapMb?: number;
  /** bound on the whole start, ms (default 120 s: a busy 2-core machine) */
  timeoutMs?: number;
}

export async function startOpenSearch(opts: OpenSearchOptions = {}): Promise<OpenSearchServer> {
  const external = process.env.SLUICE_TEST_OPENSEARCH_URL;
  if (external) {
    return {
      url: external.replace(/\/+$/, ''),
      started: false,
      startMs: 0,
      peakRssKiB: () => undefined,
      stop: async () => {},
    };
  }
  const cp = `${classpath('opensearch', `OpenSearch ${OPENSEARCH_VERSION}`)}:${cached('opensearch-launcher', 'the OpenSearch launcher')}`;
  const heap = opts.heapMb ?? 512;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const server = spawnServer({
    name: 'opensearch',
    command: javaBin(),
    args: [
      `-Xms${heap}m`,
      `-Xmx${heap}m`,
      '-XX:+UseSerialGC', // one GC thread's worth of work on a shared 2-core machine
      '-XX:TieredStopAtLevel=1', // C1 only: faster start, enough for tests
      '-Djava.awt.headless=true',
      '-Dopensearch.set.netty.runtime.available.processors=false',
      `-Dlog4j.configurationFile=${join(STORES_SRC, 'jvm', 'opensearch', 'log4j2.properties')}`,
      '-cp',
      cp,
      'SluiceOpenSearch',
      'home',
    ],
  });
  return startOrStop(server, async () => {
    const m = await waitForLog(server, /^sluice-opensearch http (\S+)$/m, timeoutMs);
    const url = `http://${m[1]}`;
    await waitUntil(
      server,
      'a yellow cluster',
      async () => {
        const r = await fetchWithin(`${url}/_cluster/health?wait_for_status=yellow&timeout=5s`, 10_000);
        return r.ok && ((await r.json()) as { status: string }).status !== 'red';
      },
      Math.max(1_000, deadline - Date.now()),
    );
    return {
      url,
      started: true,
      get startMs() {
        return server.startMs;
      },
      peakRssKiB: () => server.peakRssKiB(),
      stop: () => server.stop(),
    };
  });
}
