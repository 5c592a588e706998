import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { ForwardProtocolError } from './errors.ts';

const gunzipAsync = promisify(gunzip);
const gzipAsync = promisify(gzip);

/** Codecs this build can decompress. zstd needs a binding Node 20 does not ship. */
export const SUPPORTED_CODECS = ['gzip'] as const;

/**
 * Decompresses a CompressedPackedForward payload (gzip; concatenated gzip members, as
 * Fluentd writes one per flush, are all read). Output over `maxOutput` bytes is refused:
 * a small frame cannot expand into unbounded memory.
 */
export async function decompressEntries(codec: string, data: Buffer, maxOutput: number): Promise<Buffer> {
  if (codec !== 'gzip') {
    throw new ForwardProtocolError(
      'UNSUPPORTED_COMPRESSION',
      `compressed '${codec}' is not supported (supported: ${SUPPORTED_CODECS.join(', ')})`,
    );
  }
  try {
    return await gunzipAsync(data, { maxOutputLength: maxOutput });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (
      err.code === 'ERR_BUFFER_TOO_LARGE' ||
      /Cannot create a Buffer larger|maxOutputLength/i.test(err.message)
    ) {
      throw new ForwardProtocolError(
        'DECOMPRESSED_TOO_LARGE',
        `gzip payload expands past the limit of ${maxOutput} bytes`,
      );
    }
    throw new ForwardProtocolError('BAD_FRAME', `invalid gzip payload: ${err.message}`);
  }
}

export async function compressEntries(data: Buffer): Promise<Buffer> {
  return gzipAsync(data);
}
