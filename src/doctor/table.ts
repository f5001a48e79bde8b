// The verdict table a human reads, the JSON a script reads, and the exit code both get.
import type { CheckResult, Verdict } from './types.js';

/** 0: every check ok (or skipped by design); 1: a warning, nothing failed; 2: something failed. */
export const EXIT = { ok: 0, warn: 1, fail: 2, usage: 64 } as const;

export function overall(results: readonly CheckResult[]): 'ok' | 'warn' | 'fail' {
  if (results.some((r) => r.verdict === 'fail')) return 'fail';
  if (results.some((r) => r.verdict === 'warn')) return 'warn';
  return 'ok';
}

export function exitCode(results: readonly CheckResult[]): number {
  return EXIT[overall(results)];
}

function counts(results: readonly CheckResult[]): string {
  const order: Verdict[] = ['ok', 'warn', 'fail', 'skip'];
  return order
    .map((v) => [v, results.filter((r) => r.verdict === v).length] as const)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
}

/** Columns padded to the widest cell; the detail column is last so long lines only run right. */
export function renderTable(target: string, results: readonly CheckResult[]): string {
  const head = ['CHECK', 'VERDICT', 'DETAIL'] as const;
  const rows = results.map((r) => [r.check, r.verdict.toUpperCase(), r.detail.replace(/\s+/g, ' ')] as const);
  const w0 = Math.max(head[0].length, ...rows.map((r) => r[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((r) => r[1].length));
  const line = (cells: readonly [string, string, string]): string => `${cells[0].padEnd(w0)}  ${cells[1].padEnd(w1)}  ${cells[2]}`.trimEnd();
  const verdict = overall(results);
  return [
    `tokenplace-relay doctor ${target}`,
    '',
    line(head),
    ...rows.map(line),
    '',
    `verdict: ${verdict.toUpperCase()} (${counts(results)}), exit ${EXIT[verdict]}`,
    '',
  ].join('\n');
}

export function renderJson(target: string, results: readonly CheckResult[]): string {
  const verdict = overall(results);
  return `${JSON.stringify({ url: target, verdict, exit_code: EXIT[verdict], checks: results.map((r) => ({ check: r.check, verdict: r.verdict, detail: r.detail, ...(r.data ? { data: r.data } : {}) })) }, null, 2)}\n`;
}
