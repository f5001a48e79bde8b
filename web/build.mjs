// Bundles the browser chat page (web/src) into dist/web/: index.html plus content-hashed
// script and stylesheet under assets/. No CDN and no inline script or style, so the page runs
// under a strict Content-Security-Policy. The PKCS#1 v1.5 fallback (node-forge) is split into
// its own chunk and only loaded when a node wraps a reply that way. The operator page (web/ops)
// is a second, separate bundle in dist/web/ops/, served at /ops by src/ops/page.ts.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const out = join(here, '..', 'dist', 'web');
const assets = join(out, 'assets');

await rm(out, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const result = await build({
  entryPoints: { app: join(src, 'main.ts'), style: join(src, 'style.css') },
  bundle: true,
  format: 'esm',
  splitting: true,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  platform: 'browser',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  outdir: assets,
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs);
const entry = (suffix) => {
  const found = outputs.find(([, o]) => o.entryPoint && o.entryPoint.endsWith(suffix));
  if (!found) throw new Error(`no output for ${suffix}`);
  return basename(found[0]);
};
const appJs = entry('main.ts');
const appCss = entry('style.css');

await copyFile(join(src, 'favicon.svg'), join(assets, 'favicon.svg'));
let html = await readFile(join(src, 'index.html'), 'utf8');
html = html.replace('/assets/app.js', `/assets/${appJs}`).replace('/assets/app.css', `/assets/${appCss}`);
if (!html.includes(appJs) || !html.includes(appCss)) throw new Error('index.html must reference /assets/app.js and /assets/app.css');
await writeFile(join(out, 'index.html'), html);
console.log(`web: dist/web/index.html, assets/${appJs}, assets/${appCss}`);

// The operator page: its own script and stylesheet, nothing shared with the chat page.
const opsSrc = join(here, 'ops');
const opsOut = join(out, 'ops');
const opsAssets = join(opsOut, 'assets');
await mkdir(opsAssets, { recursive: true });
const ops = await build({
  entryPoints: { ops: join(opsSrc, 'ops.ts'), 'ops-style': join(opsSrc, 'ops.css') },
  bundle: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  platform: 'browser',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  entryNames: '[name]-[hash]',
  outdir: opsAssets,
  metafile: true,
  logLevel: 'warning',
});
const opsOutputs = Object.entries(ops.metafile.outputs);
const opsEntry = (suffix) => {
  const found = opsOutputs.find(([, o]) => o.entryPoint && o.entryPoint.endsWith(suffix));
  if (!found) throw new Error(`no output for ${suffix}`);
  return basename(found[0]);
};
const opsJs = opsEntry('ops.ts');
const opsCss = opsEntry('ops.css');
await copyFile(join(src, 'favicon.svg'), join(opsAssets, 'favicon.svg'));
let opsHtml = await readFile(join(opsSrc, 'ops.html'), 'utf8');
opsHtml = opsHtml.replace('/ops/assets/ops.js', `/ops/assets/${opsJs}`).replace('/ops/assets/ops.css', `/ops/assets/${opsCss}`);
if (!opsHtml.includes(opsJs) || !opsHtml.includes(opsCss)) throw new Error('ops.html must reference /ops/assets/ops.js and /ops/assets/ops.css');
await writeFile(join(opsOut, 'index.html'), opsHtml);
console.log(`web: dist/web/ops/index.html, assets/${opsJs}, assets/${opsCss}`);
