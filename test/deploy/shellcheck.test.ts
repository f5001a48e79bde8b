// shellcheck over every shell script in the repository, including the CI entry point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { requireTool } from '../support/tools.ts';
import { repoRoot, run } from './helpers.ts';

function shellScripts(): string[] {
  const listed = run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.sh', 'scripts/', '.ci/run']);
  assert.equal(listed.status, 0, listed.stderr);
  return [...new Set(listed.stdout.split('\n').filter(Boolean))].filter((file) => {
    if (file.endsWith('.sh') || file === '.ci/run') return true;
    const head = readFileSync(join(repoRoot, file), 'utf8').slice(0, 64);
    return /^#!.*\b(ba|da|k)?sh\b/.test(head);
  });
}

it('finds the shell scripts', () => {
  const files = shellScripts();
  for (const f of ['scripts/tokenplace.sh', 'scripts/image-smoke-test.sh', '.ci/run']) assert.ok(files.includes(f), f);
});

it('shellcheck reports nothing', (t) => {
  if (!requireTool(t, 'shellcheck', 'apt-get install shellcheck')) return;
  const files = shellScripts();
  const r = run('shellcheck', ['--external-sources', ...files]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

it('shellcheck is really checking', (t) => {
  if (!requireTool(t, 'shellcheck', 'apt-get install shellcheck')) return;
  const r = run('shellcheck', ['-s', 'bash', '-'], { input: '#!/usr/bin/env bash\nrm -rf $1/*\n' });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /SC2086/);
});
