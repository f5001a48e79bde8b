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

const TARGET = ['es2020', 'chrome100', 'firefox100', 'safari15'];

/**
 * Bundles one page: its script and stylesheet content-hashed into `assetDir`, the favicon beside
 * them, and its HTML with the placeholder asset URLs replaced, written to `htmlOut`.
 */
async function bundlePage({ name, script, style, html, assetDir, urlBase, htmlOut, splitting = false }) {
  await mkdir(assetDir, { recursive: true });
  const result = await build({
    entryPoints: { [name]: script, [`${name}-style`]: style },
    bundle: true,
    format: 'esm',
    splitting,
    target: TARGET,
    platform: 'browser',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    outdir: assetDir,
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.entries(result.metafile.outputs);
  const entry = (source) => {
    const found = outputs.find(([, o]) => o.entryPoint && o.entryPoint.endsWith(basename(source)));
    if (!found) throw new Error(`no output for ${source}`);
    return basename(found[0]);
  };
  const js = entry(script);
  const css = entry(style);
  await copyFile(join(src, 'favicon.svg'), join(assetDir, 'favicon.svg'));
  let text = await readFile(html, 'utf8');
  text = text.replace(`${urlBase}/${name}.js`, `${urlBase}/${js}`).replace(`${urlBase}/${name}.css`, `${urlBase}/${css}`);
  if (!text.includes(js) || !text.includes(css)) throw new Error(`${basename(html)} must reference ${urlBase}/${name}.js and ${urlBase}/${name}.css`);
  await writeFile(htmlOut, text);
  console.log(`web: ${htmlOut.slice(htmlOut.indexOf('dist/'))}, assets/${js}, assets/${css}`);
}

await bundlePage({
  name: 'app',
  script: join(src, 'main.ts'),
  style: join(src, 'style.css'),
  html: join(src, 'index.html'),
  assetDir: assets,
  urlBase: '/assets',
  htmlOut: join(out, 'index.html'),
  splitting: true,
});

// The operator page: its own script and stylesheet, nothing shared with the chat page.
const opsSrc = join(here, 'ops');
const opsOut = join(out, 'ops');
await bundlePage({
  name: 'ops',
  script: join(opsSrc, 'ops.ts'),
  style: join(opsSrc, 'ops.css'),
  html: join(opsSrc, 'ops.html'),
  assetDir: join(opsOut, 'assets'),
  urlBase: '/ops/assets',
  htmlOut: join(opsOut, 'index.html'),
});
