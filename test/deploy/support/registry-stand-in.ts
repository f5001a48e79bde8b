// A local stand-in for an OCI registry (ghcr.io cannot be reached from the tests): a tiny HTTP
// server speaking the distribution API's read side, with the anonymous bearer-token challenge
// ghcr.io uses. It serves an image index -> image manifest -> config blob per tag, content
// addressed by real sha256 digests, so scripts/check-image.mjs walks it exactly as a registry.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInImage {
  tag: string;
  labels: Record<string, string>;
}

export interface RegistryStandIn {
  host: string; // 127.0.0.1:<port>
  /** Digest of the index a tag points to (for digest pins). */
  digestOf(tag: string): string;
  /** Requests seen, as "METHOD path" (token requests included). */
  requests: string[];
  close(): Promise<void>;
}

const sha = (body: string): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;

export async function startRegistryStandIn(repo: string, images: StandInImage[]): Promise<RegistryStandIn> {
  const blobs = new Map<string, { type: string; body: string }>();
  const tags = new Map<string, string>();
  const put = (type: string, value: unknown): string => {
    const body = JSON.stringify(value);
    const digest = sha(body);
    blobs.set(digest, { type, body });
    return digest;
  };
  for (const image of images) {
    const config = { architecture: 'amd64', os: 'linux', config: { User: '1000:1000', Labels: image.labels }, rootfs: { type: 'layers', diff_ids: [] } };
    const configBody = JSON.stringify(config);
    const configDigest = put('application/vnd.oci.image.config.v1+json', config);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBody.length },
      layers: [],
    };
    const manifestDigest = put('application/vnd.oci.image.manifest.v1+json', manifest);
    // An attestation entry first, as buildx writes with provenance: the checker must skip it.
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: 1, platform: { architecture: 'unknown', os: 'unknown' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: 1, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    };
    tags.set(image.tag, put('application/vnd.oci.image.index.v1+json', index));
  }
  const token = 'stand-in-anonymous-token';
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/token') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token }));
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      const host = req.headers.host ?? '';
      res.statusCode = 401;
      res.setHeader('www-authenticate', `Bearer realm="http://${host}/token",service="${host}",scope="repository:${repo}:pull"`);
      res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const ref = m?.[3] ?? '';
    const digest = m === null || m[1] !== repo ? undefined : ref.startsWith('sha256:') ? ref : m[2] === 'manifests' ? tags.get(ref) : undefined;
    const blob = digest === undefined ? undefined : blobs.get(digest);
    if (blob === undefined) {
      res.statusCode = 404;
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      return;
    }
    res.setHeader('content-type', blob.type);
    res.setHeader('docker-content-digest', digest!);
    res.end(blob.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    digestOf: (tag) => tags.get(tag) ?? '',
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Runs the stand-in in its own process (the tests drive `just` with spawnSync, which blocks
 * their own event loop): prints one JSON line {host, digests} and serves until killed.
 */
export async function spawnRegistryStandIn(
  repo: string,
  images: StandInImage[],
): Promise<{ host: string; digestOf(tag: string): string; close(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, repo, JSON.stringify(images)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`registry stand-in exited (${code})`)));
  });
  const info = JSON.parse(line) as { host: string; digests: Record<string, string> };
  return {
    host: info.host,
    digestOf: (tag) => info.digests[tag] ?? '',
    close: async () => {
      child.kill('SIGTERM');
    },
  };
}

if (process.argv[1] === import.meta.filename) {
  const images = JSON.parse(process.argv[3] ?? '[]') as StandInImage[];
  const registry = await startRegistryStandIn(process.argv[2] ?? '', images);
  console.log(JSON.stringify({ host: registry.host, digests: Object.fromEntries(images.map((i) => [i.tag, registry.digestOf(i.tag)])) }));
  process.on('SIGTERM', () => void registry.close().then(() => process.exit(0)));
}
