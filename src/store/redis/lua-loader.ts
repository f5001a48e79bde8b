// Reads the relay's Lua scripts from their .lua files (beside their TypeScript wrappers; `npm run
// build` copies them into dist/ with scripts/copy-lua.mjs) once per process, expanding include
// lines:
//
//   --@include "relative/path.lua"
//
// The path is relative to the including file. Each file is inserted at most once per script
// (a second include of the same file is dropped), and an include cycle is an error. This is the
// one include mechanism: shared helpers live in one file and every script that needs them
// includes it, rather than carrying a copy.
import { readFileSync } from 'node:fs';

const INCLUDE = /^--@include "([^"]+)"\s*$/;
const cache = new Map<string, string>();

/** The script at `file`, includes expanded; read from disk once per process. */
export function loadLua(file: URL): string {
  const cached = cache.get(file.href);
  if (cached !== undefined) return cached;
  const text = expand(file, new Set(), []);
  cache.set(file.href, text);
  return text;
}

function expand(file: URL, included: Set<string>, stack: string[]): string {
  if (stack.includes(file.href)) throw new Error(`Lua include cycle: ${[...stack, file.href].map(short).join(' -> ')}`);
  included.add(file.href);
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const match = INCLUDE.exec(line);
    if (match === null) {
      out.push(line);
      continue;
    }
    const target = new URL(match[1]!, file);
    if (included.has(target.href)) {
      if (stack.includes(target.href) || target.href === file.href)
        throw new Error(`Lua include cycle: ${[...stack, file.href, target.href].map(short).join(' -> ')}`);
      continue;
    }
    out.push(expand(target, included, [...stack, file.href]));
  }
  return out.join('\n');
}

function short(href: string): string {
  return href.slice(href.lastIndexOf('/src/') + 1);
}
