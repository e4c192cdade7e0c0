import { OwnedSlots } from '../contract/messages.js';

/**
 * Who may run an app's actors now: the one concept behind "is this
 * generation the owner". Exactly one instance, one generation in it and one
 * thread may fetch an app's tokens at a time (WeChat replaces older tokens).
 *
 * One implementation per mode. SingleInstanceOwnership: one server owns
 * every app, handed whole from generation to generation on SIGHUP in the
 * order the supervisor sets. A leased one (several instances over a shared
 * store) answers owns() per slot of apps from the leases it holds.
 */
export interface Ownership {
  /** Whether this generation is the owner of `appid` now: its shards run the actors and write the app. */
  owns(appid: string): boolean;
  /** What shard threads (re)started now load: every app from the start of a take-over, or the leased slots. */
  slotsToLoad(): OwnedSlots;
}

type Phase = 'none' | 'taking' | 'owned' | 'giving';

export class SingleInstanceOwnership implements Ownership {
  private phase: Phase;

  constructor(owned: boolean) {
    this.phase = owned ? 'owned' : 'none';
  }

  owns(_appid?: string): boolean {
    return this.phase === 'owned';
  }

  slotsToLoad(): OwnedSlots {
    return this.phase === 'taking' || this.phase === 'owned' ? 'all' : [];
  }

  /** Take every app: `load` rebuilds the actors (and what the front keeps); owned once it resolved. */
  async take(load: () => Promise<void>): Promise<void> {
    this.phase = 'taking';
    try {
      await load();
      this.phase = 'owned';
    } catch (err) {
      this.phase = 'none';
      throw err;
    }
  }

  /** Give every app up at once; `drain` lets the work in flight land in the store. */
  async give(drain: () => Promise<void>): Promise<void> {
    this.phase = 'giving';
    try {
      await drain();
    } finally {
      this.phase = 'none';
    }
  }
}
