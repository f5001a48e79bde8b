// The real image: podman builds the repository's Dockerfile (scripts/build-image.sh; the base
// node:24-slim is a "stand-in base" made locally, since Docker Hub cannot be reached), then the
// image runs as the chart runs it: read-only root, /tmp tmpfs, uid/gid 1000, every capability
// dropped, no new privileges, the chart's metrics port. Probes answer, /metrics is 404 on the
// relay port and served on the metrics port, no package manager is left, SIGTERM -> exit 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { findTool, inCI } from '../support/tools.ts';
import { repoRoot } from './helpers.ts';

const CACHE = process.env.TOKENPLACE_CI_CACHE ?? '/var/cache/tokenplace-relay-ci';
const IMAGE = 'localhost/tokenplace-relay:test';
const INSTALL =
  'apt-get install -y --no-install-recommends podman buildah runc uidmap fuse-overlayfs slirp4netns netavark aardvark-dns iptables debootstrap (as root)';
// The same podman configuration scripts/build-image.sh writes (this VM type needs it).
const podmanEnv = { ...process.env, CONTAINERS_CONF: join(CACHE, 'image/containers.conf'), CONTAINERS_STORAGE_CONF: join(CACHE, 'image/storage.conf') };

function sh(cmd: string, args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: repoRoot, env: podmanEnv, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const podman = (...args: string[]): string => {
  const r = sh('podman', args);
  assert.equal(r.status, 0, `podman ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

function ready(t: TestContext): boolean {
  const missing = ['podman', 'debootstrap', 'curl'].filter((tool) => !findTool(tool));
  if (process.getuid?.() !== 0) missing.push('root (rootful podman, debootstrap)');
  if (missing.length === 0) return true;
  const message = `image build parts missing: ${missing.join(', ')} (${INSTALL})`;
  if (inCI) throw new Error(`${message}; CI=true, so a missing part is a failure`);
  t.skip(message);
  return false;
}

describe('the real image (podman, stand-in base for node:24-slim)', { concurrency: false }, () => {
  it('builds from the Dockerfile and passes the smoke test (read-only, caps dropped, SIGTERM -> 0)', { timeout: 900_000 }, (t) => {
    if (!ready(t)) return;
    const t0 = Date.now();
    const build = sh(join(repoRoot, 'scripts/build-image.sh'), ['all', IMAGE], 900_000);
    assert.equal(build.status, 0, `${build.stdout}\n${build.stderr}`);
    assert.match(build.stderr, /stand-in base/);
    assert.match(build.stdout, /image smoke test passed/);
    const size = Number(podman('image', 'inspect', '--format', '{{.Size}}', IMAGE));
    console.log(
      `# image ${IMAGE}: ${(size / 1e6).toFixed(1)} MB, built and smoke-tested in ${((Date.now() - t0) / 1000).toFixed(1)} s (base: stand-in base for node:24-slim)`,
    );
    const labels = JSON.parse(podman('image', 'inspect', '--format', '{{json .Labels}}', IMAGE)) as Record<string, string>;
    assert.equal(labels['org.opencontainers.image.source'], 'https://github.com/futuroptimist/tokenplace-relay');
    assert.equal(labels['org.opencontainers.image.title'], 'tokenplace-relay');
    assert.match(labels['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}$/);
  });

  it('runs as the chart runs it: uid 1000, no capabilities, read-only root, metrics only on the metrics port', { timeout: 120_000 }, async (t) => {
    if (!ready(t)) return;
    if (sh('podman', ['image', 'exists', IMAGE]).status !== 0) {
      if (inCI) throw new Error(`${IMAGE} missing: the build test above failed`);
      return t.skip(`${IMAGE} not built (scripts/build-image.sh all)`);
    }
    const started = Date.now();
    const cid = podman(
      'run',
      '-d',
      '--read-only',
      '--read-only-tmpfs=false',
      '--tmpfs',
      '/tmp:rw,noexec,nosuid,size=64m',
      '--user',
      '1000:1000',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '-e',
      'RELAY_HOST=0.0.0.0',
      '-e',
      'RELAY_PORT=5010',
      '-e',
      'TOKENPLACE_METRICS_PORT=9090',
      '-e',
      'TOKENPLACE_RELAY_DRAIN_SECONDS=20',
      '-p',
      '127.0.0.1::5010',
      '-p',
      '127.0.0.1::9090',
      IMAGE,
    );
    try {
      const port = (p: number): string => podman('port', cid, `${p}/tcp`).split('\n')[0]!.replace(/.*:/, '');
      const relay = `http://127.0.0.1:${port(5010)}`;
      const metrics = `http://127.0.0.1:${port(9090)}`;
      let readyAfter = -1;
      while (Date.now() - started < 60_000) {
        const r = await fetch(`${relay}/healthz`).catch(() => null);
        if (r?.status === 200) {
          readyAfter = Date.now() - started;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(readyAfter >= 0, `not ready within 60 s:\n${sh('podman', ['logs', cid]).stdout}`);
      console.log(`# start-to-ready (podman run -> /healthz 200): ${readyAfter} ms`);
      assert.equal((await fetch(`${relay}/livez`)).status, 200);
      const publicMetrics = await fetch(`${relay}/metrics`);
      assert.equal(publicMetrics.status, 404, 'the relay port (behind the Ingress) does not serve /metrics');
      assert.equal(((await publicMetrics.json()) as { code: string }).code, 'route_not_found');
      const scraped = await fetch(`${metrics}/metrics`);
      assert.equal(scraped.status, 200);
      assert.match(await scraped.text(), /^# TYPE /m);

      const status = podman('exec', cid, 'cat', '/proc/1/status');
      assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
      assert.match(status, /^Gid:\s+1000\s+1000\s+1000\s+1000$/m);
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.match(status, new RegExp(`^${set}:\\s+0{16}$`, 'm'), set);
      assert.match(status, /^NoNewPrivs:\s+1$/m);
      assert.equal(podman('exec', cid, 'cat', '/proc/1/cmdline').split('\0').filter(Boolean).join(' '), 'node dist/src/cli.js serve');
      assert.notEqual(sh('podman', ['exec', cid, 'touch', '/app/x']).status, 0, '/app is read-only');
      assert.equal(sh('podman', ['exec', cid, 'touch', '/tmp/x']).status, 0, '/tmp is writable');
      for (const tool of ['npm', 'npx', 'corepack', 'yarn']) {
        assert.notEqual(sh('podman', ['exec', cid, 'sh', '-c', `command -v ${tool}`]).status, 0, `${tool} is left in the runtime image`);
      }

      const signalled = Date.now();
      podman('kill', '--signal', 'TERM', cid);
      const code = podman('wait', cid);
      assert.equal(code, '0', 'exit code after SIGTERM');
      console.log(`# SIGTERM -> exit ${code} after ${Date.now() - signalled} ms`);
    } finally {
      sh('podman', ['rm', '-f', cid]);
    }
  });
});
