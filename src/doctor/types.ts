// What every doctor check hands back: a verdict and one line that says why.

export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Short, stable name (the table's first column and the JSON `check`). */
  check: string;
  verdict: Verdict;
  /** One line for a human; never a secret, a key or payload bytes. */
  detail: string;
  /** Measured figures for --json (milliseconds, days, counts). */
  data?: Record<string, unknown>;
}

export const ok = (check: string, detail: string, data?: Record<string, unknown>): CheckResult => ({ check, verdict: 'ok', detail, data });
export const warn = (check: string, detail: string, data?: Record<string, unknown>): CheckResult => ({ check, verdict: 'warn', detail, data });
export const fail = (check: string, detail: string, data?: Record<string, unknown>): CheckResult => ({ check, verdict: 'fail', detail, data });
export const skip = (check: string, detail: string, data?: Record<string, unknown>): CheckResult => ({ check, verdict: 'skip', detail, data });
