// Latency summaries: exact percentiles over every sample (runs are bounded, so samples fit).

export interface Dist {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function pick(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

const round = (ms: number): number => (Number.isFinite(ms) ? Math.round(ms * 100) / 100 : ms);

export function summarize(samples: ArrayLike<number>): Dist {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: round(pick(sorted, 0.5)),
    p90: round(pick(sorted, 0.9)),
    p99: round(pick(sorted, 0.99)),
    max: round(sorted.length === 0 ? NaN : sorted[sorted.length - 1]!),
  };
}

/** A growable sample list that avoids re-boxing numbers. */
export class Samples {
  #data = new Float64Array(1024);
  #n = 0;
  push(value: number): void {
    if (this.#n === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#n++] = value;
  }
  get length(): number {
    return this.#n;
  }
  summary(): Dist {
    return summarize(this.#data.subarray(0, this.#n));
  }
}
