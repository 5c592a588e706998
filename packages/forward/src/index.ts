export { EventTime } from './event-time.ts';
export { packr, unpackr, encode, decode, decodeMultiple } from './codec.ts';
