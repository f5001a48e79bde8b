// Payloads shaped like the real ones: base64 ciphertext of a chosen size tagged with an id, and
// RSA-2048-sized public keys, one per simulated peer. Shared by the load generator's jobs.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function b64ish(chars: number, seed: number): string {
  let out = '';
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < chars; i += 1) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out += B64.charAt(x & 63);
  }
  return out;
}

/** An RSA-2048 public key PEM is about 450 characters; each id gets its own. */
export function fakeKey(kind: string, id: number): string {
  const tag = `${kind}${id}`;
  return `-----BEGIN PUBLIC KEY-----\n${tag}${b64ish(392 - tag.length, id + kind.length * 1_000_003)}\n-----END PUBLIC KEY-----\n`;
}

export const CIPHERKEY = b64ish(344, 7); // RSA-2048 wrapped AES key, base64
export const IV = b64ish(24, 9);

/** `chars` of ciphertext that start with `<id>.`, so every reply can be matched to its request. */
export function cipher(id: number, chars: number, filler: string): string {
  const tag = `${id}.`;
  return tag + filler.slice(0, Math.max(0, chars - tag.length));
}

export const idOf = (text: unknown): number => (typeof text === 'string' ? Number(text.slice(0, text.indexOf('.'))) : NaN);

/** An address of 127.0.0.0/8 (all of it routes to lo on Linux): one simulated source each. */
export function loopbackAddress(block: number, i: number): string {
  return `127.${block}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`; // never .0 or .255
}
