// The container contract, checked without Docker. The Dockerfile's declarations are read (CMD, USER,
// EXPOSE, ENV, labels); then the image's layout is assembled from the build (package.json, dist/,
// production dependencies only) and run with the Dockerfile's CMD and ENV as uid/gid 1000, every
// mount read-only and only /tmp writable (a private mount namespace, see readonly-sandbox.sh). It
// must answer /healthz, /livez and /metrics, turn /healthz to 503 "draining" on SIGTERM and exit 0
// well within the pod's grace period.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { findTool, inCI } from '../support/tools.ts';
import { parseObjects, repoRoot, run, tempDir } from './helpers.ts';

const SANDBOX = join(repoRoot, 'test', 'deploy', 'readonly-sandbox.sh');
const CLI = join(repoRoot, 'dist', 'src', 'cli.js');

// The chart's defaults: the kubelet waits terminationGracePeriodSeconds in total, preStop sleep first.
const chartValues = parseObjects(readFileSync(join(repoRoot, 'apps', 'tokenplace-relay', 'values.yaml'), 'utf8'))[0] as unknown as {
  terminationGracePeriodSeconds: number;
  preStopSleepSeconds: number;
  drainSeconds: number;
};
const SIGTERM_BUDGET_MS = (chartValues.terminationGracePeriodSeconds - chartValues.preStopSleepSeconds) * 1000;

function skipOrFail(t: TestContext, message: string): void {
  if (inCI) throw new Error(`${message}; CI=true, so this is a failure`);
  t.skip(message);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function get(url: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}) during start-up:\n${output()}`);
    try {
      if ((await get(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not ready within 20 s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function uidsOf(pid: number): { uid: string; gid: string; groups: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => status.match(new RegExp(`^${name}:[ \\t]*(.*)$`, 'm'))?.[1]?.trim() ?? '';
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

interface Dockerfile {
  cmd: string[];
  user: string;
  expose: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  entrypoint: string | null;
}

/** The runtime (last) stage of the Dockerfile: the instructions the image runs with. */
function readDockerfile(): Dockerfile {
  const lines = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim());
  const stages = lines.reduce<string[][]>((acc, l) => (l.startsWith('FROM ') ? [...acc, [l]] : (acc.at(-1)?.push(l), acc)), []);
  const runtime = stages.at(-1) ?? [];
  const out: Dockerfile = { cmd: [], user: '', expose: [], env: {}, labels: {}, entrypoint: null };
  const pairs = (text: string) => Object.fromEntries([...text.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));
  for (const l of runtime) {
    const [word, ...rest] = l.split(' ');
    const arg = rest.join(' ');
    if (word === 'CMD') out.cmd = JSON.parse(arg);
    if (word === 'ENTRYPOINT') out.entrypoint = arg;
    if (word === 'USER') out.user = arg;
    if (word === 'EXPOSE') out.expose.push(...rest);
    if (word === 'ENV') Object.assign(out.env, pairs(arg));
    if (word === 'LABEL') Object.assign(out.labels, pairs(arg));
  }
  return out;
}

/** The image's /app: package.json, dist/ and the production dependencies (`npm ls --omit=dev`). */
function assembleImageTree(into: string): string {
  const app = join(into, 'app');
  mkdirSync(app, { recursive: true });
  cpSync(join(repoRoot, 'package.json'), join(app, 'package.json'));
  cpSync(join(repoRoot, 'dist'), join(app, 'dist'), { recursive: true });
  const ls = run('npm', ['ls', '--omit=dev', '--all', '--parseable']);
  assert.equal(ls.status, 0, `npm ls --omit=dev failed:\n${ls.stderr}`);
  for (const dir of ls.stdout.split('\n').filter(Boolean).slice(1)) {
    const rel = relative(repoRoot, dir);
    // Nested node_modules are listed on their own when they hold production dependencies.
    cpSync(dir, join(app, rel), { recursive: true, filter: (src) => !relative(dir, src).split('/').includes('node_modules') });
  }
  return app;
}

describe('container contract (uid 1000, read-only tree, only /tmp writable)', () => {
  it('the Dockerfile declares it: exec-form CMD, uid:gid 1000, port 5010, OCI labels', () => {
    const df = readDockerfile();
    assert.deepEqual(df.cmd, ['node', 'dist/src/cli.js', 'serve']);
    assert.equal(df.entrypoint, null, 'no ENTRYPOINT: node is PID 1 and gets SIGTERM itself');
    assert.equal(df.user, '1000:1000');
    assert.deepEqual(df.expose, ['5010']);
    assert.equal(df.env.RELAY_HOST, '0.0.0.0');
    assert.equal(df.env.RELAY_PORT, '5010');
    for (const label of ['title', 'description', 'source', 'licenses', 'version', 'revision']) {
      assert.ok(df.labels[`org.opencontainers.image.${label}`], `label org.opencontainers.image.${label}`);
    }
    assert.equal(df.labels['org.opencontainers.image.source'], 'https://github.com/futuroptimist/tokenplace-relay');
    assert.match(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'), /^ARG NODE_IMAGE=node:24-slim$/m);
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    assert.equal(
      ignore.find((l) => l && !l.startsWith('#')),
      '*',
      '.dockerignore starts from an empty context',
    );
    for (const keep of ['!package.json', '!package-lock.json', '!tsconfig.json', '!src/']) assert.ok(ignore.includes(keep), keep);
  });

  it('serves its probes and exits 0 on SIGTERM within the grace period', { timeout: 90_000 }, async (t) => {
    if (process.platform !== 'linux') return skipOrFail(t, 'needs Linux namespaces');
    if (process.getuid?.() !== 0) return skipOrFail(t, 'needs root for a private mount namespace and setpriv (run with sudo)');
    for (const tool of ['unshare', 'setpriv', 'chroot', 'mount']) {
      if (!findTool(tool)) return skipOrFail(t, `${tool} not found (apt-get install util-linux mount coreutils)`);
    }
    if (!existsSync(CLI)) {
      const build = run('npm', ['run', '--silent', 'build']);
      assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`);
    }
    assert.ok(existsSync(CLI), `${CLI} missing after npm run build`);

    const df = readDockerfile();
    const imageDir = tempDir('tp-image-');
    t.after(() => rmSync(imageDir, { recursive: true, force: true }));
    const app = assembleImageTree(imageDir);

    // 1. The sandbox itself: uid 1000, tree and root read-only, /tmp writable.
    const root1 = tempDir('tp-sandbox-root-');
    const probe = spawnSync(
      'bash',
      [
        SANDBOX,
        app,
        'sh',
        '-c',
        'id -u; id -g; id -G; ' +
          'if touch ./.write-probe 2>/dev/null; then echo tree-writable; fi; ' +
          'if touch /.write-probe 2>/dev/null; then echo root-writable; fi; ' +
          'touch /tmp/.write-probe && echo tmp-writable',
      ],
      { encoding: 'utf8', env: { ...process.env, SANDBOX_ROOT: root1 } },
    );
    rmSync(root1, { recursive: true, force: true });
    assert.equal(probe.status, 0, probe.stderr);
    assert.deepEqual(probe.stdout.trim().split('\n'), ['1000', '1000', '1000', 'tmp-writable']);
    assert.ok(!existsSync(join(app, '.write-probe')));

    // 2. The relay, started as the image starts it.
    const port = await freePort();
    const root2 = tempDir('tp-sandbox-root-');
    t.after(() => rmSync(root2, { recursive: true, force: true }));
    // The Dockerfile's CMD and ENV; bind to loopback on a free port, as the chart's env overrides them.
    const [cmd, ...args] = df.cmd;
    assert.equal(cmd, 'node');
    const child = spawn('bash', [SANDBOX, app, process.execPath, ...args], {
      env: {
        PATH: process.env.PATH,
        ...df.env,
        SANDBOX_ROOT: root2,
        RELAY_HOST: '127.0.0.1',
        RELAY_PORT: String(port),
        TOKENPLACE_RELAY_DRAIN_SECONDS: String(chartValues.drainSeconds),
        TOKENPLACE_RELAY_DRAIN_LINGER_MS: '2000',
        TOKENPLACE_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/healthz`, child, () => output);

    // The listening process is node itself (exec all the way), as uid/gid 1000 with no other groups.
    assert.match(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8'), /dist\/src\/cli\.js\0serve/);
    const ids = uidsOf(child.pid!);
    assert.deepEqual(ids.uid.split(/\s+/), ['1000', '1000', '1000', '1000']);
    assert.deepEqual(ids.gid.split(/\s+/), ['1000', '1000', '1000', '1000']);
    assert.equal(ids.groups, '');

    const healthz = await get(`${base}/healthz`);
    assert.equal(healthz.status, 200);
    assert.equal(JSON.parse(healthz.body).status, 'ok');
    const livez = await get(`${base}/livez`);
    assert.equal(livez.status, 200);
    assert.equal(JSON.parse(livez.body).status, 'alive');
    const metrics = await get(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    assert.match(metrics.body, /^# (HELP|TYPE) /m);

    // 3. SIGTERM straight to the process: readiness turns 503 "draining", then exit 0.
    const started = Date.now();
    const done = exited(child);
    child.kill('SIGTERM');
    let sawDraining = false;
    while (Date.now() - started < 1500 && child.exitCode === null) {
      try {
        const r = await get(`${base}/healthz`);
        if (r.status === 503 && JSON.parse(r.body).status === 'draining') {
          sawDraining = true;
          break;
        }
      } catch {
        break; // listener already closed
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    let timer: NodeJS.Timeout | undefined;
    const { code, signal } = await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no exit within ${SIGTERM_BUDGET_MS} ms of SIGTERM:\n${output}`)), SIGTERM_BUDGET_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    const elapsed = Date.now() - started;
    assert.equal(signal, null, output);
    assert.equal(code, 0, output);
    assert.ok(sawDraining, `/healthz never answered 503 draining after SIGTERM:\n${output}`);
    assert.ok(elapsed < SIGTERM_BUDGET_MS, `took ${elapsed} ms`);
    t.diagnostic(
      `exited 0 ${elapsed} ms after SIGTERM (budget ${SIGTERM_BUDGET_MS} ms = grace ${chartValues.terminationGracePeriodSeconds}s - preStop ${chartValues.preStopSleepSeconds}s)`,
    );
  });
});
