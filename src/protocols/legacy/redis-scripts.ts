// The legacy transitions as Lua scripts, one file each in ./lua/ (each file's header names its
// KEYS, ARGV and reply): Redis runs each script atomically, so two replicas racing on the same
// queue or response see one order and never both win. Every script includes ./lua/prelude.lua
// (settings, key families, codecs), which includes the helpers both protocols share
// (src/store/redis/lua/common.lua). `now` and random material come from the caller (the clock is
// injected, and scripts must not depend on the server's randomness).
import { loadLua } from '../../store/redis/lua-loader.js';

/** Script name -> its file in ./lua/. */
const FILES = {
  register: 'register.lua',
  pickNode: 'pick-node.lua',
  enqueue: 'enqueue.lua',
  claim: 'claim.lua',
  complete: 'complete.lua',
  retrieve: 'retrieve.lua',
  appendChunk: 'append-chunk.lua',
  drainStream: 'drain-stream.lua',
  expire: 'expire.lua',
  stats: 'stats.lua',
  listNodes: 'list-nodes.lua',
} as const;

export type ScriptName = keyof typeof FILES;
export const SCRIPT_NAMES = Object.keys(FILES) as ScriptName[];

/** Every legacy script's source, includes expanded (read from disk once per process). */
export function legacyScripts(): Record<ScriptName, string> {
  const out = {} as Record<ScriptName, string>;
  for (const name of SCRIPT_NAMES) out[name] = loadLua(new URL(`./lua/${FILES[name]}`, import.meta.url));
  return out;
}
