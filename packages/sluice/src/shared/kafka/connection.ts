// What the Kafka output and input share: fluent-plugin-kafka's broker, TLS and SASL
// parameters (kafka_plugin_util.rb) and their translation into @platformatic/kafka's
// connection options.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SASLOptions } from '@platformatic/kafka';
import { defineParams } from '../../config/schema.ts';
import { ConfigError, type SourceLocation } from '../../core/errors.ts';

export const connectionParams = defineParams({
  brokers: {
    type: 'array',
    description: 'Seed brokers, host:port separated by commas (the client finds the others from them).',
    default: ['localhost:9092'],
  },
  client_id: {
    type: 'string',
    description: 'The client id sent to the brokers (kafka_buffered and kafka: "kafka").',
    default: 'fluentd',
  },
  connect_timeout: {
    type: 'integer',
    description: 'Seconds to wait for a connection to a broker (default 5).',
    default: null,
  },
  socket_timeout: {
    type: 'integer',
    description:
      'Seconds to wait for an answer to a request (default 30; the output uses ack_timeout when set).',
    default: null,
  },
  ssl_ca_cert: {
    type: 'array',
    description:
      'PEM files of the CA certificates to verify the brokers with; setting any ssl_ parameter turns TLS on.',
    default: null,
  },
  ssl_client_cert: {
    type: 'string',
    description: 'PEM file of the client certificate (mutual TLS).',
    default: null,
  },
  ssl_client_cert_key: {
    type: 'string',
    description: 'PEM file of the client certificate key.',
    default: null,
  },
  ssl_client_cert_key_password: {
    type: 'secret',
    description: 'Passphrase of the client certificate key.',
    default: null,
  },
  ssl_client_cert_chain: {
    type: 'string',
    description: 'PEM file of intermediate certificates sent after the client certificate.',
    default: null,
  },
  ssl_ca_certs_from_system: {
    type: 'bool',
    description: "Verify the brokers with the system's CA certificates (Node's defaults) and turn TLS on.",
    default: false,
  },
  ssl_verify_hostname: {
    type: 'bool',
    description: "Check that the broker's certificate names the host connected to.",
    default: true,
  },
  sasl_over_ssl: {
    type: 'bool',
    description: 'With SASL: false allows SASL over a plain connection (true needs TLS, as ruby-kafka).',
    default: true,
  },
  username: {
    type: 'string',
    description: 'SASL user name: PLAIN, or SCRAM when scram_mechanism is set.',
    default: null,
  },
  password: { type: 'secret', description: 'SASL password.', default: null },
  scram_mechanism: {
    type: 'enum',
    values: ['sha256', 'sha512'],
    description: 'SASL SCRAM-SHA-256 or SCRAM-SHA-512 instead of PLAIN.',
    default: null,
  },
  principal: {
    type: 'string',
    description: 'SASL GSSAPI (Kerberos): not built in Sluice (refused).',
    default: null,
  },
  keytab: {
    type: 'string',
    description: 'SASL GSSAPI (Kerberos): not built in Sluice (refused).',
    default: null,
  },
  sasl_aws_msk_iam_access_key_id: {
    type: 'secret',
    description: 'AWS MSK IAM: not built in Sluice (refused).',
    default: null,
  },
  sasl_aws_msk_iam_secret_key_id: {
    type: 'secret',
    description: 'AWS MSK IAM: not built in Sluice (refused).',
    default: null,
  },
  sasl_aws_msk_iam_aws_region: {
    type: 'string',
    description: 'AWS MSK IAM: not built in Sluice (refused).',
    default: null,
  },
});

export interface ConnectionParams {
  brokers: string[];
  client_id: string;
  connect_timeout?: number;
  socket_timeout?: number;
  ssl_ca_cert?: string[];
  ssl_client_cert?: string;
  ssl_client_cert_key?: string;
  ssl_client_cert_key_password?: string;
  ssl_client_cert_chain?: string;
  ssl_ca_certs_from_system: boolean;
  ssl_verify_hostname: boolean;
  sasl_over_ssl: boolean;
  username?: string;
  password?: string;
  scram_mechanism?: 'sha256' | 'sha512';
  principal?: string;
  keytab?: string;
  sasl_aws_msk_iam_access_key_id?: string;
}

export interface ClientConnection {
  bootstrapBrokers: string[];
  clientId: string;
  connectTimeout?: number;
  requestTimeout?: number;
  tls?: TlsOptions;
  sasl?: SASLOptions;
}

function pem(path: string, what: string, where?: SourceLocation): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`KAFKA_TLS_FILE: cannot read ${what} ${path}: ${(e as Error).message}`, where);
  }
}

/** fluent-plugin-kafka's connection parameters as the client's options. */
export function clientConnection(p: ConnectionParams, where?: SourceLocation): ClientConnection {
  const brokers = p.brokers.map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0)
    throw new ConfigError('KAFKA_NO_BROKERS: No brokers specified. Need one broker at least.', where);
  for (const b of brokers)
    if (!/^.+:\d+$/.test(b)) throw new ConfigError(`KAFKA_NO_BROKERS: broker '${b}' is not host:port`, where);
  if (p.principal || p.keytab)
    throw new ConfigError(
      'KAFKA_SASL_NOT_BUILT: SASL GSSAPI (principal, keytab) is not built in Sluice',
      where,
    );
  if (p.sasl_aws_msk_iam_access_key_id)
    throw new ConfigError('KAFKA_SASL_NOT_BUILT: SASL AWS MSK IAM is not built in Sluice', where);
  const out: ClientConnection = { bootstrapBrokers: brokers, clientId: p.client_id };
  if (p.connect_timeout !== undefined) out.connectTimeout = p.connect_timeout * 1000;
  if (p.socket_timeout !== undefined) out.requestTimeout = p.socket_timeout * 1000;
  const tlsOn =
    (p.ssl_ca_cert?.length ?? 0) > 0 || p.ssl_client_cert !== undefined || p.ssl_ca_certs_from_system;
  if (tlsOn) {
    const tls: TlsOptions = {};
    if (p.ssl_ca_cert?.length) tls.ca = p.ssl_ca_cert.map((f) => pem(f, 'ssl_ca_cert', where));
    if (p.ssl_client_cert) {
      if (!p.ssl_client_cert_key)
        throw new ConfigError('KAFKA_TLS_FILE: ssl_client_cert needs ssl_client_cert_key', where);
      const cert = pem(p.ssl_client_cert, 'ssl_client_cert', where);
      tls.cert = p.ssl_client_cert_chain
        ? Buffer.concat([
            cert,
            Buffer.from('\n'),
            pem(p.ssl_client_cert_chain, 'ssl_client_cert_chain', where),
          ])
        : cert;
      tls.key = pem(p.ssl_client_cert_key, 'ssl_client_cert_key', where);
      if (p.ssl_client_cert_key_password) tls.passphrase = p.ssl_client_cert_key_password;
    }
    if (!p.ssl_verify_hostname) tls.checkServerIdentity = () => undefined;
    out.tls = tls;
  }
  if (p.username !== undefined && p.password !== undefined) {
    if (!tlsOn && p.sasl_over_ssl)
      throw new ConfigError(
        'KAFKA_SASL_NEEDS_TLS: SASL authentication without TLS: set the ssl_ parameters, or sasl_over_ssl false',
        where,
      );
    out.sasl = {
      mechanism:
        p.scram_mechanism === 'sha512'
          ? 'SCRAM-SHA-512'
          : p.scram_mechanism === 'sha256'
            ? 'SCRAM-SHA-256'
            : 'PLAIN',
      username: p.username,
      password: p.password,
    };
  }
  return out;
}

/** The object without its undefined values: the client's option validation reads an explicit undefined as a value. */
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
