export { decode, decodeMultiple, encode, packr, unpackr } from './codec.ts';
export { compressEntries, decompressEntries, SUPPORTED_CODECS } from './compress.ts';
export { type DecoderOptions, FrameDecoder } from './decoder.ts';
export { ForwardProtocolError, type ProtocolErrorCode } from './errors.ts';
export { EventTime } from './event-time.ts';
export {
  checkEntries,
  type EntryCheck,
  type EventFrame,
  encodeAck,
  encodeForward,
  encodeMessage,
  encodePackedForward,
  type ForwardOption,
  type Mode,
  newChunkId,
  packedForwardParts,
  parseAck,
  parseEventFrame,
} from './frames.ts';
export * from './handshake.ts';
export { INCOMPLETE, INVALID, Skipper, skipOne, skipValue } from './scan.ts';
