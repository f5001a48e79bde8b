// Copies every .lua file under src/ to the same place under dist/src/ (tsc copies only
// TypeScript's output), so the compiled wrappers find their scripts beside them
// (src/store/redis/lua-loader.ts) and the image, which takes dist/ whole, carries them.
// Usage: node scripts/copy-lua.mjs [out dir, default dist/src]
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const out = process.argv[2] ?? join(root, 'dist', 'src');
let copied = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.lua')) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(out, relative(src, from)));
  copied += 1;
}
if (copied === 0) throw new Error('no .lua files under src/');
