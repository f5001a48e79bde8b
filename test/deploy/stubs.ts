// Stub helm/kubectl/curl for the recipe and runbook tests. Each stub appends its argv and the
// KUBECONFIG it saw to $STUB_LOG. `helm template` and `helm lint` run the real helm ($REAL_HELM).
// STUB_* variables make a stub fail the way a real cluster or registry would.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { repoRoot, tempDir } from './helpers.ts';
import { findTool } from '../support/tools.ts';

// `just` from the npm package rust-just, installed globally by .ci/run (its lock entries for other
// platforms cannot be resolved from every registry, so it is not a project dependency).
export const JUST = findTool('just') ?? join(repoRoot, 'node_modules', '.bin', 'just');

const LOG_LINE = `{ printf '%s' "$(basename "$0")"; printf ' %s' "$@"; printf ' [KUBECONFIG=%s]\\n' "\${KUBECONFIG:-}"; } >> "$STUB_LOG"`;

const HELM = `#!/usr/bin/env bash
${LOG_LINE}
case "$1" in
  template|lint)
    [ -n "\${STUB_TEMPLATE_FAIL:-}" ] && { echo "Error: stub render failure" >&2; exit 1; }
    exec "$REAL_HELM" "$@" ;;
  upgrade) exit "\${STUB_UPGRADE_EXIT:-0}" ;;
  version) echo "\${STUB_HELM_VERSION:-v3.22.0}" ;;
  history) echo '[{"revision":2,"status":"superseded"},{"revision":3,"status":"deployed"}]' ;;
  rollback) exit 0 ;;
  get) [ -n "\${STUB_NO_RELEASE:-}" ] && { echo "Error: release: not found" >&2; exit 1; }
       echo '{"ingress":{"enabled":true,"host":"staging.token.place"},"image":{"tag":"sha-1234567"}}' ;;
  status) [ -n "\${STUB_NO_RELEASE:-}" ] && { echo "Error: release: not found" >&2; exit 1; }
          echo "STATUS: deployed" ;;
esac
exit 0
`;

const KUBECTL = `#!/usr/bin/env bash
${LOG_LINE}
case "$*" in
  "config current-context") [ -n "\${STUB_NO_CONTEXT:-}" ] && exit 1; echo "sugarkube-staging" ;;
  "config view "*) echo "https://192.168.1.10:6443" ;;
  "get nodes "*) printf 'sugarkube-node-1\t%s\tsugarkube-staging\n' "\${STUB_CLUSTER_ENV-staging}" ;;
  *" get secret "*jsonpath*) printf 'c3R1Yi10b2tlbg==' ;;
  *" get secret "*) [ -n "\${STUB_SECRET_MISSING:-}" ] && { echo 'Error from server (NotFound)' >&2; exit 1; }; echo "secret/$5" ;;
  *" rollout status "*) [ -n "\${STUB_ROLLOUT_FAIL:-}" ] && { echo 'error: timed out waiting for the condition' >&2; exit 1; }; echo 'deployment "tokenplace-relay" successfully rolled out' ;;
  *) echo "kubectl-stub-output" ;;
esac
exit 0
`;

const CURL = `#!/usr/bin/env bash
${LOG_LINE}
case "$*" in
  *"/token?"*) echo '{"token":"stub-token"}' ;;
  *"/manifests/"*) printf '%s' "\${STUB_MANIFEST_CODE:-200}" ;;
  *) echo '{"status":"ok"}' ;;
esac
exit 0
`;

export interface StubRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** One line per stub call: `tool arg arg ... [KUBECONFIG=...]`, repository path as <repo>. */
  log: string[];
}

export interface Stubs {
  bin: string;
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  run(cmd: string, args: string[], env?: Record<string, string>): StubRun;
}

export function makeStubs(realHelm: string, nodePath: string): Stubs {
  const dir = tempDir('tp-stubs-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const [name, body] of [
    ['helm', HELM],
    ['kubectl', KUBECTL],
    ['curl', CURL],
  ] as const) {
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
  const log = join(dir, 'log');
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    // Only the stubs and the system: a real kubectl or helm elsewhere on PATH must never be reached.
    PATH: [bin, dirname(JUST), dirname(nodePath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
    HOME: dir,
    STUB_LOG: log,
    REAL_HELM: realHelm,
    KUBECONFIG: '/custom/kubeconfig',
    // The registry check is exercised against a registry stand-in (check-image.test.ts, cluster-flows.test.ts).
    TOKENPLACE_SKIP_IMAGE_CHECK: '1',
    ...extra,
  });
  return {
    bin,
    env,
    run(cmd, args, extra = {}) {
      writeFileSync(log, '');
      const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
      const lines = readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replaceAll(repoRoot, '<repo>'));
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, log: lines };
    },
  };
}
