// moto's server (PyPI moto[server], in the venv that scripts/test-deps.d/50-stores.sh builds)
// for the AWS APIs the tests use: S3 (multipart included) and Firehose. All services share one
// endpoint; S3 clients need forcePathStyle. SLUICE_TEST_MOTO_ENDPOINT points the tests at a
// server of your own instead (nothing is started then, and stop() leaves it alone).

import { join } from 'node:path';
import { cached, fetchWithin, spawnServer, startOrStop, waitForLog, waitUntil } from './process.ts';

export interface MotoServer {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  /** region and credentials moto accepts (any work; these are what the tests use) */
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** false when SLUICE_TEST_MOTO_ENDPOINT named a server started elsewhere */
  started: boolean;
  /** ms from spawn to an answering server (0 for an external one) */
  startMs: number;
  /** VmHWM of moto's Python process so far, KiB (undefined for an external one) */
  peakRssKiB(): number | undefined;
  stop(): Promise<void>;
}

// The AWS SDK v3 warns once per process that its releases after January 2027 need Node 22;
// the project runs on Node 20 with the versions package-lock.json pins, so the tests say it
// once in docs/testing.md instead of in every test file's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const MOTO_REGION = 'us-east-1';

/** The venv's python (moto, boto3, fluent-logger), or an error that says how to install it. */
export function venvPython(): string {
  return join(cached('venv', 'the Python venv of the test stores'), 'bin', 'python');
}

export async function startMoto(opts: { timeoutMs?: number } = {}): Promise<MotoServer> {
  const base = { region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
  const external = process.env.SLUICE_TEST_MOTO_ENDPOINT;
  if (external) {
    const endpoint = external.replace(/\/+$/, '');
    return {
      ...base,
      endpoint,
      started: false,
      startMs: 0,
      peakRssKiB: () => undefined,
      stop: async () => {},
    };
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const bin = join(cached('venv', 'the Python venv of the test stores'), 'bin', 'moto_server');
  const server = spawnServer({
    name: 'moto',
    command: bin,
    // port 0: the OS picks a free one, which werkzeug prints
    args: ['-H', '127.0.0.1', '-p', '0'],
    env: { PYTHONUNBUFFERED: '1', AWS_DEFAULT_REGION: MOTO_REGION, ...MOTO_ENV },
  });
  return startOrStop(server, async () => {
    const m = await waitForLog(server, /Running on (http:\/\/127\.0\.0\.1:\d+)/, timeoutMs);
    const endpoint = m[1]!;
    await waitUntil(
      server,
      'an answer on /moto-api/',
      async () => (await fetchWithin(`${endpoint}/moto-api/data.json`, 5_000)).ok,
      Math.max(1_000, deadline - Date.now()),
    );
    return {
      ...base,
      endpoint,
      started: true,
      get startMs() {
        return server.startMs;
      },
      peakRssKiB: () => server.peakRssKiB(),
      stop: () => server.stop(),
    };
  });
}

/** Credentials for the moto server process and Python clients (boto3 reads these). */
export const MOTO_ENV = {
  AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
};
