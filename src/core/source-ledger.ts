// Per-source accounting for a cap that anyone can fill (invariant 1 of the threat model).
// A source is what the rate limits key on: an IPv4 address or an IPv6 /64
// (addressLimitKey in src/http/client-address.ts). Each source may hold at most `share` of the
// cap; the cap itself stays as the last line. A refusal therefore lands on the source over its
// share first, and an honest source keeps room as long as the cap is not filled by many
// sources at once.
//
// The memory store keeps one ledger per cap; the stored-bytes ledger is one object both
// protocol halves share, so the byte cap and each source's byte share span both protocols.
// The Redis store keeps the same numbers in hashes (see src/protocols/legacy/redis-keys.ts: <p>src:<cap>).

export interface ShareCheck {
  ok: boolean;
  /** Which limit refused: the source's share, or the whole cap. */
  over?: 'share' | 'cap';
}

/** The per-source share of a cap: a fraction of it, never below `floor` nor above the cap. */
export function shareOf(cap: number, fraction: number, floor = 1): number {
  return Math.min(cap, Math.max(floor, Math.floor(cap * fraction)));
}

export class SourceLedger {
  readonly #used = new Map<string, number>();
  #total = 0;

  constructor(
    /** The whole cap, across every source. */
    readonly cap: number,
    /** What one source may hold. */
    readonly share: number,
  ) {}

  get total(): number {
    return this.#total;
  }

  /** Sources holding anything (for metrics: how spread the use is). */
  get sources(): number {
    return this.#used.size;
  }

  used(source: string): number {
    return this.#used.get(source) ?? 0;
  }

  /** Whether `source` may add `amount` more; the share is checked first so the refusal names it. */
  check(source: string, amount: number): ShareCheck {
    if (amount <= 0) return { ok: true };
    if (this.used(source) + amount > this.share) return { ok: false, over: 'share' };
    if (this.#total + amount > this.cap) return { ok: false, over: 'cap' };
    return { ok: true };
  }

  fits(source: string, amount: number): boolean {
    return this.check(source, amount).ok;
  }

  /** Adds (or, negative, releases) `delta` for `source`. Releases never go below zero. */
  add(source: string, delta: number): void {
    if (delta === 0) return;
    const before = this.used(source);
    const after = Math.max(0, before + delta);
    this.#total += after - before;
    if (after === 0) this.#used.delete(source);
    else this.#used.set(source, after);
  }

  /** The largest single holder's use (0 when empty); one pass, for metrics at scrape time. */
  get topUse(): number {
    let top = 0;
    for (const used of this.#used.values()) if (used > top) top = used;
    return top;
  }

  /** Share usage for StoreStats.shares. */
  usage(): { sources: number; top: number; share: number } {
    return { sources: this.#used.size, top: this.topUse, share: this.share };
  }

  /** The largest holders, for diagnostics and tests (never logged with payloads). */
  top(limit: number): [string, number][] {
    return [...this.#used.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit);
  }
}
