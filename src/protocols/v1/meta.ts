// Public release metadata for /api/v1/meta and /api/v1/version: which environment this relay
// serves and which release it runs. Only operator-set values, cleaned to a safe alphabet.

export interface MetaConfig {
  releaseVersion: string | null;
  deployEnvironment: string | null;
  gitSha: string | null;
  imageTag: string | null;
}

export interface ReleaseMetadata {
  environment: 'prod' | 'staging' | 'dev';
  version: string;
  label: string;
  ref?: string;
}

const ENVIRONMENTS: Readonly<Record<string, ReleaseMetadata['environment']>> = {
  production: 'prod',
  prod: 'prod',
  staging: 'staging',
  stage: 'staging',
};
const IMMUTABLE_TAG = /^(?:(?:main|master|staging|prod|release|sha)-[0-9a-f]{7,40}|sha256-[0-9a-f]{7,64}|v?\d+\.\d+\.\d+(?:[-+][A-Za-z0-9._-]+)?)$/i;

function clean(value: string | null, max = 64): string {
  return (value ?? '')
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.\-_]+|[.\-_]+$/g, '')
    .slice(0, max);
}

function environmentFor(config: MetaConfig, host: string | undefined): ReleaseMetadata['environment'] {
  if (config.deployEnvironment !== null) return ENVIRONMENTS[config.deployEnvironment.trim().toLowerCase()] ?? 'dev';
  const hostname = (host ?? '').trim().toLowerCase().replace(/:\d+$/, '');
  if (hostname === 'token.place') return 'prod';
  if (hostname === 'staging.token.place') return 'staging';
  return 'dev';
}

/** An immutable reference of the running build, when the deployment says which. */
function deployRef(config: MetaConfig): string {
  const sha = clean(config.gitSha).slice(0, 7);
  if (sha !== '') return `main-${sha}`;
  const tag = clean(config.imageTag, 80);
  return IMMUTABLE_TAG.test(tag) ? tag : '';
}

export function releaseMetadata(config: MetaConfig, host: string | undefined): ReleaseMetadata {
  const environment = environmentFor(config, host);
  const release = clean(config.releaseVersion);
  const ref = deployRef(config);
  const version = release !== '' && release.toLowerCase() !== 'dev' ? release : ref !== '' ? ref : 'dev';
  const meta: ReleaseMetadata = { environment, version, label: `${environment} ${version}` };
  if (ref !== '' && ref !== version) meta.ref = ref;
  return meta;
}
