// Which build this process runs, for tokenplace_build_info: the release version (the operator's
// TOKENPLACE_RELEASE_VERSION, else package.json's) and the source revision (TOKENPLACE_BUILD_REVISION,
// TOKENPLACE_GIT_SHA, or the commit an immutable image tag such as sha-<hex> names). Both are
// cleaned to a short safe alphabet so the label values stay bounded.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  version: string;
  revision: string;
}

export interface BuildConfig {
  releaseVersion: string | null;
  buildRevision: string | null;
  gitSha: string | null;
  imageTag: string | null;
}

const UNKNOWN = 'unknown';
const MAX_LABEL_CHARS = 40;
const TAG_REVISION = /^(?:sha|main|master|staging|prod|release)-([0-9a-f]{7,40})$/i;

function clean(value: string | null | undefined): string | null {
  const text = (value ?? '')
    .trim()
    .replace(/[^A-Za-z0-9._+-]+/g, '-')
    .slice(0, MAX_LABEL_CHARS);
  return text === '' ? null : text;
}

/** package.json's version, found from this module up (src/ops under tsx, dist/src/ops in the image). */
function packageVersion(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i += 1) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'tokenplace-relay' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: one level up
    }
    dir = dirname(dir);
  }
  return null;
}

let cachedPackageVersion: string | null | undefined;

export function buildInfo(config: BuildConfig): BuildInfo {
  if (cachedPackageVersion === undefined) cachedPackageVersion = packageVersion();
  const tagRevision = TAG_REVISION.exec((config.imageTag ?? '').trim())?.[1] ?? null;
  return {
    version: clean(config.releaseVersion) ?? clean(cachedPackageVersion) ?? UNKNOWN,
    revision: clean(config.buildRevision) ?? clean(config.gitSha) ?? clean(tagRevision) ?? UNKNOWN,
  };
}
