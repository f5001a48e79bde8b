// The README's error table and the catalogue (src/core/errors.ts) say the same thing: every code
// with its HTTP status, Retry-After and default message, no code missing from either side; and
// wherever the README's prose names a catalogued code after a status ("409 `answer_not_requested`"),
// the status is the catalogue's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE } from '../../src/core/errors.js';

const README = readFileSync(join(fileURLToPath(new URL('../..', import.meta.url)), 'README.md'), 'utf8');

interface Row {
  status: number;
  retryAfter: number | undefined;
  message: string;
}

/** The rows of the table under "### Errors", by code. */
function readmeTable(): Map<string, Row> {
  const section = README.split(/^### Errors$/m)[1]?.split(/^#{1,3} /m)[0];
  assert.ok(section !== undefined, 'README has an "### Errors" section');
  const rows = new Map<string, Row>();
  for (const line of section.split('\n')) {
    const m = /^\| `([a-z0-9_]+)` \| (\d{3}) \| (–|\d+) \| (.*) \|$/.exec(line);
    if (!m) continue;
    const [, code, status, retry, message] = m as unknown as [string, string, string, string, string];
    assert.ok(!rows.has(code), `README lists ${code} twice`);
    rows.set(code, { status: Number(status), retryAfter: retry === '–' ? undefined : Number(retry), message: message.replace(/\\\|/g, '|') });
  }
  return rows;
}

const catalogue = new Map<string, Row>(
  Object.entries(ERROR_CATALOGUE).map(([code, spec]) => {
    const s: { status: number; message: string; retryAfter?: number } = spec;
    return [code, { status: s.status, retryAfter: s.retryAfter, message: s.message }];
  }),
);

describe('the error catalogue and the README', () => {
  const table = readmeTable();

  it('the README table has a row for every catalogue code, with its status, Retry-After and message', () => {
    assert.ok(table.size > 0, 'the table was found and parsed');
    for (const [code, spec] of catalogue) {
      const row = table.get(code);
      assert.ok(row, `README's error table lacks ${code}`);
      assert.deepEqual(row, spec, `README's row for ${code}`);
    }
  });

  it('every code the README table lists is in the catalogue', () => {
    const unknown = [...table.keys()].filter((code) => !catalogue.has(code));
    assert.deepEqual(unknown, [], 'codes in the README but not in src/core/errors.ts');
  });

  it("a status written before a catalogued code anywhere in the README is that code's status", () => {
    let checked = 0;
    for (const m of README.matchAll(/\b([45]\d\d) `([a-z0-9_]+)`/g)) {
      const [, status, code] = m as unknown as [string, string, string];
      const spec = catalogue.get(code);
      if (spec === undefined) continue; // a status body (`degraded`) or a terminal reason, not an error code
      assert.equal(Number(status), spec.status, `README says ${status} \`${code}\`; the catalogue says ${spec.status}`);
      checked += 1;
    }
    assert.ok(checked > 0, 'the README names codes with their status');
  });
});
