// The Helm chart apps/tokenplace-relay, rendered and linted by the real helm, each rendering
// validated by kubectl-validate, and the rendered objects checked against the deploy contract.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { requireTool } from '../support/tools.ts';
import {
  KUBECTL_VALIDATE_HINT,
  KUBE_VERSION,
  chartDir,
  devValues,
  helmTemplate,
  needHelm,
  one,
  parseObjects,
  repoRoot,
  run,
  stagingValues,
  tempDir,
  writeTemp,
  type K8sObject,
} from './helpers.ts';

const HOST_ARGS = ['--set', 'ingress.enabled=true', '--set', 'ingress.host=relay.example.org', '--set', 'ingress.tls.secretName=relay-example-tls'];
const ALL_ON = [
  '-f',
  devValues,
  '-f',
  stagingValues,
  '--set',
  'store.type=redis',
  '--set',
  'store.redis.existingSecret=tokenplace-redis',
  '--set',
  'store.redis.passwordKey=password',
  '--set',
  'replicaCount=3',
  '--set',
  'autoscaling.enabled=true',
  '--set',
  'autoscaling.minReplicas=3',
  '--set',
  'autoscaling.maxReplicas=6',
  '--set',
  'networkPolicy.enabled=true',
  '--set-json',
  'networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]',
  '--set',
  'serviceMonitor.enabled=true',
  '--set',
  'serviceMonitor.force=true',
  '--set',
  'metrics.token.existingSecret=tokenplace-metrics',
  '--set',
  'image.digest=sha256:' + 'a'.repeat(64),
  '--set',
  'imagePullSecrets[0].name=ghcr-pull-secret',
  '--set',
  'gpu.host=gpu.lan',
  '--set',
  'gpu.port=3000',
  '--set',
  'env.TOKENPLACE_RELAY_MAX_NODES=50',
  '--set',
  'extraEnv[0].name=TOKENPLACE_RELAY_SINK_HOLD_MS',
  '--set-string',
  'extraEnv[0].value=4000',
  '--set',
  'envFrom[0].secretRef.name=tokenplace-extra',
  '--set',
  'nodeSelector.kubernetes\\.io/arch=arm64',
  '--set',
  'tolerations[0].key=node-role.kubernetes.io/control-plane',
  '--set',
  'tolerations[0].operator=Exists',
  '--set',
  'tolerations[0].effect=NoSchedule',
  '--set',
  'topologySpreadConstraints[0].maxSkew=1',
  '--set',
  'topologySpreadConstraints[0].topologyKey=kubernetes.io/hostname',
  '--set',
  'topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway',
  '--set',
  'topologySpreadConstraints[0].labelSelector.matchLabels.app\\.kubernetes\\.io/name=tokenplace-relay',
];

const RENDERINGS: Record<string, string[]> = {
  'defaults with a host': HOST_ARGS,
  'dev values': ['-f', devValues],
  'dev + staging values': ['-f', devValues, '-f', stagingValues],
  'every optional feature on (redis, 3 replicas, HPA, NetworkPolicy, ServiceMonitor, PDB)': ALL_ON,
};

const rendered = new Map<string, K8sObject[]>();
function objectsFor(t: TestContext, name: string): K8sObject[] | null {
  if (!needHelm(t)) return null;
  let objects = rendered.get(name);
  if (!objects) {
    const r = helmTemplate(RENDERINGS[name]!);
    assert.equal(r.status, 0, `helm template (${name}) failed:\n${r.stderr}`);
    objects = parseObjects(r.stdout);
    rendered.set(name, objects);
  }
  return objects;
}

function container(objects: K8sObject[]) {
  return one(objects, 'Deployment').spec.template.spec.containers[0];
}

function envNames(objects: K8sObject[]): string[] {
  return container(objects).env.map((e: { name: string }) => e.name);
}

describe('helm lint --strict', () => {
  for (const [name, args] of Object.entries(RENDERINGS)) {
    it(`passes: ${name}`, (t) => {
      if (!needHelm(t)) return;
      const r = run('helm', ['lint', '--strict', chartDir, ...args]);
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }
});

describe(`kubectl-validate against Kubernetes ${KUBE_VERSION}`, () => {
  for (const name of Object.keys(RENDERINGS)) {
    it(`accepts: ${name}`, (t) => {
      const objects = objectsFor(t, name);
      if (!objects) return;
      if (!requireTool(t, 'kubectl-validate', KUBECTL_VALIDATE_HINT)) return;
      // ServiceMonitor is a Prometheus Operator CRD; no CRD file for it ships with this repository
      // and none is reachable offline, so it is checked by the assertions below instead.
      const builtin = objects.filter((o) => o.apiVersion !== 'monitoring.coreos.com/v1');
      const dir = tempDir('tp-validate-');
      const file = writeTemp(dir, 'render.yaml', builtin.map((o) => JSON.stringify(o)).join('\n---\n'));
      // KUBECONFIG points nowhere, so only the built-in schemas are consulted (never a live cluster).
      const r = run('kubectl-validate', ['--version', KUBE_VERSION, file], { env: { ...process.env, KUBECONFIG: `${dir}/none` } });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /OK/);
    });
  }

  it('rejects an invalid manifest (the validator is really checking)', (t) => {
    if (!requireTool(t, 'kubectl-validate', KUBECTL_VALIDATE_HINT)) return;
    const dir = tempDir('tp-validate-');
    const file = writeTemp(dir, 'bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: "eighty"}], typo: 1}\n');
    const r = run('kubectl-validate', ['--version', KUBE_VERSION, file], { env: { ...process.env, KUBECONFIG: `${dir}/none` } });
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /typo/);
  });
});

// Strict decoding into the API types of the k8s.io/api release pinned in k8s-strict/go.mod: catches
// unknown fields and wrong types against a current Kubernetes, beyond kubectl-validate's schemas.
const STRICT_DIR = join(repoRoot, 'test', 'deploy', 'k8s-strict');
const STRICT_KUBE_VERSION = (() => {
  const m = readFileSync(join(STRICT_DIR, 'go.mod'), 'utf8').match(/k8s\.io\/api v0\.(\d+)\.\d+/);
  return m ? `1.${m[1]}` : 'unknown';
})();
let strictBinary: string | null = null;
function strictTool(t: TestContext): string | null {
  if (strictBinary) return strictBinary;
  if (!requireTool(t, 'go', 'install Go from the Debian or upstream packages')) return null;
  const out = join(tempDir('tp-k8s-strict-'), 'k8s-strict');
  const r = run('go', ['build', '-o', out, '.'], { cwd: STRICT_DIR });
  assert.equal(r.status, 0, `go build k8s-strict failed:\n${r.stderr}`);
  strictBinary = out;
  return out;
}

describe(`strict decode into the Kubernetes ${STRICT_KUBE_VERSION} API types`, () => {
  for (const name of Object.keys(RENDERINGS)) {
    it(`accepts: ${name}`, (t) => {
      const objects = objectsFor(t, name);
      if (!objects) return;
      const tool = strictTool(t);
      if (!tool) return;
      const file = writeTemp(tempDir('tp-strict-'), 'render.yaml', objects.map((o) => JSON.stringify(o)).join('\n---\n'));
      const r = run(tool, [file]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, objects.length);
      // Only the ServiceMonitor (a CRD) is outside the built-in API types.
      for (const line of lines) assert.match(line, /: OK$|ServiceMonitor\/tokenplace-relay: skipped/, line);
    });
  }

  it('rejects an unknown field (the decoder is really strict)', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const tool = strictTool(t);
    if (!tool) return;
    const deploy = structuredClone(one(objects, 'Deployment'));
    deploy.spec.template.spec.containers[0].lifecycle.preStop.slep = { seconds: 5 };
    const r = run(tool, [writeTemp(tempDir('tp-strict-'), 'bad.yaml', JSON.stringify(deploy))]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /unknown field "spec\.template\.spec\.containers\[0\]\.lifecycle\.preStop\.slep"/);
  });
});

describe('rendered objects', () => {
  it('uses the release name for every object and the standard labels', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, ['Deployment', 'Ingress', 'Pod', 'Service', 'ServiceAccount']);
    for (const o of objects) {
      const labels = o.metadata.labels ?? {};
      if (o.kind === 'Pod') {
        assert.equal(o.metadata.name, 'tokenplace-relay-test-healthz');
        continue;
      }
      assert.equal(o.metadata.name, 'tokenplace-relay', o.kind);
      assert.equal(labels['app.kubernetes.io/name'], 'tokenplace-relay', o.kind);
      assert.equal(labels['app.kubernetes.io/instance'], 'tokenplace-relay', o.kind);
      assert.equal(labels['app.kubernetes.io/managed-by'], 'Helm', o.kind);
      assert.equal(labels['helm.sh/chart'], 'tokenplace-relay-0.1.0', o.kind);
      assert.match(labels['app.kubernetes.io/version'] ?? '', /^sha-[0-9a-f]{7,40}$/, o.kind);
    }
  });

  it('exposes Service port 80 to container port 5010 (http) and metrics on their own port 9090 (metrics)', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const svc = one(objects, 'Service');
    assert.equal(svc.spec.type, 'ClusterIP');
    assert.deepEqual(svc.spec.ports, [
      { name: 'http', port: 80, targetPort: 5010, protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    assert.deepEqual(svc.spec.selector, { 'app.kubernetes.io/name': 'tokenplace-relay', 'app.kubernetes.io/instance': 'tokenplace-relay' });
    const c = container(objects);
    assert.deepEqual(c.ports, [
      { name: 'http', containerPort: 5010, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
    assert.ok(c.env.some((e: { name: string; value?: string }) => e.name === 'TOKENPLACE_METRICS_PORT' && e.value === '9090'));
    // The Ingress routes only to the http Service port: /metrics is never public.
    const ingress = objects.find((o) => o.kind === 'Ingress');
    if (ingress) for (const rule of ingress.spec.rules) for (const path of rule.http.paths) assert.deepEqual(path.backend.service.port, { name: 'http' });
    const podLabels = one(objects, 'Deployment').spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(podLabels[k], v);
    // The test pod must not be selected by the Service.
    const testPod = one(objects, 'Pod');
    assert.notEqual(testPod.metadata.labels?.['app.kubernetes.io/name'], 'tokenplace-relay');
  });

  it('probes readiness /healthz, liveness /livez and startup on the named port http', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const c = container(objects);
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/livez', port: 'http' });
    assert.deepEqual(c.startupProbe.httpGet, { path: '/livez', port: 'http' });
    assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 30);
  });

  it('runs as uid/gid 1000, read-only root, no privileges, /tmp as the only writable path', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const deploy = one(objects, 'Deployment');
    const pod = deploy.spec.template.spec;
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.enableServiceLinks, false, 'service links would inject TOKENPLACE_RELAY_* variables');
    assert.equal(one(objects, 'ServiceAccount').automountServiceAccountToken, false);
    assert.equal(pod.serviceAccountName, 'tokenplace-relay');
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    const c = container(objects);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.runAsUser, 1000);
    assert.equal(c.securityContext.runAsGroup, 1000);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
    assert.deepEqual(c.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }]);
    const version = deploy.metadata.labels?.['app.kubernetes.io/version'];
    assert.ok(version, 'the Deployment carries app.kubernetes.io/version');
    assert.equal(c.image, `ghcr.io/futuroptimist/tokenplace-relay:${version}`);
    assert.equal(c.command, undefined, 'the image CMD (node dist/src/cli.js serve) must run');
    assert.equal(c.args, undefined);
  });

  it('stops gracefully: native preStop sleep, grace period > sleep + drain, Recreate with the memory store', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const deploy = one(objects, 'Deployment');
    const c = container(objects);
    assert.deepEqual(c.lifecycle, { preStop: { sleep: { seconds: 5 } } });
    const drain = Number(c.env.find((e: { name: string }) => e.name === 'TOKENPLACE_RELAY_DRAIN_SECONDS').value);
    assert.ok(deploy.spec.template.spec.terminationGracePeriodSeconds > 5 + drain);
    // rollingUpdate: null removes a defaulted block from the live object on upgrade.
    assert.deepEqual(deploy.spec.strategy, { type: 'Recreate', rollingUpdate: null });
    assert.equal(deploy.spec.replicas, 1);
  });

  it('sets every variable once, with the registration token from the existing Secret', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const env = container(objects).env as { name: string; value?: string; valueFrom?: unknown }[];
    const names = env.map((e) => e.name);
    assert.deepEqual(names, [...new Set(names)]);
    const byName = Object.fromEntries(env.map((e) => [e.name, e]));
    assert.deepEqual(byName.RELAY_HOST, { name: 'RELAY_HOST', value: '0.0.0.0' });
    assert.deepEqual(byName.RELAY_PORT, { name: 'RELAY_PORT', value: '5010' });
    assert.deepEqual(byName.TOKENPLACE_RELAY_UPSTREAM_URL, { name: 'TOKENPLACE_RELAY_UPSTREAM_URL', value: 'http://gpu-server:3000' });
    assert.deepEqual(byName.TOKENPLACE_RELAY_STORE, { name: 'TOKENPLACE_RELAY_STORE', value: 'memory' });
    assert.deepEqual(byName.TOKENPLACE_TRUSTED_PROXIES, { name: 'TOKENPLACE_TRUSTED_PROXIES', value: '10.42.0.0/16' });
    assert.deepEqual(byName.TOKEN_PLACE_RELAY_SERVER_TOKEN, {
      name: 'TOKEN_PLACE_RELAY_SERVER_TOKEN',
      valueFrom: { secretKeyRef: { name: 'tokenplace-relay-secrets', key: 'TOKEN_PLACE_RELAY_SERVER_TOKEN' } },
    });
    assert.equal(byName.TOKENPLACE_GPU_HOST, undefined);
    assert.equal(byName.TOKENPLACE_REDIS_URL, undefined);
    // Nothing secret is ever a literal value.
    for (const e of env) if (/^TOKEN_|_TOKEN$|PASSWORD/.test(e.name)) assert.equal(e.value, undefined, e.name);
  });

  it('runs without the Secret when serverToken.enabled=false (dev values)', (t) => {
    const objects = objectsFor(t, 'dev values');
    if (!objects) return;
    assert.ok(!envNames(objects).includes('TOKEN_PLACE_RELAY_SERVER_TOKEN'));
    assert.equal(objects.filter((o) => o.kind === 'Ingress').length, 0);
  });

  it('renders the ingress: class traefik, host in rule and TLS, cert-manager issuer', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const ing = one(objects, 'Ingress');
    assert.equal(ing.spec.ingressClassName, 'traefik');
    assert.equal(ing.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'letsencrypt-production');
    assert.deepEqual(ing.spec.tls, [{ hosts: ['staging.token.place'], secretName: 'staging-token-place-tls' }]);
    assert.equal(ing.spec.rules.length, 1);
    assert.equal(ing.spec.rules[0].host, 'staging.token.place');
    assert.deepEqual(ing.spec.rules[0].http.paths, [
      { path: '/', pathType: 'Prefix', backend: { service: { name: 'tokenplace-relay', port: { name: 'http' } } } },
    ]);
  });

  it('has no PDB, HPA, NetworkPolicy or ServiceMonitor at 1 replica with defaults', (t) => {
    for (const name of ['defaults with a host', 'dev values', 'dev + staging values']) {
      const objects = objectsFor(t, name);
      if (!objects) return;
      const kinds = objects.map((o) => o.kind);
      for (const kind of ['PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'ServiceMonitor']) {
        assert.ok(!kinds.includes(kind), `${kind} in ${name}`);
      }
    }
  });

  it('keeps chart defaults environment-neutral', (t) => {
    if (!needHelm(t)) return;
    const r = helmTemplate([]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /staging|letsencrypt|host:|tls:/i);
    assert.equal(parseObjects(r.stdout).filter((o) => o.kind === 'Ingress').length, 0);
  });

  it('prints the public URL in NOTES, or the port-forward without an ingress', (t) => {
    if (!needHelm(t)) return;
    // helm template does not render NOTES.txt; render a copy of it as a ConfigMap in a temp chart.
    const dir = tempDir('tp-notes-');
    cpSync(chartDir, join(dir, 'chart'), { recursive: true });
    const notes = readFileSync(join(chartDir, 'templates', 'NOTES.txt'), 'utf8');
    writeTemp(
      join(dir, 'chart', 'templates'),
      'notes-preview.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n' +
        notes
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n') +
        '\n',
    );
    const show = (args: string[]) => {
      const r = run('helm', ['template', 'tokenplace-relay', join(dir, 'chart'), '-n', 'tokenplace', '--show-only', 'templates/notes-preview.yaml', ...args]);
      assert.equal(r.status, 0, r.stderr);
      return (parseObjects(r.stdout)[0]!.data as { notes: string }).notes;
    };
    const staging = show(['-f', devValues, '-f', stagingValues]);
    assert.match(staging, /Public URL: https:\/\/staging\.token\.place\n/);
    assert.match(staging, /Secret\ntokenplace-relay-secrets \(key TOKEN_PLACE_RELAY_SERVER_TOKEN\)/);
    const dev = show(['-f', devValues]);
    assert.match(dev, /kubectl -n tokenplace port-forward svc\/tokenplace-relay 5010:80/);
    assert.doesNotMatch(dev, /X-Relay-Server-Token/);
  });
});

describe('every optional feature on', () => {
  it('pins the image by digest and wires pull secrets', (t) => {
    const objects = objectsFor(t, 'every optional feature on (redis, 3 replicas, HPA, NetworkPolicy, ServiceMonitor, PDB)');
    if (!objects) return;
    const pod = one(objects, 'Deployment').spec.template.spec;
    assert.equal(pod.containers[0].image, `ghcr.io/futuroptimist/tokenplace-relay@sha256:${'a'.repeat(64)}`);
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'ghcr-pull-secret' }]);
    assert.equal(one(objects, 'Pod').spec.containers[0].image, pod.containers[0].image);
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/arch': 'arm64' });
    assert.equal(pod.tolerations[0].key, 'node-role.kubernetes.io/control-plane');
    assert.equal(pod.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
  });

  it('uses RollingUpdate, the HPA and a PDB with the redis store', (t) => {
    const objects = objectsFor(t, 'every optional feature on (redis, 3 replicas, HPA, NetworkPolicy, ServiceMonitor, PDB)');
    if (!objects) return;
    const deploy = one(objects, 'Deployment');
    assert.equal(deploy.spec.strategy.type, 'RollingUpdate');
    assert.equal(deploy.spec.replicas, undefined, 'the HPA owns the replica count');
    const hpa = one(objects, 'HorizontalPodAutoscaler');
    assert.equal(hpa.spec.minReplicas, 3);
    assert.equal(hpa.spec.scaleTargetRef.name, 'tokenplace-relay');
    const pdb = one(objects, 'PodDisruptionBudget');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, deploy.spec.selector.matchLabels);
  });

  it('reads the redis URL, password and metrics token from Secrets, every name once', (t) => {
    const objects = objectsFor(t, 'every optional feature on (redis, 3 replicas, HPA, NetworkPolicy, ServiceMonitor, PDB)');
    if (!objects) return;
    const c = container(objects);
    const names = envNames(objects);
    assert.deepEqual(names, [...new Set(names)]);
    const byName = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
    assert.equal(byName.TOKENPLACE_RELAY_STORE.value, 'redis');
    assert.deepEqual(byName.TOKENPLACE_REDIS_URL.valueFrom, { secretKeyRef: { name: 'tokenplace-redis', key: 'TOKENPLACE_REDIS_URL' } });
    assert.deepEqual(byName.TOKENPLACE_REDIS_PASSWORD.valueFrom, { secretKeyRef: { name: 'tokenplace-redis', key: 'password' } });
    assert.deepEqual(byName.TOKENPLACE_METRICS_TOKEN.valueFrom, { secretKeyRef: { name: 'tokenplace-metrics', key: 'TOKENPLACE_METRICS_TOKEN' } });
    assert.equal(byName.TOKENPLACE_GPU_HOST.value, 'gpu.lan');
    assert.equal(byName.TOKENPLACE_GPU_PORT.value, '3000');
    assert.equal(byName.TOKENPLACE_RELAY_MAX_NODES.value, '50');
    assert.equal(byName.TOKENPLACE_RELAY_SINK_HOLD_MS.value, '4000');
    assert.deepEqual(c.envFrom, [{ secretRef: { name: 'tokenplace-extra' } }]);
  });

  it('opens the NetworkPolicy on the container port to Traefik in kube-system', (t) => {
    const objects = objectsFor(t, 'every optional feature on (redis, 3 replicas, HPA, NetworkPolicy, ServiceMonitor, PDB)');
    if (!objects) return;
    const np = one(objects, 'NetworkPolicy');
    const containerPort = container(objects).ports[0].containerPort;
    assert.equal(containerPort, 5010);
    assert.deepEqual(np.spec.ingress[0].ports, [{ port: containerPort, protocol: 'TCP' }]);
    assert.deepEqual(np.spec.ingress[0].from[0], {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } },
    });
    // The helm test pod is allowed in, and its labels match that rule.
    const testPod = one(objects, 'Pod');
    for (const [k, v] of Object.entries(np.spec.ingress[0].from[1].podSelector.matchLabels)) assert.equal(testPod.metadata.labels?.[k], v);
    assert.deepEqual(np.spec.podSelector.matchLabels, one(objects, 'Deployment').spec.selector.matchLabels);
    // The metrics port: only the listed scrapers, never the ingress controller.
    assert.equal(np.spec.ingress.length, 2);
    assert.deepEqual(np.spec.ingress[1], {
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
      ports: [{ port: 9090, protocol: 'TCP' }],
    });
  });

  it('scrapes /metrics on the metrics port with the bearer token', (t) => {
    const objects = objectsFor(t, 'every optional feature on (redis, 3 replicas, HPA, NetworkPolicy, ServiceMonitor, PDB)');
    if (!objects) return;
    const sm = one(objects, 'ServiceMonitor');
    assert.equal(sm.spec.endpoints[0].port, 'metrics');
    assert.equal(sm.spec.endpoints[0].path, '/metrics');
    assert.deepEqual(sm.spec.endpoints[0].authorization, { type: 'Bearer', credentials: { name: 'tokenplace-metrics', key: 'TOKENPLACE_METRICS_TOKEN' } });
    assert.deepEqual(sm.spec.namespaceSelector, { matchNames: ['tokenplace'] });
  });
});

describe('helm test hook', () => {
  it('checks /healthz through the Service under a restricted security context', (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const pod = one(objects, 'Pod');
    assert.equal(pod.metadata.annotations?.['helm.sh/hook'], 'test');
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.equal(pod.spec.automountServiceAccountToken, false);
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(pod.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
    const c = pod.spec.containers[0];
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
    assert.equal(c.command.at(-1), 'http://tokenplace-relay.tokenplace.svc:80/healthz');
  });

  it('its node one-liner exits 0 on 200 and 1 otherwise', async (t) => {
    const objects = objectsFor(t, 'dev + staging values');
    if (!objects) return;
    const c = one(objects, 'Pod').spec.containers[0];
    assert.equal(c.command[0], 'node');
    const { createServer } = await import('node:http');
    let status = 200;
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    const { execFile } = await import('node:child_process');
    const exec = (url: string) =>
      new Promise<number>((done) => {
        execFile(process.execPath, [c.command[1], c.command[2], url], (err) => done(err ? ((err as { code?: number }).code ?? 1) : 0));
      });
    try {
      assert.equal(await exec(`http://127.0.0.1:${port}/healthz`), 0);
      status = 503;
      assert.equal(await exec(`http://127.0.0.1:${port}/healthz`), 1);
    } finally {
      server.close();
    }
  });
});
