import { readFileSync } from 'node:fs';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Resolved } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';

/** `<transport tls>` params shared by forward input and output (Fluentd's names). */
export const tlsParams = {
  version: {
    type: 'enum',
    values: ['TLSv1_1', 'TLSv1_2', 'TLSv1_3'],
    default: 'TLSv1_2',
    description: 'Minimum TLS version (Fluentd: tls_version).',
  },
  min_version: {
    type: 'enum',
    values: ['TLSv1_1', 'TLSv1_2', 'TLSv1_3'],
    default: null,
    description: 'Minimum TLS version; overrides `version`.',
  },
  max_version: {
    type: 'enum',
    values: ['TLSv1_1', 'TLSv1_2', 'TLSv1_3'],
    default: null,
    description: 'Maximum TLS version.',
  },
  ciphers: { type: 'string', default: null, description: 'OpenSSL cipher list.' },
  insecure: {
    type: 'bool',
    default: false,
    description: 'Client: do not verify the server certificate (tests only).',
  },
  ca_path: { type: 'string', default: null, description: 'CA certificate file (PEM) to verify the peer.' },
  cert_path: { type: 'string', default: null, description: 'Certificate file (PEM).' },
  private_key_path: { type: 'string', default: null, description: 'Private key file (PEM).' },
  private_key_passphrase: { type: 'secret', default: null, description: 'Passphrase of the private key.' },
  client_cert_auth: {
    type: 'bool',
    default: false,
    description: 'Server: require and verify a client certificate (signed by ca_path).',
  },
} as const;

const versions: Record<string, SecureContextOptions['minVersion']> = {
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

function read(path: string | undefined, what: string, el: Resolved): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(
      `<transport tls> ${what} '${path}' cannot be read: ${(e as Error).message}`,
      el.element.location,
    );
  }
}

/** Node TLS options from a resolved `<transport tls>` section. */
export function tlsOptions(t: Resolved, side: 'server' | 'client'): TlsOptions {
  const p = t.params as Record<string, string | boolean | undefined>;
  const cert = read(p.cert_path as string | undefined, 'cert_path', t);
  const key = read(p.private_key_path as string | undefined, 'private_key_path', t);
  if (side === 'server' && (!cert || !key)) {
    throw new ConfigError(
      '<transport tls> needs cert_path and private_key_path (certificate generation is not built in Sluice)',
      t.element.location,
    );
  }
  return {
    cert,
    key,
    passphrase: p.private_key_passphrase as string | undefined,
    ca: read(p.ca_path as string | undefined, 'ca_path', t),
    minVersion: versions[(p.min_version ?? p.version) as string],
    maxVersion: p.max_version ? versions[p.max_version as string] : undefined,
    ciphers: p.ciphers as string | undefined,
    requestCert: side === 'server' ? Boolean(p.client_cert_auth) : undefined,
    rejectUnauthorized: side === 'server' ? Boolean(p.client_cert_auth) : !p.insecure,
  };
}
