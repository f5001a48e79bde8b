// Process-wide draining state: set once on SIGTERM/SIGINT. Readiness reads `draining`;
// held long-polls listen to `signal` and answer at once.
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
