// total_limit_size and overflow_action: an emit reserves the bytes it will append; when
// they do not fit, it is refused (throw_exception), makes room by dropping the oldest
// chunks (drop_oldest_chunk), or waits until a delivered chunk frees enough (block).
import { BufferOverflowError } from '../core/errors.ts';
import type { BufferConfig } from './params.ts';

export class SpaceGate {
  /** bytes promised to emitters (granted, not appended yet) */
  private reserved = 0;
  private readonly blocked: { need: number; wake: () => void; fail: (e: Error) => void }[] = [];

  constructor(
    private readonly config: BufferConfig,
    private readonly id: string,
    /** bytes the buffer holds */
    private readonly held: () => number,
    /** drop_oldest_chunk: drops one chunk; false when every chunk is being written */
    private readonly dropOldest: () => boolean,
  ) {}

  private total(): number {
    return this.held() + this.reserved;
  }

  private fits(need: number): boolean {
    // A batch larger than the whole buffer is let into an empty buffer rather than refused forever.
    return this.total() + need <= this.config.totalLimitSize || this.total() === 0;
  }

  /**
   * Reserves `need` bytes when they fit and nobody waits before us. Synchronous, so
   * concurrent emits cannot all see room.
   */
  tryReserve(need: number): boolean {
    if (this.blocked.length > 0 || !this.fits(need)) return false;
    this.reserved += need;
    return true;
  }

  /** The buffer is full: apply overflow_action. Returns with `need` bytes reserved. */
  async makeRoom(need: number): Promise<void> {
    switch (this.config.overflowAction) {
      case 'throw_exception':
        throw new BufferOverflowError(
          `buffer of output ${this.id} is full (${this.total()} of ${this.config.totalLimitSize} bytes, total_limit_size); batch refused`,
        );
      case 'drop_oldest_chunk': {
        while (!this.fits(need)) {
          if (!this.dropOldest())
            throw new BufferOverflowError(
              `buffer of output ${this.id} is full and every chunk is being written; batch refused`,
            );
        }
        this.reserved += need;
        return;
      }
      case 'block': {
        // wake() reserves the space before waking us.
        await new Promise<void>((wake, fail) => this.blocked.push({ need, wake, fail }));
        return;
      }
    }
  }

  /** The reserved bytes are appended now (they count in held()). */
  release(need: number): void {
    this.reserved -= need;
  }

  /** Space was freed: let blocked emitters in, in order, while they fit. */
  wake(): void {
    while (this.blocked.length > 0 && this.fits(this.blocked[0]!.need)) {
      const b = this.blocked.shift()!;
      this.reserved += b.need;
      b.wake();
    }
  }

  /** Refuses every waiting emit (shutdown). */
  failAll(error: Error): void {
    for (const b of this.blocked.splice(0)) b.fail(error);
  }
}
