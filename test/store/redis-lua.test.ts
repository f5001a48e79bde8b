// The Lua scripts as files: every script loads with its includes expanded once, declares its
// calling convention in a header, reads its caps from ARGV (the text is the same whatever the
// limits), and the build copies every .lua file into dist/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { legacyScripts } from '../../src/protocols/legacy/redis-scripts.js';
import { v1Scripts } from '../../src/protocols/v1/redis-scripts.js';
import { loadLua } from '../../src/store/redis/lua-loader.js';
import { scriptSettings, settingValues } from '../../src/store/redis/settings.js';
import { CONTRACT_LIMITS } from './contract.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const luaFiles = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.lua'))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

describe('redis Lua files', () => {
  const scripts = { ...legacyScripts(), ...v1Scripts() };

  it('every script expands its includes, and the shared helpers appear once', () => {
    assert.equal(Object.keys(scripts).length, 25);
    for (const [name, text] of Object.entries(scripts)) {
      assert.doesNotMatch(text, /--@include/, `${name}: an include left unexpanded`);
      assert.equal(text.split('local function bytesRefusal(').length - 1, 1, `${name}: common.lua once`);
      assert.equal(text.split('unpack(cmsgpack.unpack(ARGV[1]))').length - 1, 1, `${name}: settings read once`);
    }
    assert.match(scripts.v1Admit, /local function endReq\(/, 'v1 scripts get the v1 helpers');
    assert.doesNotMatch(scripts.register, /local function endReq\(/, 'legacy scripts do not');
  });

  it('every script file starts with a header naming KEYS, ARGV and its reply', () => {
    for (const file of luaFiles(join(root, 'src'))) {
      const text = readFileSync(join(root, 'src', file), 'utf8');
      assert.ok(text.startsWith('--[['), `${file}: header`);
      const header = text.slice(0, text.indexOf(']]'));
      if (/(prelude|helpers|common)\.lua$/.test(file)) continue;
      assert.match(header, /KEYS\[1/, `${file}: names its KEYS`);
      assert.match(header, /Output:/, `${file}: names its reply`);
      if (!file.endsWith('share-stats.lua')) assert.match(header, /ARGV\[1\]/, `${file}: names its ARGV`);
    }
  });

  it('caps are not compiled in: the script text is one, the settings carry the limits', () => {
    const a = scriptSettings(CONTRACT_LIMITS);
    const b = scriptSettings({ ...CONTRACT_LIMITS, maxQueuedTotal: CONTRACT_LIMITS.maxQueuedTotal + 7 });
    assert.notDeepEqual(a, b);
    assert.equal(settingValues({ ...CONTRACT_LIMITS, maxQueuedTotal: CONTRACT_LIMITS.maxQueuedTotal + 7 }).maxQueuedTotal, CONTRACT_LIMITS.maxQueuedTotal + 7);
    for (const text of Object.values(scripts)) assert.doesNotMatch(text, new RegExp(`\\b${CONTRACT_LIMITS.maxStoredBytes}\\b`));
    // common.lua unpacks the settings into locals named as settingValues' fields, in that order.
    const common = loadLua(new URL('../../src/store/redis/lua/common.lua', import.meta.url));
    const unpacked = /\nlocal ([\w,\s]+?) = unpack\(cmsgpack\.unpack\(ARGV\[1\]\)\)/.exec(common);
    assert.ok(unpacked, 'common.lua unpacks ARGV[1]');
    assert.deepEqual(unpacked[1]!.split(/,\s*/), Object.keys(settingValues(CONTRACT_LIMITS)));
  });

  it('the loader refuses an include cycle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-lua-'));
    try {
      writeFileSync(join(dir, 'a.lua'), '--@include "b.lua"\nreturn 1\n');
      writeFileSync(join(dir, 'b.lua'), '--@include "a.lua"\nlocal x = 1\n');
      assert.throws(() => loadLua(pathToFileURL(join(dir, 'a.lua'))), /include cycle/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the build step copies every .lua file to the same place under its output', () => {
    const out = mkdtempSync(join(tmpdir(), 'tp-lua-out-'));
    try {
      const run = spawnSync(process.execPath, [join(root, 'scripts', 'copy-lua.mjs'), out], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(luaFiles(out), luaFiles(join(root, 'src')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    assert.match(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.build, /node scripts\/copy-lua\.mjs/);
  });
});
