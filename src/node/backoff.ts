// Exponential backoff with full jitter: the n-th consecutive failure waits a random time in
// [base·2ⁿ/2, base·2ⁿ], capped, so a fleet of nodes does not hammer a relay that is coming back.

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

export class Backoff {
  private failures = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.random = opts.random ?? Math.random;
  }

  /** Number of consecutive failures recorded so far. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next try. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures, 30));
    this.failures += 1;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.failures = 0;
  }
}
