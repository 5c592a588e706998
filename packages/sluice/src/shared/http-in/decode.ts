import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** Thrown when a request's body cannot be used; `status` is the answer (400, 413, 415). */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

/** Undoes `Content-Encoding: gzip | deflate` with an output cap, so a zip bomb cannot exhaust memory. */
export async function decodeBody(body: Buffer, encoding: string | undefined, limit: number): Promise<Buffer> {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return await gunzip(body, { maxOutputLength: limit });
    if (enc === 'deflate') return await inflate(body, { maxOutputLength: limit });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new BodyError(413, `decompressed body is larger than decompression_size_limit (${limit} bytes)`);
    }
    throw new BodyError(400, `cannot decode ${enc} body: ${err.message}`);
  }
  throw new BodyError(415, `unsupported Content-Encoding '${encoding}' (gzip, deflate and identity are)`);
}
