// `just tokenplace-doctor`, run by the real `just` from another directory (so a relative ca=
// path is the caller's), against the relay behind the loopback TLS front; and the URL it
// derives from the env's values files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { repoRoot } from '../node/harness.ts';
import { findTool, requireTool } from '../support/tools.ts';
import { makeCerts, rows, startRelay, startTlsFront, type Certs, type RelayWithNode, type TlsFront } from './tls-front.ts';

function justPath(t: TestContext): string | null {
  return findTool('just') ?? requireTool(t, join(repoRoot, 'node_modules', '.bin', 'just'), 'npm install -g rust-just');
}

/** Asynchronous: the relay answering the doctor lives in this process. */
function just(bin: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('TOKEN_PLACE_RELAY_SERVER_TOKEN' in env)) delete childEnv.TOKEN_PLACE_RELAY_SERVER_TOKEN;
  delete childEnv.SUGARKUBE_ENV;
  return new Promise((resolve) => {
    const child = spawn(bin, ['--justfile', join(repoRoot, 'justfile'), ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('just tokenplace-doctor', () => {
  const TOKEN = 'recipe-test-node-token';
  let certs: Certs;
  let relay: RelayWithNode;
  let front: TlsFront;
  before(async () => {
    certs = makeCerts();
    copyFileSync(certs.caFile, join(certs.dir, 'relative-ca.pem'));
    relay = await startRelay({}, { TOKEN_PLACE_RELAY_SERVER_TOKEN: TOKEN });
    front = await startTlsFront(certs, () => relay.relay.url);
  });
  after(async () => {
    await front?.close();
    await relay?.stop();
    certs?.remove();
  });

  it('url= and a ca= path relative to the caller, the token from the environment: exit 0', async (t) => {
    const bin = justPath(t);
    if (!bin) return;
    const r = await just(bin, ['tokenplace-doctor', `url=${front.url}`, 'ca=relative-ca.pem'], certs.dir, { TOKEN_PLACE_RELAY_SERVER_TOKEN: TOKEN });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const table = rows(r.stdout);
    assert.equal(Object.keys(table).length, 9);
    for (const [check, [verdict, detail]] of Object.entries(table)) assert.equal(verdict, 'OK', `${check}: ${detail}`);
  });

  it('passes the exit code through: no token is a warning (exit 1), json=1 prints JSON', async (t) => {
    const bin = justPath(t);
    if (!bin) return;
    const r = await just(bin, ['tokenplace-doctor', `url=${front.url}`, `ca=${certs.caFile}`, 'json=1', 'timeout=5'], certs.dir);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as { verdict: string; checks: { check: string; verdict: string }[] };
    assert.equal(out.verdict, 'warn');
    assert.equal(out.checks.find((c) => c.check === 'round trip')!.verdict, 'warn');
  });

  it('without url= the URL is the env ingress host of the values files; dev has none', async (t) => {
    const bin = justPath(t);
    if (!bin) return;
    const dev = await just(bin, ['tokenplace-doctor', 'env=dev'], certs.dir);
    assert.equal(dev.code, 1);
    assert.match(
      dev.stderr,
      /ERROR: env=dev has no public host \(no ingress\.host in docs\/examples\/tokenplace-relay\.values\.dev\.yaml\)\n {2}pass the URL: just tokenplace-doctor url=https:\/\/\.\.\./,
    );
    const bad = await just(bin, ['tokenplace-doctor', 'env=prod'], certs.dir);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ERROR: env must be one of dev\|staging, got 'prod'/);
    // staging (the default) has a host, so the doctor itself starts; a bad timeout= stops it at
    // argument parsing, before any request leaves this machine.
    const staging = await just(bin, ['tokenplace-doctor', 'timeout=never'], certs.dir);
    assert.equal(staging.code, 64, staging.stderr);
    assert.match(staging.stderr, /--timeout must be seconds between 0 and 600, got never/);
  });
});
