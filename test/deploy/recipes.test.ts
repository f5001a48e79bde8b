// The just recipes, run by the real `just` against stub helm/kubectl/curl on PATH. The stubs log
// their argv (and KUBECONFIG); `helm template` and `helm lint` are passed to the real helm so the
// render-before-deploy step is real. Asserts the exact commands and the failure messages.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { findTool, requireTool } from '../support/tools.ts';
import { HELM_HINT, repoRoot } from './helpers.ts';
import { JUST, makeStubs, type StubRun } from './stubs.ts';

const CHART = '<repo>/apps/tokenplace-relay';
const VALUES = '-f <repo>/docs/examples/tokenplace-relay.values.dev.yaml -f <repo>/docs/examples/tokenplace-relay.values.staging.yaml';
const PINNED = readFileSync(join(repoRoot, 'docs/examples/tokenplace-relay.values.staging.yaml'), 'utf8').match(/^\s+tag:\s*(\S+)/m)![1];

function setup(t: TestContext): { run: (args: string[], env?: Record<string, string>) => StubRun } | null {
  const helm = requireTool(t, 'helm', HELM_HINT);
  if (!helm) return null;
  if (!existsSync(JUST)) {
    if (process.env.CI === 'true') throw new Error(`${JUST} missing (npm install -g rust-just)`);
    t.skip('just not installed (npm install -g rust-just)');
    return null;
  }
  const stubs = makeStubs(helm, findTool('node')!);
  return { run: (args, env = {}) => stubs.run(JUST, args, env) };
}

const K = '[KUBECONFIG=/custom/kubeconfig]';

// The cluster-identity check: read only, before anything changes.
const IDENTITY = [
  `kubectl config current-context ${K}`,
  `kubectl config view --minify -o jsonpath={.clusters[0].cluster.server} ${K}`,
  `kubectl get nodes -o jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.metadata.labels.sugarkube\\.env}{"\\t"}{.metadata.labels.sugarkube\\.cluster}{"\\n"}{end} ${K}`,
];

function expectedRedeploy(tagArgs: string, _imageRef: string): string[] {
  return [
    `helm template tokenplace-relay ${CHART} --namespace tokenplace ${VALUES}${tagArgs} ${K}`,
    `kubectl config current-context ${K}`,
    ...IDENTITY,
    `kubectl --namespace tokenplace get secret tokenplace-relay-secrets --output name ${K}`,
    `helm version --template {{.Version}} ${K}`,
    `helm upgrade --install tokenplace-relay ${CHART} --namespace tokenplace --create-namespace ${VALUES}${tagArgs} --history-max 10 ${K}`,
    `kubectl --namespace tokenplace rollout status deployment/tokenplace-relay --timeout 180s ${K}`,
    `helm get values tokenplace-relay --namespace tokenplace --all --output json ${K}`,
  ];
}

describe('just tokenplace-oci-redeploy', () => {
  it('requires env= and checks the cluster identity before any change', (t) => {
    const s = setup(t);
    if (!s) return;
    let r = s.run(['tokenplace-oci-redeploy', 'tag=sha-deadbee']);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /ERROR: env is required for commands that change the cluster\n {2}pass env=<dev\|staging>, e.g\. just tokenplace-oci-redeploy env=staging tag=sha-<shortsha>/,
    );
    assert.deepEqual(r.log, []);
    r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-deadbee'], { STUB_CLUSTER_ENV: 'prod' });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /ERROR: env=staging was requested, but the cluster of context 'sugarkube-staging' \(https:\/\/192\.168\.1\.10:6443\) identifies as env=prod \(cluster sugarkube-staging\); nothing was changed/,
    );
    assert.ok(!r.log.some((l) => l.startsWith('helm upgrade') || l.includes('get secret')));
    r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-deadbee'], { STUB_CLUSTER_ENV: '' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /lack the sugarkube\.env \/ sugarkube\.cluster labels; refusing to change a cluster of unknown identity/);
    // Sugarkube's forms: positional, and the exported SUGARKUBE_ENV.
    r = s.run(['tokenplace-oci-redeploy', 'staging', 'sha-deadbee']);
    assert.equal(r.status, 0, r.stderr);
    r = s.run(['tokenplace-oci-redeploy', 'tag=sha-deadbee'], { SUGARKUBE_ENV: 'staging' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('without a tag: renders, checks, installs or upgrades with the pinned tag, waits, prints the URL', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-oci-redeploy', 'env=staging']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.log, expectedRedeploy('', PINNED!));
    assert.match(r.stdout, new RegExp(`Image: ghcr.io/futuroptimist/tokenplace-relay:${PINNED}\\n`));
    assert.match(r.stdout, /Kube context: sugarkube-staging \(KUBECONFIG=\/custom\/kubeconfig\)/);
    assert.match(r.stdout, /Public URL: https:\/\/staging\.token\.place\n/);
    assert.ok(!r.log.join('\n').includes('--reuse-values'));
  });

  for (const arg of ['tag=sha-deadbee', 'tag=tag=sha-deadbee', 'sha-deadbee']) {
    it(`${arg}: deploys sha-deadbee`, (t) => {
      const s = setup(t);
      if (!s) return;
      const r = s.run(['tokenplace-oci-redeploy', 'env=staging', arg]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.log, expectedRedeploy(' --set-string image.tag=sha-deadbee', 'sha-deadbee'));
      assert.match(r.stdout, /Image: ghcr\.io\/futuroptimist\/tokenplace-relay:sha-deadbee\n/);
    });
  }

  it('uses the default kubeconfig when KUBECONFIG is unset, and never sets it', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-deadbee'], { KUBECONFIG: '' });
    assert.equal(r.status, 0, r.stderr);
    for (const line of r.log) assert.ok(line.endsWith('[KUBECONFIG=]'), line);
    assert.match(r.stdout, /KUBECONFIG=~\/\.kube\/config/);
  });

  for (const tag of ['latest', 'main', 'master', 'LATEST', 'main-latest']) {
    it(`refuses the mutable tag ${tag} before touching anything`, (t) => {
      const s = setup(t);
      if (!s) return;
      const r = s.run(['tokenplace-oci-redeploy', 'env=staging', `tag=${tag}`]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`ERROR: image tag '${tag}' is mutable and is refused\\n  pass an immutable tag: tag=sha-<shortsha>`));
      assert.deepEqual(r.log, []);
    });
  }

  it('refuses an invalid tag and an unknown key=value argument', (t) => {
    const s = setup(t);
    if (!s) return;
    let r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha deadbee']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ERROR: image tag 'sha deadbee' is not a valid tag/);
    r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tga=sha-deadbee']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ERROR: unknown argument 'tga=sha-deadbee'\n {2}this command takes: env=\.\.\., tag=\.\.\., values=\.\.\., namespace=\.\.\./);
    assert.deepEqual(r.log, []);
  });

  it('stops before the cluster when the chart does not render', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-oci-redeploy', 'env=staging'], { STUB_TEMPLATE_FAIL: '1' });
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /stub render failure\nERROR: the chart did not render with these values; nothing was changed in the cluster\n {2}fix the values above, then check with: just tokenplace-template/,
    );
    assert.equal(r.log.length, 1);
  });

  it('fails clearly without a kube context', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-deadbee'], { STUB_NO_CONTEXT: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ERROR: no current kube context \(KUBECONFIG=\/custom\/kubeconfig\)\n {2}point KUBECONFIG at the cluster's kubeconfig/);
    assert.ok(!r.log.some((l) => l.startsWith('helm upgrade')));
  });

  it('fails with the create command when the token Secret is missing', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-deadbee'], { STUB_SECRET_MISSING: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ERROR: Secret tokenplace-relay-secrets is missing in namespace tokenplace/);
    assert.match(
      r.stderr,
      /kubectl -n tokenplace create secret generic tokenplace-relay-secrets --from-literal=TOKEN_PLACE_RELAY_SERVER_TOKEN="\$\(openssl rand -hex 32\)"/,
    );
    assert.ok(!r.log.some((l) => l.startsWith('helm upgrade')));
  });

  it('reports a failed helm upgrade with what to do next', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-deadbee'], { STUB_UPGRADE_EXIT: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ERROR: helm upgrade --install failed\n {2}release history: helm -n tokenplace history tokenplace-relay/);
    assert.ok(!r.log.some((l) => l.includes('rollout status')));
  });

  it('reports a rollout that does not finish with diagnostics and the rollback command', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-deadbee'], { STUB_ROLLOUT_FAIL: '1' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ERROR: deployment\/tokenplace-relay did not become ready within 180s/);
    assert.match(r.stderr, /kubectl -n tokenplace describe pods -l app\.kubernetes\.io\/instance=tokenplace-relay/);
    assert.match(r.stderr, /roll back to the previous revision: just tokenplace-rollback env=staging namespace=tokenplace/);
    assert.ok(!r.stdout.includes('Public URL'));
  });
});

describe('just tokenplace-status / logs / port-forward / template / lint', () => {
  it('status lists pods, service, ingress, certificate, release and the public URL', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-status']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.log, [
      `kubectl config current-context ${K}`,
      `kubectl --namespace tokenplace get pods,service,ingress -l app.kubernetes.io/instance=tokenplace-relay -o wide ${K}`,
      `kubectl --namespace tokenplace get certificate ${K}`,
      `helm status tokenplace-relay --namespace tokenplace ${K}`,
      `helm get values tokenplace-relay --namespace tokenplace --all --output json ${K}`,
    ]);
    assert.match(r.stdout, /Public URL: https:\/\/staging\.token\.place\n/);
  });

  it('status without a release says how to deploy', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-status'], { STUB_NO_RELEASE: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No Helm release tokenplace-relay in namespace tokenplace: deploy with: just tokenplace-oci-redeploy/);
  });

  it('logs shows relay pods, current and previous logs, and Traefik', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-logs']);
    assert.equal(r.status, 0, r.stderr);
    const sel = 'app.kubernetes.io/name=tokenplace-relay,app.kubernetes.io/instance=tokenplace-relay';
    assert.deepEqual(r.log, [
      `kubectl config current-context ${K}`,
      `kubectl --namespace tokenplace get pods -l app.kubernetes.io/instance=tokenplace-relay -o wide ${K}`,
      `kubectl --namespace tokenplace logs -l ${sel} --all-containers --prefix --tail 200 ${K}`,
      `kubectl --namespace tokenplace logs -l ${sel} --all-containers --prefix --tail 200 --previous ${K}`,
      `kubectl --namespace kube-system logs -l app.kubernetes.io/name=traefik --all-containers --prefix --tail 200 ${K}`,
    ]);
    const r2 = s.run(['tokenplace-logs', 'tail=50']);
    assert.equal(r2.status, 0, r2.stderr);
    assert.ok(r2.log.every((l) => !l.includes(' logs ') || l.includes('--tail 50')));
  });

  for (const [args, port] of [
    [[], '5010'],
    [['local_port=8500'], '8500'],
    [['local_port=local_port=8501'], '8501'],
    [['8502'], '8502'],
  ] as const) {
    it(`port-forward ${args.join(' ') || '(default)'} forwards localhost:${port} to the Service port 80`, (t) => {
      const s = setup(t);
      if (!s) return;
      const r = s.run(['tokenplace-port-forward', ...args]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.log, [`kubectl config current-context ${K}`, `kubectl --namespace tokenplace port-forward service/tokenplace-relay ${port}:80 ${K}`]);
      assert.match(r.stdout, new RegExp(`curl -fsS http://localhost:${port}/healthz`));
    });
  }

  it('port-forward refuses a bad port', (t) => {
    const s = setup(t);
    if (!s) return;
    for (const bad of ['local_port=0', 'local_port=70000', 'local_port=http']) {
      const r = s.run(['tokenplace-port-forward', bad]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /ERROR: local_port must be a TCP port number \(1-65535\)/);
      assert.deepEqual(r.log, []);
    }
  });

  it('template renders with the real helm and honours tag=', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-template', 'tag=sha-abcdef1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /image: "ghcr\.io\/futuroptimist\/tokenplace-relay:sha-abcdef1"/);
    assert.match(r.stdout, /host: "staging\.token\.place"/);
    assert.deepEqual(r.log, [`helm template tokenplace-relay ${CHART} --namespace tokenplace ${VALUES} --set-string image.tag=sha-abcdef1 ${K}`]);
  });

  it('lint runs helm lint --strict with both values files', (t) => {
    const s = setup(t);
    if (!s) return;
    const r = s.run(['tokenplace-lint']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.deepEqual(r.log, [`helm lint --strict ${CHART} ${VALUES} ${K}`]);
  });
});
