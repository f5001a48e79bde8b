// Time is injected so that every expiry, lease and deadline can be tested with a fake clock.
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
