// The operator's flows against a real Kubernetes API server (scripts/test-cluster.sh: etcd,
// kube-apiserver, controller-manager, scheduler, kwok fake node), through the `just` recipes as
// docs/apps/tokenplace-relay.md tells an operator, with helm 3 and again with helm 4, in a
// namespace enforcing Pod Security `restricted`. The image check talks to a local registry
// stand-in (ghcr.io is not reachable). kwok plays the kubelet: pods are scheduled, admitted and
// marked Ready, but nothing is pulled or run (probes, logs, SIGTERM are the image test's part).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { findTool, inCI } from '../support/tools.ts';
import { repoRoot } from './helpers.ts';
import { spawnRegistryStandIn } from './support/registry-stand-in.ts';

const CACHE = process.env.TOKENPLACE_CI_CACHE ?? '/var/cache/tokenplace-relay-ci';
const BIN = join(CACHE, 'bin');
const REPO = 'futuroptimist/tokenplace-relay';
const OLD_CHART = join(repoRoot, 'test/fixtures/sugarkube-dec2025-chart');
const PIN_REVISION = '5334287168ae7dad7fbbdc5832bc9bcaa0cf732c';
const GOOD_LABELS = (revision: string): Record<string, string> => ({
  'org.opencontainers.image.source': 'https://github.com/futuroptimist/tokenplace-relay',
  'org.opencontainers.image.title': 'tokenplace-relay',
  'org.opencontainers.image.revision': revision,
});
const JUST = findTool('just');
const BUILD_HINT = 'scripts/test-cluster.sh build (needs Go >= 1.26, ~15 min cold on 2 cores)';

interface Out {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function missingParts(): string[] {
  const missing: string[] = [];
  for (const b of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']) {
    if (!existsSync(join(BIN, b))) missing.push(`${join(BIN, b)} (${BUILD_HINT})`);
  }
  if (!findTool('helm')) missing.push('helm (go install helm.sh/helm/v3/cmd/helm@v3.22.0)');
  if (!findTool('kubectl')) missing.push('kubectl (apt-get install -y kubectl)');
  if (!JUST) missing.push('just (npm install -g rust-just@1.57.0)');
  if (!findTool('openssl')) missing.push('openssl (apt-get install -y openssl)');
  return missing;
}

function skipOrFail(t: TestContext, missing: string[]): boolean {
  if (missing.length === 0) return false;
  const message = `real cluster parts missing: ${missing.join('; ')}`;
  if (inCI) throw new Error(`${message}; CI=true, so a missing part is a failure`);
  t.skip(message);
  return true;
}

const runDir = mkdtempSync(join(tmpdir(), 'tp-cluster-'));
const clusterEnv = {
  ...process.env,
  TOKENPLACE_TEST_CLUSTER_DIR: join(runDir, 'cluster'),
  TOKENPLACE_TEST_API_PORT: '16443',
  TOKENPLACE_TEST_ETCD_PORT: '12379',
};
const kubeconfig = join(runDir, 'cluster', 'kubeconfig');
let registry: Awaited<ReturnType<typeof spawnRegistryStandIn>> | null = null;
let clusterUp = false;
const timings: string[] = [];

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Out {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: repoRoot, env, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

describe('operator flows on a real API server', { concurrency: false }, () => {
  before(async () => {
    if (missingParts().length > 0) return;
    const up = sh(join(repoRoot, 'scripts/test-cluster.sh'), ['up'], clusterEnv, 180_000);
    if (up.status !== 0) {
      // Stop whatever part did start, so a failed start leaves nothing running behind it.
      sh(join(repoRoot, 'scripts/test-cluster.sh'), ['down'], clusterEnv);
      throw new Error(`test cluster did not start:\n${up.stderr}`);
    }
    clusterUp = true;
    timings.push(`cluster up: ${up.seconds.toFixed(1)} s`);
    registry = await spawnRegistryStandIn(REPO, [
      { tag: 'sha-5334287', labels: GOOD_LABELS(PIN_REVISION) },
      { tag: 'sha-deadbee', labels: GOOD_LABELS('deadbee0000000000000000000000000000000000') },
      // What token.place's own CI pushes under the same package name: its Python relay.
      {
        tag: 'sha-1234567',
        labels: {
          'org.opencontainers.image.source': 'https://github.com/futuroptimist/token.place',
          'org.opencontainers.image.title': 'token.place relay',
          'org.opencontainers.image.revision': '1234567000000000000000000000000000000000',
        },
      },
    ]);
  });

  after(async () => {
    await registry?.close();
    if (clusterUp) sh(join(repoRoot, 'scripts/test-cluster.sh'), ['down'], clusterEnv);
    if (timings.length > 0) console.log(`# cluster flow timings\n${timings.map((l) => `#   ${l}`).join('\n')}`);
  });

  for (const helmMajor of [3, 4] as const) {
    it(
      `helm ${helmMajor}: fresh cluster, install, status, new tag, refusals, rollback, helm test, everything-on and back, failed first rollout, Sugarkube Dec 2025 upgrade, uninstall`,
      { timeout: 900_000 },
      (t) => {
        if (skipOrFail(t, missingParts())) return;
        const helm4 = join(BIN, 'helm4');
        if (helmMajor === 4 && !existsSync(helm4) && skipOrFail(t, [`${helm4} (${BUILD_HINT}; TOKENPLACE_BUILD_HELM4=1)`])) return;
        // helm 4 pass: `helm` on PATH is the cached helm v4 build; its own namespace (namespace=).
        const pathDir = join(runDir, `helm${helmMajor}-bin`);
        mkdirSync(pathDir, { recursive: true });
        if (helmMajor === 4 && !existsSync(join(pathDir, 'helm'))) symlinkSync(helm4, join(pathDir, 'helm'));
        const ns = helmMajor === 3 ? 'tokenplace' : 'tokenplace-h4';
        const nsArg = helmMajor === 3 ? [] : [`namespace=${ns}`];
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          KUBECONFIG: kubeconfig,
          PATH: `${pathDir}${delimiter}${process.env.PATH ?? ''}`,
          TOKENPLACE_ROLLOUT_TIMEOUT: '90s',
          SUGARKUBE_ENV: '',
        };
        delete env.SUGARKUBE_ENV;
        const helmVersion = sh('helm', ['version', '--short'], env).stdout.trim();
        assert.match(helmVersion, new RegExp(`^v${helmMajor}\\.`), helmVersion);
        const just = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Out => {
          const r = sh(JUST!, args, { ...env, ...extraEnv });
          timings.push(`helm ${helmMajor}: just ${args.join(' ')}: exit ${r.status}, ${r.seconds.toFixed(1)} s`);
          return r;
        };
        const kubectl = (...args: string[]): Out => sh('kubectl', args, env);
        const k = (...args: string[]): string => {
          const r = kubectl(...args);
          assert.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
          return r.stdout;
        };
        const helmHistory = (): { revision: number; status: string }[] => {
          const r = sh('helm', ['history', 'tokenplace-relay', '-n', ns, '-o', 'json'], env);
          return r.status === 0 ? (JSON.parse(r.stdout) as { revision: number; status: string }[]) : [];
        };
        const deployedImage = (): string => k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
        // The image comes from the registry stand-in; everything else from the runbook's files.
        const image = join(runDir, `image-${helmMajor}.yaml`);
        writeFileSync(image, `image:\n  repository: ${registry!.host}/${REPO}\n`);
        const values = `values=${image}`;

        // 1. Wrong or missing env: refused before anything changes.
        let r = just(['tokenplace-oci-redeploy', 'tag=sha-deadbee', values, ...nsArg]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /env is required/);
        r = just(['tokenplace-oci-redeploy', 'env=dev', values, ...nsArg]);
        assert.equal(r.status, 1);
        assert.match(
          r.stderr,
          /env=dev was requested, but the cluster of context 'tokenplace-test' .* identifies as env=staging \(cluster tokenplace-test\); nothing was changed/,
        );
        assert.match(r.stderr, /kubectl config use-context/);

        // 2. Fresh cluster: the missing-Secret message, then its commands, run as printed.
        r = just(['tokenplace-oci-redeploy', 'env=staging', values, ...nsArg]);
        assert.equal(r.status, 1, r.stdout);
        assert.match(r.stderr, new RegExp(`Secret tokenplace-relay-secrets is missing in namespace ${ns}`));
        assert.equal(kubectl('get', 'namespace', ns).status, 1, 'nothing was created');
        const printed = [...r.stderr.matchAll(/^ {2}(?:create the namespace if needed|create the Secret): (kubectl .*)$/gm)].map((m) => m[1]!);
        assert.equal(printed.length, 2, r.stderr);
        for (const command of printed) {
          const c = sh('bash', ['-euo', 'pipefail', '-c', command], env);
          assert.equal(c.status, 0, `${command}: ${c.stderr}`);
        }
        assert.equal(k('get', 'namespace', ns, '-o', 'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}'), 'restricted');

        // 3. First install (the staging pin), rollout waited for, URL printed; PSA restricted admits it.
        r = just(['tokenplace-oci-redeploy', 'env=staging', values, ...nsArg]);
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /Image is this relay: .*:sha-5334287 \(revision 5334287168ae\)/);
        assert.match(r.stdout, /Cluster identity: env=staging cluster=tokenplace-test/);
        assert.match(r.stdout, /successfully rolled out/);
        assert.match(r.stdout, /Public URL: https:\/\/staging\.token\.place/);
        assert.deepEqual(
          helmHistory().map((h) => [h.revision, h.status]),
          [[1, 'deployed']],
        );
        assert.equal(k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.status.readyReplicas}'), '1');
        assert.equal(k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.spec.strategy.type}'), 'Recreate');

        // Metrics: a `metrics` Service port; the Ingress routes only to http.
        assert.equal(
          k('-n', ns, 'get', 'svc', 'tokenplace-relay', '-o', 'jsonpath={range .spec.ports[*]}{.name}:{.port}:{.targetPort} {end}').trim(),
          'http:80:5010 metrics:9090:metrics',
        );
        assert.equal(
          k(
            '-n',
            ns,
            'get',
            'ingress',
            'tokenplace-relay',
            '-o',
            'jsonpath={range .spec.rules[*].http.paths[*]}{.backend.service.port.number}{.backend.service.port.name} {end}',
          ).trim(),
          'http',
          'only the http Service port',
        );
        assert.match(
          k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.spec.template.spec.containers[0].env}'),
          /"name":"TOKENPLACE_METRICS_PORT","value":"9090"/,
        );

        // 4. Status.
        r = just(['tokenplace-status', ...nsArg]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /pod\/tokenplace-relay-\S+ +1\/1 +Running/);
        assert.match(r.stdout, /service\/tokenplace-relay +ClusterIP/);
        assert.match(r.stdout, /ingress\.networking\.k8s\.io\/tokenplace-relay +traefik +staging\.token\.place/);
        assert.match(r.stdout, /Certificates: none listed/);
        assert.match(r.stdout, /STATUS: deployed/);
        assert.match(r.stdout, /Public URL: https:\/\/staging\.token\.place/);

        // 5. A new tag, in the argument forms Sugarkube operators type.
        r = just(['tokenplace-oci-redeploy', 'env=staging', 'tag=tag=sha-deadbee', values, ...nsArg]);
        assert.equal(r.status, 0, r.stderr);
        assert.ok(deployedImage().endsWith(':sha-deadbee'), deployedImage());
        assert.equal(helmHistory().at(-1)!.revision, 2);

        // 6. Refusals before any change: a foreign image under the same name, an unpublished tag.
        r = just(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-1234567', values, ...nsArg]);
        assert.equal(r.status, 1);
        assert.match(
          r.stderr,
          /sha-1234567 is not this relay: source is not https:\/\/github\.com\/futuroptimist\/tokenplace-relay; title is not tokenplace-relay/,
        );
        r = just(['tokenplace-oci-redeploy', 'env=staging', 'tag=sha-0badbad', values, ...nsArg]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /sha-0badbad is not published in the registry; nothing was changed/);
        assert.equal(helmHistory().at(-1)!.revision, 2, 'refused deploys made no revision');

        // 7. Rollback (Sugarkube's twin), then helm test.
        r = just(['tokenplace-rollback', 'env=staging', ...nsArg]);
        assert.equal(r.status, 0, r.stderr);
        assert.ok(deployedImage().endsWith(':sha-5334287'), deployedImage());
        assert.equal(helmHistory().at(-1)!.revision, 3);
        r = just(['tokenplace-rollback', 'env=staging', 'revision=2', ...nsArg]);
        assert.equal(r.status, 0, r.stderr);
        assert.ok(deployedImage().endsWith(':sha-deadbee'));
        const test = sh('helm', ['test', 'tokenplace-relay', '-n', ns, '--timeout', '90s'], env);
        timings.push(`helm ${helmMajor}: helm test: exit ${test.status}, ${test.seconds.toFixed(1)} s`);
        assert.equal(test.status, 0, `${test.stdout}\n${test.stderr}`);
        assert.match(test.stdout, /Phase: +Succeeded/);

        // 8. Debug logs: pods listed; the logs themselves need a kubelet (kwok has none to serve them).
        r = just(['tokenplace-debug-logs', `namespace=${ns}`]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /== relay pods \(namespace tokenplace(-h4)?\)\n(.*\n)*tokenplace-relay-/);

        // 9. Everything on: Redis store, 3 replicas, HPA, PDB, NetworkPolicy, digest pin; then back.
        const all = join(runDir, `all-${helmMajor}.yaml`);
        writeFileSync(
          all,
          [
            `image:\n  repository: ${registry!.host}/${REPO}\n  digest: "${registry!.digestOf('sha-deadbee')}"`,
            'store:\n  type: redis\n  redis:\n    url: redis://redis.tokenplace.svc:6379/0',
            'replicaCount: 3',
            'autoscaling:\n  enabled: true\n  minReplicas: 3\n  maxReplicas: 5',
            'networkPolicy:\n  enabled: true\n  metricsFrom:\n    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: monitoring',
            'topologySpreadConstraints:\n  - maxSkew: 1\n    topologyKey: kubernetes.io/hostname\n    whenUnsatisfiable: ScheduleAnyway\n    labelSelector:\n      matchLabels:\n        app.kubernetes.io/name: tokenplace-relay',
            '',
          ].join('\n'),
        );
        r = just(['tokenplace-oci-redeploy', 'env=staging', `values=${all}`, ...nsArg]);
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.ok(deployedImage().includes('@sha256:'), deployedImage());
        // The new pods' readiness is kwok's (fake node) and can trail the recipe's rollout wait on a
        // loaded machine: give it a bounded while.
        const strategyAndReady = () => k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.spec.strategy.type}/{.status.readyReplicas}');
        let seen = strategyAndReady();
        for (const until = Date.now() + 60_000; seen !== 'RollingUpdate/3' && Date.now() < until; seen = strategyAndReady()) spawnSync('sleep', ['1']);
        assert.equal(seen, 'RollingUpdate/3');
        assert.match(k('-n', ns, 'get', 'hpa,pdb,networkpolicy', '-o', 'name'), /horizontalpodautoscaler.*\n.*poddisruptionbudget.*\n.*networkpolicy/);
        assert.match(k('-n', ns, 'get', 'networkpolicy', 'tokenplace-relay', '-o', 'jsonpath={.spec.ingress[*].ports[*].port}'), /^5010 9090$/);
        r = just(['tokenplace-oci-redeploy', 'env=staging', values, ...nsArg]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(
          k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.spec.strategy.type}/{.spec.replicas}/{.status.readyReplicas}'),
          'Recreate/1/1',
        );
        assert.equal(k('-n', ns, 'get', 'hpa,pdb,networkpolicy', '-o', 'name').trim(), '');

        // 10. Uninstall.
        const un = sh('helm', ['uninstall', 'tokenplace-relay', '-n', ns, '--wait', '--timeout', '90s'], env);
        assert.equal(un.status, 0, un.stderr);
        assert.equal(k('-n', ns, 'get', 'deploy,svc,ingress', '-o', 'name').trim(), '');

        // 11. A first rollout that fails: the printed hint is an uninstall (revision 0 cannot be
        // rolled back to), and following it leads to a working deploy.
        const stuck = join(runDir, `stuck-${helmMajor}.yaml`);
        writeFileSync(stuck, 'nodeSelector:\n  tokenplace.test/no-such-node: "true"\n');
        r = just(['tokenplace-oci-redeploy', 'env=staging', `values=${image},${stuck}`, ...nsArg], { TOKENPLACE_ROLLOUT_TIMEOUT: '8s' });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /did not become ready within 8s/);
        assert.match(r.stderr, /first revision, so there is nothing to roll back to/);
        assert.ok(!/^ {2}roll back/m.test(r.stderr), 'no rollback hint for revision 1');
        const plain = sh('helm', ['rollback', 'tokenplace-relay', '-n', ns], env);
        assert.notEqual(plain.status, 0, 'helm rollback of a first revision fails, which is why the hint differs');
        r = just(['tokenplace-rollback', 'env=staging', ...nsArg]);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /only one revision; there is nothing to roll back to/);
        const hint = /remove it, fix the cause, deploy again: (helm -n \S+ uninstall tokenplace-relay --wait) && just/.exec(r.stderr)?.[1];
        assert.ok(hint, r.stderr);
        assert.equal(sh('bash', ['-c', hint], env).status, 0);
        r = just(['tokenplace-oci-redeploy', 'env=staging', values, ...nsArg]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(sh('helm', ['uninstall', 'tokenplace-relay', '-n', ns, '--wait'], env).status, 0);

        // 12. Upgrade from Sugarkube's Dec 2025 chart (RollingUpdate, no metrics port) to this one.
        const old = sh(
          'helm',
          [
            'install',
            'tokenplace-relay',
            OLD_CHART,
            '-n',
            ns,
            '-f',
            join(OLD_CHART, 'values.dev.yaml'),
            '-f',
            join(OLD_CHART, 'values.staging.yaml'),
            '--set',
            'image.tag=main',
            '--set',
            'image.pullPolicy=Always',
            '--wait',
            '--timeout',
            '90s',
          ],
          env,
        );
        assert.equal(old.status, 0, old.stderr);
        assert.equal(k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.spec.strategy.type}'), 'RollingUpdate');
        r = just(['tokenplace-oci-redeploy', 'env=staging', values, ...nsArg]);
        assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
        assert.equal(k('-n', ns, 'get', 'deploy', 'tokenplace-relay', '-o', 'jsonpath={.spec.strategy.type}/{.status.readyReplicas}'), 'Recreate/1');
        assert.equal(k('-n', ns, 'get', 'ingress', 'tokenplace-relay', '-o', 'jsonpath={.spec.tls[0].secretName}'), 'staging-token-place-tls');
        assert.deepEqual(
          helmHistory().map((h) => h.status),
          ['superseded', 'deployed'],
        );
        assert.equal(sh('helm', ['uninstall', 'tokenplace-relay', '-n', ns, '--wait'], env).status, 0);
      },
    );
  }
});
