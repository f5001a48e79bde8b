// The API v1 transitions as Lua scripts, one file per RelayStore method in ./lua/ (each file's
// header names its KEYS, ARGV and reply; contracts in types.ts), so each is atomic across
// replicas: two replicas never both claim a request, both deliver an answer, or both take the
// last slot under a cap. Selection runs here too, so the round-robin cursor and the load it
// reads are one consistent step. Every script includes ./lua/prelude.lua (settings, key
// families, then ./lua/helpers.lua), which includes the helpers both protocols share
// (src/store/redis/lua/common.lua). Replies use '' for "none" (Lua nil would cut an array short)
// and `ended` as a flat list of outcome, reason pairs.
import { loadLua } from '../../store/redis/lua-loader.js';

/** Script name -> its file in ./lua/. */
const FILES = {
  v1Register: 'register.lua',
  v1Renew: 'renew.lua',
  v1Select: 'select.lua',
  v1Admit: 'admit.lua',
  v1Claim: 'claim.lua',
  v1Control: 'control.lua',
  v1Accept: 'accept.lua',
  v1Retrieve: 'retrieve.lua',
  v1Cancel: 'cancel.lua',
  v1Progress: 'progress.lua',
  v1Unregister: 'unregister.lua',
  v1Expire: 'expire.lua',
  v1Stats: 'stats.lua',
  v1List: 'list.lua',
} as const;

export type V1ScriptName = keyof typeof FILES;
export const V1_SCRIPT_NAMES = Object.keys(FILES) as V1ScriptName[];

/** Every v1 script's source, includes expanded (read from disk once per process). */
export function v1Scripts(): Record<V1ScriptName, string> {
  const out = {} as Record<V1ScriptName, string>;
  for (const name of V1_SCRIPT_NAMES) out[name] = loadLua(new URL(`./lua/${FILES[name]}`, import.meta.url));
  return out;
}
