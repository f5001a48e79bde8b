// Process-wide draining state: set once on SIGTERM/SIGINT. Readiness reads `draining`;
// held long-polls listen to `signal` and answer at once.
import { setMaxListeners } from 'node:events';

export class Drain {
  readonly #controller = new AbortController();

  constructor() {
    // Every held poll listens here (up to the held-poll shares times the sources): that many
    // listeners is the design, not a leak, so Node's warning after 10 is off for this signal.
    setMaxListeners(0, this.#controller.signal);
  }

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
