// RSAES-PKCS1-v1_5 decryption for the one case WebCrypto cannot handle: a node that wraps the
// reply key with PKCS#1 v1.5. Built on node-forge's RSA module; loaded only when needed.
import forge from 'node-forge/lib/forge.js';
import 'node-forge/lib/asn1.js';
import 'node-forge/lib/rsa.js';
import 'node-forge/lib/util.js';

interface ForgeRsaKey {
  decrypt(data: string, scheme: 'RSAES-PKCS1-V1_5'): string;
}

interface ForgeSubset {
  asn1: { fromDer(bytes: unknown): unknown };
  pki: { privateKeyFromAsn1(obj: unknown): ForgeRsaKey };
  util: { createBuffer(bin: string, encoding?: string): unknown };
}

const f = forge as ForgeSubset;

let cached: { der: Uint8Array; key: ForgeRsaKey } | null = null;

function bin(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** `pkcs8Der`: the page's private key exported as PKCS#8 DER. */
export function pkcs1v15Decrypt(pkcs8Der: Uint8Array, data: Uint8Array): Uint8Array {
  if (!cached || cached.der !== pkcs8Der) {
    cached = { der: pkcs8Der, key: f.pki.privateKeyFromAsn1(f.asn1.fromDer(f.util.createBuffer(bin(pkcs8Der), 'raw'))) };
  }
  const out = cached.key.decrypt(bin(data), 'RSAES-PKCS1-V1_5');
  const bytes = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) bytes[i] = out.charCodeAt(i);
  return bytes;
}
