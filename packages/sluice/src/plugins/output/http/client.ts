import { readFileSync } from 'node:fs';
import type { SecureVersion } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { Agent, type Dispatcher, ProxyAgent } from 'undici';
import { ConfigError, type SourceLocation } from '../../../core/errors.ts';
import type { Params } from './params.ts';

function readPem(path: string, param: string, where: SourceLocation | undefined): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${param} is wrong: ${path} (${(e as Error).message})`, where);
  }
}

const TLS_VERSIONS: Record<string, SecureVersion> = {
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

/**
 * undici parses responses with llhttp compiled to WebAssembly, on the first connection.
 * V8 then recompiles its hot parser function with TurboFan in the background, whose
 * transient memory set the peak RSS of a forward -> out_http relay (bench/vth tcp_to_http;
 * measured in bench/RESULTS.md, "Issue 7, third pass"). The baseline compiler alone
 * parses the small responses of a log sink just as fast. Must run before the first
 * request; SLUICE_WASM_TIERUP=1 keeps V8's default. The flag is process-wide: undici is
 * the only WebAssembly Sluice runs.
 */
let wasmCompilerLimited = false;
function limitWasmCompiler(): void {
  if (wasmCompilerLimited || process.env.SLUICE_WASM_TIERUP === '1') return;
  wasmCompilerLimited = true;
  setFlagsFromString('--liftoff-only');
}

/**
 * The keep-alive connection pool (undici) every write goes through: one Agent for the
 * output, pooled per origin, TLS and proxy options from Fluentd's parameters.
 */
export function createDispatcher(p: Params, where: SourceLocation | undefined): Dispatcher {
  limitWasmCompiler();
  const tls: Record<string, unknown> = {
    rejectUnauthorized: p.tls_verify_mode !== 'none',
    minVersion: TLS_VERSIONS[p.tls_version],
  };
  if (p.tls_ca_cert_path) tls.ca = readPem(p.tls_ca_cert_path, 'tls_ca_cert_path', where);
  if (p.tls_client_cert_path) tls.cert = readPem(p.tls_client_cert_path, 'tls_client_cert_path', where);
  if (p.tls_private_key_path) tls.key = readPem(p.tls_private_key_path, 'tls_private_key_path', where);
  if (p.tls_private_key_passphrase) tls.passphrase = p.tls_private_key_passphrase;
  if (p.tls_ciphers) tls.ciphers = p.tls_ciphers;
  const connectTimeout =
    ((p.open_timeout ?? 10) + (p.endpoint.startsWith('https') ? (p.ssl_timeout ?? 0) : 0)) * 1000;
  const common = {
    connections: p.connections,
    keepAliveTimeout: 4000,
    headersTimeout: p.read_timeout !== undefined ? p.read_timeout * 1000 : 60_000,
    bodyTimeout: p.read_timeout !== undefined ? p.read_timeout * 1000 : 60_000,
  };
  const proxy = p.proxy ?? process.env.HTTP_PROXY ?? process.env.http_proxy;
  if (proxy) {
    try {
      new URL(proxy);
    } catch {
      throw new ConfigError(`proxy is not a URL: ${proxy}`, where);
    }
    return new ProxyAgent({
      uri: proxy,
      requestTls: tls,
      proxyTls: tls,
      ...common,
      connect: { timeout: connectTimeout },
    } as ProxyAgent.Options);
  }
  return new Agent({ ...common, connect: { timeout: connectTimeout, ...tls } });
}
