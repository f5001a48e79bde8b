// How the environment is read: each parser either returns a value or throws a ConfigError that
// names the variable. Integer settings are declared as tables ({ env, fallback, min, max }) so that
// the same table gives the default, reads the variable and validates a value set in code
// (configWith): one source for each default and each bound.
import { isIP } from 'node:net';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

export function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `must be one of 1/0/true/false/yes/no/on/off, got ${JSON.stringify(value)}`);
}

export function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function port(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new ConfigError(name, `must be a TCP port (1-65535), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function url(name: string, value: string, schemes: readonly string[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be a URL, got ${JSON.stringify(value)}`);
  }
  if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(name, `must use ${schemes.join(' or ')}, got ${parsed.protocol}`);
  }
  return parsed;
}

/** Tokens travel in an HTTP header, so only visible ASCII can ever match. */
export function tokens(env: Env): string[] {
  const found: string[] = [];
  const single = raw(env, 'TOKEN_PLACE_RELAY_SERVER_TOKEN');
  if (single !== undefined) found.push(single);
  const list = raw(env, 'TOKEN_PLACE_RELAY_SERVER_TOKENS');
  if (list !== undefined)
    found.push(
      ...list
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    );
  for (const token of found) {
    const variable = token === single ? 'TOKEN_PLACE_RELAY_SERVER_TOKEN' : 'TOKEN_PLACE_RELAY_SERVER_TOKENS';
    if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError(variable, 'tokens must be visible ASCII without spaces');
    if (token.length > 512) throw new ConfigError(variable, 'a token must be at most 512 characters');
  }
  return [...new Set(found)];
}

/** CIDR list such as "10.42.0.0/16,127.0.0.1"; a bare address is a /32 or /128. */
export function cidrs(env: Env, name: string): string[] {
  const value = raw(env, name);
  if (value === undefined) return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [address, bits, ...rest] = part.split('/');
      const family = isIP(address ?? '');
      const max = family === 6 ? 128 : 32;
      const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= max);
      if (family === 0 || !okBits || rest.length > 0) throw new ConfigError(name, `not an IP address or CIDR: ${JSON.stringify(part)}`);
      return bits === undefined ? `${address}/${max}` : part;
    });
}

/** An integer setting: its variable, default (a number, or the name of the setting it follows), and bounds. */
export interface IntSetting {
  env: string;
  fallback: number | string;
  min: number;
  max: number;
}
export type IntSettings = Record<string, IntSetting>;

/** Reads every setting of a table, in order (a setting may default to an earlier one). */
export function readInts<S extends IntSettings>(env: Env, settings: S): { [K in keyof S]: number } {
  const out: Record<string, number> = {};
  for (const [field, s] of Object.entries(settings)) {
    const fallback = typeof s.fallback === 'number' ? s.fallback : out[s.fallback];
    if (fallback === undefined) throw new Error(`setting ${field} follows unknown setting ${String(s.fallback)}`);
    out[field] = int(env, s.env, fallback, s.min, s.max);
  }
  return out as { [K in keyof S]: number };
}

/** The defaults of a table (no environment). */
export function defaultsOf<S extends IntSettings>(settings: S): { [K in keyof S]: number } {
  return readInts({}, settings);
}

/** Checks values set in code against the same bounds the environment is held to. */
export function checkInts(values: Record<string, unknown>, settings: IntSettings): void {
  for (const [field, s] of Object.entries(settings)) {
    const value = values[field];
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(s.env, `${field} must be a whole number, got ${JSON.stringify(value)}`);
    if (value < s.min || value > s.max) throw new ConfigError(s.env, `${field} must be between ${s.min} and ${s.max}, got ${value}`);
  }
}
