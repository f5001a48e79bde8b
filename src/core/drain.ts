// Process-wide draining state: set once on SIGTERM/SIGINT. Readiness reads `draining`;
// held long-polls listen to `signal` and answer at once.
// Held polls do not add a listener each: src/core/hold.ts fans one listener out to all of them,
// so Node's warning after 10 listeners on this signal still means a leak.
export class Drain {
  readonly #controller = new AbortController();

  get draining(): boolean {
    return this.#controller.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  start(): void {
    if (!this.draining) this.#controller.abort();
  }
}
