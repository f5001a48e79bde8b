// Optional check that the configured GPU host resolves (TOKENPLACE_RELAY_REQUIRE_UPSTREAM_HEALTH).
// relay.py did a blocking DNS lookup on every /healthz; here the answer is cached and refreshed
// in the background, so a probe never waits on DNS.
import { lookup } from 'node:dns/promises';

export class UpstreamResolution {
  #resolved: boolean | null = null;
  #checkedAt = 0;
  #inFlight: Promise<void> | null = null;

  constructor(
    private readonly host: string,
    private readonly refreshMs = 10_000,
  ) {}

  /** Last known result (null before the first lookup finished); starts a refresh when stale. */
  current(): boolean | null {
    if (Date.now() - this.#checkedAt > this.refreshMs && this.#inFlight === null) {
      this.#inFlight = lookup(this.host)
        .then(
          () => true,
          () => false,
        )
        .then((ok) => {
          this.#resolved = ok;
          this.#checkedAt = Date.now();
          this.#inFlight = null;
        });
    }
    return this.#resolved;
  }
}
