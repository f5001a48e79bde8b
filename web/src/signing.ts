// Checks a node's signature over its answer or a streamed snapshot (README "Signed answers and
// streaming"), with WebCrypto, against the key of the node this page chose and encrypted to.
// The signed bytes: the magic line, then each field as a 4-byte big-endian length and its UTF-8
// bytes (src/crypto/signed-answer.ts builds the same bytes on the node side).
import { b64ToBytes, bytesToAscii } from './b64.js';
import { pemToDer } from './e2ee.js';

export const SIGNED_TEXT_MAGIC = 'tokenplace-signed-text-v1\n';
const SCHEMES = {
  'rsa-pss-sha256': { importAs: { name: 'RSA-PSS', hash: 'SHA-256' }, verifyAs: { name: 'RSA-PSS', saltLength: 32 } },
  'rsassa-pkcs1v15-sha256': { importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyAs: { name: 'RSASSA-PKCS1-v1_5' } },
} as const;
export type SigningScheme = keyof typeof SCHEMES;

export function isSigningScheme(v: unknown): v is SigningScheme {
  return typeof v === 'string' && Object.hasOwn(SCHEMES, v);
}

export interface SignedTextFields {
  protocol: string;
  purpose: 'answer' | 'snapshot';
  requestId: string;
  clientPublicKey: string;
  serverPublicKey: string;
  sequence: number;
  finishReason: string;
  text: string;
}

export function signedTextBytes(f: SignedTextFields): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const parts = [f.protocol, f.purpose, f.requestId, f.clientPublicKey, f.serverPublicKey, String(f.sequence), f.finishReason, f.text].map((s) =>
    enc.encode(s),
  );
  const magic = enc.encode(SIGNED_TEXT_MAGIC);
  const out = new Uint8Array(magic.length + parts.reduce((n, p) => n + 4 + p.length, 0));
  out.set(magic, 0);
  let at = magic.length;
  const view = new DataView(out.buffer);
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

const imported = new Map<string, Promise<CryptoKey>>();

function verifyKey(serverPublicKey: string, alg: SigningScheme): Promise<CryptoKey> {
  const id = `${alg}\n${serverPublicKey}`;
  let key = imported.get(id);
  if (!key) {
    const pem = bytesToAscii(b64ToBytes(serverPublicKey));
    key = crypto.subtle.importKey('spki', pemToDer(pem), SCHEMES[alg].importAs, false, ['verify']);
    imported.set(id, key);
    key.catch(() => imported.delete(id));
  }
  return key;
}

/** True only for a well-formed `{alg, signature}` by the node key over these fields. */
export async function verifySignedText(f: SignedTextFields, sig: unknown): Promise<boolean> {
  if (sig === null || typeof sig !== 'object') return false;
  const { alg, signature } = sig as Record<string, unknown>;
  if (!isSigningScheme(alg) || typeof signature !== 'string' || signature.length > 2048) return false;
  try {
    const key = await verifyKey(f.serverPublicKey, alg);
    return await crypto.subtle.verify(SCHEMES[alg].verifyAs, key, b64ToBytes(signature), signedTextBytes(f));
  } catch {
    return false;
  }
}
