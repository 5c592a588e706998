import { readFileSync } from 'node:fs';
import type { SecureVersion, TlsOptions } from 'node:tls';
import type { ConfigElement } from '../config/ast.ts';
import { defineSection, type SectionOf } from '../config/schema.ts';
import { ConfigError } from './errors.ts';

/** Fluentd's TLS version names (`Fluent::TLS::SUPPORTED_VERSIONS`). */
export const TLS_VERSIONS = ['TLSv1_1', 'TLSv1_2', 'TLSv1_3', 'TLS1_1', 'TLS1_2', 'TLS1_3'] as const;

/** Node's name for a Fluentd TLS version name (`TLSv1_2` / `TLS1_2` -> `TLSv1.2`). */
export function nodeTlsVersion(v: string | undefined): SecureVersion | undefined {
  if (!v) return undefined;
  return `TLSv1.${v.slice(-1)}` as SecureVersion;
}

/**
 * `<transport tcp|tls>` of a listening input (forward, http, postback): the subset of
 * Fluentd's server transport parameters Sluice acts on.
 */
export const transportSection = defineSection({
  description: "Listen with TLS: `<transport tls>` (the argument is 'tcp' or 'tls'; tcp is plain).",
  arg: 'tcp | tls',
  params: {
    cert_path: { type: 'string', description: 'PEM certificate (chain) of the server.', default: null },
    private_key_path: { type: 'string', description: 'PEM private key of the server.', default: null },
    private_key_passphrase: { type: 'secret', description: 'Passphrase of the private key.', default: null },
    ca_path: {
      type: 'string',
      description: 'PEM CA certificates that client certificates must chain to.',
      default: null,
    },
    client_cert_auth: {
      type: 'bool',
      description: 'Require and verify a client certificate (signed by ca_path).',
      default: false,
    },
    version: {
      type: 'enum',
      values: TLS_VERSIONS,
      description: 'Minimum TLS version (Fluentd: version).',
      default: 'TLSv1_2',
    },
    min_version: {
      type: 'enum',
      values: TLS_VERSIONS,
      description: 'Minimum TLS version; overrides `version`.',
      default: null,
    },
    max_version: { type: 'enum', values: TLS_VERSIONS, description: 'Maximum TLS version.', default: null },
    ciphers: { type: 'string', description: 'OpenSSL cipher list.', default: null },
    insecure: {
      type: 'bool',
      description:
        "Accepted for compatibility (Fluentd's client-side setting); a listening server ignores it.",
      default: false,
    },
  },
});

type TransportSection = SectionOf<typeof transportSection>;

function readPem(path: string, what: string, section: { element: ConfigElement }): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(
      `<transport tls> ${what} '${path}' cannot be read: ${(e as Error).message}`,
      section.element.location,
    );
  }
}

/** Node TLS server options from a resolved `<transport>`; undefined when there is none or it is plain TCP. */
export function tlsServerOptions(section: TransportSection | undefined): TlsOptions | undefined {
  if (!section) return undefined;
  const proto = (section.arg || 'tcp').trim();
  if (proto === 'tcp') return undefined;
  if (proto !== 'tls')
    throw new ConfigError(`<transport ${proto}>: expected 'tcp' or 'tls'`, section.element.location);
  const p = section.params;
  if (!p.cert_path || !p.private_key_path) {
    throw new ConfigError(
      '<transport tls> needs cert_path and private_key_path (Sluice does not generate certificates)',
      section.element.location,
    );
  }
  const opts: TlsOptions = {
    cert: readPem(p.cert_path, 'cert_path', section),
    key: readPem(p.private_key_path, 'private_key_path', section),
    minVersion: nodeTlsVersion(p.min_version ?? p.version),
  };
  if (p.private_key_passphrase) opts.passphrase = p.private_key_passphrase;
  if (p.max_version) opts.maxVersion = nodeTlsVersion(p.max_version);
  if (p.ciphers) opts.ciphers = p.ciphers;
  if (p.ca_path) opts.ca = readPem(p.ca_path, 'ca_path', section);
  if (p.client_cert_auth) {
    opts.requestCert = true;
    opts.rejectUnauthorized = true;
  }
  return opts;
}
