// Bad values must stop `helm template` with a message that tells the operator what to fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { devValues, helmTemplate, needHelm, stagingValues } from './helpers.ts';

const STAGING = ['-f', devValues, '-f', stagingValues];
const REDIS = ['--set', 'store.type=redis', '--set', 'store.redis.url=redis://redis.tokenplace.svc:6379'];

const CASES: { name: string; args: string[]; message: RegExp }[] = [
  {
    name: 'an unknown top-level key (a copied envFromSecrets)',
    args: ['--set', 'envFromSecrets[0]=x'],
    message: /additional properties 'envFromSecrets' not allowed/,
  },
  { name: 'an unknown nested key', args: ['--set', 'ingress.tlsSecret=x'], message: /at '\/ingress': additional properties 'tlsSecret' not allowed/ },
  { name: 'replicaCount > 1 with the memory store', args: ['--set', 'replicaCount=2'], message: /at '\/store\/type': value must be 'redis'/ },
  { name: 'RollingUpdate with the memory store', args: ['--set', 'updateStrategy.type=RollingUpdate'], message: /at '\/store\/type': value must be 'redis'/ },
  { name: 'the HPA with the memory store', args: ['--set', 'autoscaling.enabled=true'], message: /at '\/store\/type': value must be 'redis'/ },
  {
    name: 'the redis store without a URL or Secret',
    args: ['--set', 'store.type=redis'],
    message: /at '\/store\/redis': 'anyOf' failed[\s\S]*\/store\/redis\/url[\s\S]*\/store\/redis\/existingSecret/,
  },
  { name: 'an unknown store type', args: ['--set', 'store.type=etcd'], message: /at '\/store\/type': value must be one of 'memory', 'redis'/ },
  {
    name: 'a redis URL with another scheme',
    args: [...REDIS, '--set', 'store.redis.url=http://redis:6379'],
    message: /at '\/store\/redis\/url': '.*' does not match pattern/,
  },
  { name: 'ingress on without a host', args: ['--set', 'ingress.enabled=true'], message: /at '\/ingress\/host': minLength: got 0, want 1/ },
  {
    name: 'ingress on without a TLS secret',
    args: ['--set', 'ingress.enabled=true', '--set', 'ingress.host=relay.example.org'],
    message: /ingress\.tls\.secretName is required when ingress\.tls\.enabled=true/,
  },
  {
    name: 'a host with a scheme',
    args: [...STAGING, '--set', 'ingress.host=https://staging.token.place'],
    message: /at '\/ingress\/host': '.*' does not match pattern/,
  },
  {
    name: 'a mutable image tag (latest)',
    args: ['--set', 'image.tag=latest'],
    message: /image\.tag "latest" is mutable and is refused: use an immutable tag such as sha-<shortsha>/,
  },
  { name: 'a mutable image tag (main)', args: [...STAGING, '--set', 'image.tag=main'], message: /image\.tag "main" is mutable/ },
  { name: 'a malformed digest', args: ['--set', 'image.digest=sha256:abc'], message: /at '\/image\/digest': 'sha256:abc' does not match pattern/ },
  { name: 'a root user', args: ['--set', 'podSecurityContext.runAsNonRoot=false'], message: /at '\/podSecurityContext\/runAsNonRoot': value must be true/ },
  {
    name: 'a writable root filesystem',
    args: ['--set', 'securityContext.readOnlyRootFilesystem=false'],
    message: /at '\/securityContext\/readOnlyRootFilesystem': value must be true/,
  },
  { name: 'a privileged container port', args: ['--set', 'containerPort=80'], message: /at '\/containerPort': minimum: got 80, want 1,?024/ },
  {
    name: 'a grace period shorter than preStop sleep + drain',
    args: ['--set', 'terminationGracePeriodSeconds=20'],
    message: /terminationGracePeriodSeconds \(20\) must be greater than preStopSleepSeconds \(5\) \+ drainSeconds \(20\) = 25/,
  },
  {
    name: 'env repeating a chart-managed variable',
    args: ['--set', 'env.RELAY_PORT=8080'],
    message: /env\.RELAY_PORT duplicates containerPort \(chart-managed\): set that value instead/,
  },
  {
    name: 'extraEnv repeating env',
    args: ['--set', 'env.FOO=1', '--set', 'extraEnv[0].name=FOO', '--set-string', 'extraEnv[0].value=2'],
    message: /extraEnv\[0\] \(FOO\) duplicates env\.FOO/,
  },
  {
    name: 'extraEnv setting the registration token',
    args: [...STAGING, '--set', 'extraEnv[0].name=TOKEN_PLACE_RELAY_SERVER_TOKEN', '--set', 'extraEnv[0].value=x'],
    message: /extraEnv\[0\] \(TOKEN_PLACE_RELAY_SERVER_TOKEN\) duplicates serverToken \(chart-managed\)/,
  },
  {
    name: 'a trusted proxy that is not a CIDR',
    args: ['--set', 'trustedProxies[0]=traefik'],
    message: /at '\/trustedProxies\/0': 'traefik' does not match pattern/,
  },
  {
    name: 'ServiceMonitor without its CRD',
    args: ['--set', 'serviceMonitor.enabled=true'],
    message: /serviceMonitor\.enabled=true but this cluster does not serve monitoring\.coreos\.com\/v1/,
  },
  {
    name: 'HPA minReplicas above maxReplicas',
    args: [...REDIS, '--set', 'autoscaling.enabled=true', '--set', 'autoscaling.minReplicas=5', '--set', 'autoscaling.maxReplicas=3'],
    message: /autoscaling\.minReplicas \(5\) must not exceed autoscaling\.maxReplicas \(3\)/,
  },
  { name: 'a bad log level', args: ['--set', 'logLevel=verbose'], message: /at '\/logLevel': value must be one of/ },
];

describe('bad values fail helm template with a clear message', () => {
  for (const c of CASES) {
    it(c.name, (t) => {
      if (!needHelm(t)) return;
      const r = helmTemplate(c.args);
      assert.notEqual(r.status, 0, `expected failure, got:\n${r.stdout.slice(0, 400)}`);
      assert.match(r.stderr, c.message);
    });
  }

  it('the same features render once store.type=redis', (t) => {
    if (!needHelm(t)) return;
    const r = helmTemplate([...REDIS, '--set', 'replicaCount=2', '--set', 'updateStrategy.type=RollingUpdate']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /kind: PodDisruptionBudget/);
  });

  it('the ServiceMonitor renders when the cluster serves monitoring.coreos.com/v1', (t) => {
    if (!needHelm(t)) return;
    const r = helmTemplate(['--set', 'serviceMonitor.enabled=true', '--api-versions', 'monitoring.coreos.com/v1']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /kind: ServiceMonitor/);
  });
});
