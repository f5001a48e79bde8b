// Finds the external tools that tests drive for real (redis-server, helm, chromium, just...).
// On a laptop a missing tool skips the test with a message that says what to install; under
// CI=true a missing tool is a failure, because a silent skip would hide a broken CI image.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

export const inCI = process.env.CI === 'true';

/** Absolute path of `name` on PATH (or an absolute path that exists), else null. */
export function findTool(name: string): string | null {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, name));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // keep looking
    }
  }
  return null;
}

/**
 * Returns the tool's path, or skips the test (laptop) / throws (CI) when it is missing.
 * `hint` says how to get it, e.g. "apt-get install redis-server".
 */
export function requireTool(t: TestContext, name: string, hint: string): string | null {
  const found = findTool(name);
  if (found) return found;
  const message = `${name} not found on PATH (${hint})`;
  if (inCI) throw new Error(`${message}; CI=true, so a missing tool is a failure`);
  t.skip(message);
  return null;
}
