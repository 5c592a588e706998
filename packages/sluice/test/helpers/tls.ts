import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool } from './tools.ts';

export interface TestCert {
  dir: string;
  cert: string;
  key: string;
  /** Removes the temp dir; call it after the test. */
  cleanup(): void;
}

/** A throwaway self-signed certificate for 127.0.0.1/localhost in a temp dir, made with the openssl CLI. */
export function selfSignedCert(): TestCert {
  requireTool('openssl', 'openssl', ['version']);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=localhost',
      '-days',
      '1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { dir, cert, key, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
