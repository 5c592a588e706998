export { EventTime } from './event-time.ts';
export { packr, unpackr, encode, decode, decodeMultiple } from './codec.ts';
export { ForwardProtocolError, type ProtocolErrorCode } from './errors.ts';
export { Skipper, skipOne } from './scan.ts';
export { FrameDecoder, type DecoderOptions } from './decoder.ts';
export {
  parseEventFrame,
  checkEntries,
  packedForwardParts,
  encodePackedForward,
  encodeMessage,
  encodeForward,
  encodeAck,
  parseAck,
  newChunkId,
  type EventFrame,
  type EntryCheck,
  type ForwardOption,
  type Mode,
} from './frames.ts';
export * from './handshake.ts';
export { decompressEntries, compressEntries, SUPPORTED_CODECS } from './compress.ts';
