#!/usr/bin/env node
// Checks, through the OCI distribution API, that an image reference exists and is this relay:
// its config's OCI labels must name this repository as source and tokenplace-relay as title, and
// carry a revision that matches a sha-<shortsha> tag. token.place's own CI pushes sha-<7> tags of
// its Python relay to the same package name, so a tag alone proves nothing.
//
// usage: node scripts/check-image.mjs IMAGE    e.g. ghcr.io/futuroptimist/tokenplace-relay:sha-1a2b3c4
// exit: 0 this relay; 2 not published; 3 published but not this relay; 4 registry not reachable
// Registries on localhost/127.0.0.0/8 (and TOKENPLACE_INSECURE_REGISTRIES, comma-separated) are
// spoken to over http; all others over https, anonymously (public packages), with the registry's
// bearer-token challenge.

const EXPECTED_SOURCE = 'https://github.com/futuroptimist/tokenplace-relay';
const EXPECTED_TITLE = 'tokenplace-relay';
const TIMEOUT_MS = 10_000;
const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

class Exit extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function parse(image) {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  const host = hasHost ? first : 'registry-1.docker.io';
  let rest = hasHost ? image.slice(slash + 1) : image;
  let ref;
  const at = rest.indexOf('@');
  if (at >= 0) {
    ref = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      ref = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    } else {
      ref = 'latest';
    }
  }
  if (!hasHost && !rest.includes('/')) rest = `library/${rest}`;
  const insecure = (process.env.TOKENPLACE_INSECURE_REGISTRIES ?? '').split(',').filter(Boolean);
  const hostName = host.replace(/:\d+$/, '');
  const plain = hostName === 'localhost' || /^127\./.test(hostName) || insecure.includes(host);
  return { base: `${plain ? 'http' : 'https'}://${host}`, repo: rest, ref };
}

async function get(url, headers) {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new Exit(4, `registry not reachable: ${url.split('?')[0]}: ${err.cause?.code ?? err.message}`);
  }
}

// One request with the registry's anonymous bearer-token challenge, when it asks for one.
async function registryGet(target, path, accept) {
  const url = `${target.base}/v2/${target.repo}/${path}`;
  const headers = { accept };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  let res = await get(url, headers);
  const challenge = res.headers.get('www-authenticate') ?? '';
  if (res.status === 401 && /^Bearer /i.test(challenge) && !target.token) {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!params.realm) throw new Exit(4, `registry asked for a token without a realm: ${challenge}`);
    const tokenUrl = new URL(params.realm);
    if (params.service) tokenUrl.searchParams.set('service', params.service);
    tokenUrl.searchParams.set('scope', params.scope ?? `repository:${target.repo}:pull`);
    const tokenRes = await get(tokenUrl.toString(), {});
    if (!tokenRes.ok) throw new Exit(4, `registry token endpoint answered HTTP ${tokenRes.status}`);
    const body = await tokenRes.json();
    target.token = body.token ?? body.access_token;
    if (!target.token) throw new Exit(4, 'registry token endpoint returned no token');
    headers.authorization = `Bearer ${target.token}`;
    res = await get(url, headers);
  }
  return res;
}

async function main() {
  const image = process.argv[2];
  if (!image) throw new Exit(64, 'usage: node scripts/check-image.mjs IMAGE');
  const target = parse(image);
  let res = await registryGet(target, `manifests/${target.ref}`, MANIFEST_TYPES);
  if (res.status === 404) throw new Exit(2, `${image}: no such tag or digest in the registry (HTTP 404)`);
  if (res.status === 401 || res.status === 403) throw new Exit(4, `${image}: the registry refused anonymous access (HTTP ${res.status}); private package?`);
  if (!res.ok) throw new Exit(4, `${image}: registry answered HTTP ${res.status}`);
  let manifest = await res.json();
  if (Array.isArray(manifest.manifests)) {
    // An index: every platform is built from the same Dockerfile and labels; read one image's
    // config (linux/amd64 if present), never an attestation manifest (platform unknown).
    const images = manifest.manifests.filter((m) => m.platform && m.platform.os !== 'unknown');
    const chosen = images.find((m) => m.platform.os === 'linux' && m.platform.architecture === 'amd64') ?? images[0];
    if (!chosen) throw new Exit(3, `${image}: the index lists no image manifest`);
    res = await registryGet(target, `manifests/${chosen.digest}`, MANIFEST_TYPES);
    if (!res.ok) throw new Exit(4, `${image}: manifest ${chosen.digest} answered HTTP ${res.status}`);
    manifest = await res.json();
  }
  const configDigest = manifest.config?.digest;
  if (!configDigest) throw new Exit(3, `${image}: the manifest has no config`);
  res = await registryGet(target, `blobs/${configDigest}`, '*/*');
  if (!res.ok) throw new Exit(4, `${image}: config blob answered HTTP ${res.status}`);
  const config = await res.json();
  const labels = config.config?.Labels ?? {};
  const source = labels['org.opencontainers.image.source'] ?? '';
  const title = labels['org.opencontainers.image.title'] ?? '';
  const revision = labels['org.opencontainers.image.revision'] ?? '';
  console.log(`Image labels: source=${source || '<none>'} title=${title || '<none>'} revision=${revision || '<none>'}`);
  const problems = [];
  if (source.replace(/\.git$/, '').replace(/\/$/, '') !== EXPECTED_SOURCE) problems.push(`source is not ${EXPECTED_SOURCE}`);
  if (title !== EXPECTED_TITLE) problems.push(`title is not ${EXPECTED_TITLE}`);
  if (!/^[0-9a-f]{7,64}$/.test(revision)) problems.push('revision is not a commit hash');
  const sha = /^sha-([0-9a-f]{7,40})$/.exec(target.ref);
  if (sha && !revision.startsWith(sha[1])) problems.push(`revision ${revision || '<none>'} is not commit ${sha[1]} of tag ${target.ref}`);
  if (problems.length > 0) throw new Exit(3, `${image} is not this relay: ${problems.join('; ')}`);
  console.log(`Image is this relay: ${image} (revision ${revision.slice(0, 12)})`);
}

main().catch((err) => {
  if (err instanceof Exit) {
    console.error(err.message);
    process.exit(err.code);
  }
  console.error(`image check failed: ${err.message}`);
  process.exit(4);
});
