/**
 * A violation of the forward protocol by the peer. `code` is stable (tests and logs key on
 * it); the message says what was wrong and where. The connection that sent it is closed;
 * nothing else is affected.
 */
export type ProtocolErrorCode =
  | 'FRAME_TOO_LARGE'
  | 'INVALID_MSGPACK'
  | 'NOT_AN_ARRAY'
  | 'JSON_NOT_SUPPORTED'
  | 'BAD_FRAME'
  | 'BAD_TAG'
  | 'BAD_ENTRY'
  | 'BAD_OPTION'
  | 'UNSUPPORTED_COMPRESSION'
  | 'DECOMPRESSED_TOO_LARGE'
  | 'HANDSHAKE';

export class ForwardProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ForwardProtocolError';
  }
}
