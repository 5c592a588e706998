import type { EventTime } from '@sluice/forward';

export type EventRecord = Record<string, unknown>;

/** A decoded event. Only filters and formatters that need records ever see these. */
export interface Entry {
  time: EventTime;
  record: EventRecord;
}
