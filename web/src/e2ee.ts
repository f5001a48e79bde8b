// End-to-end encryption in the page, compatible with token.place compute nodes:
// RSA-OAEP (SHA-256) 2048-bit keys, AES-256-CBC messages, and RSA wrapping of the ASCII base64
// text of each message's AES key. Keys are made here and the private key never leaves the page.
// Replies wrapped with PKCS#1 v1.5 (which WebCrypto cannot unwrap; some nodes use it) are
// unwrapped by a small lazily loaded module built on node-forge.
import { asciiToBytes, b64ToBytes, bytesToAscii, bytesToB64 } from './b64.js';

const OAEP = { name: 'RSA-OAEP', hash: 'SHA-256' } as const;

export interface Ciphertext {
  ciphertext: string;
  cipherkey: string;
  iv: string;
}

export interface ClientKeys {
  /** base64 of the PEM text of the SPKI: the wire form relays and nodes expect. */
  publicKeyWire: string;
  privateKey: CryptoKey;
}

function derToPem(der: ArrayBuffer, label: string): string {
  const lines = bytesToB64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  return b64ToBytes(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''));
}

export async function generateClientKeys(): Promise<ClientKeys> {
  const kp = await crypto.subtle.generateKey(
    { ...OAEP, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    // extractable so the PKCS#1 v1.5 fallback can use it; it is never sent anywhere
    true,
    ['encrypt', 'decrypt'],
  );
  const spki = await crypto.subtle.exportKey('spki', kp.publicKey);
  return { publicKeyWire: btoa(derToPem(spki, 'PUBLIC KEY')), privateKey: kp.privateKey };
}

/** Imports a node's key given in wire form (base64 of PEM); throws on anything else. */
export async function importNodeKey(wire: string): Promise<CryptoKey> {
  const pem = bytesToAscii(b64ToBytes(wire));
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) throw new Error('node key is not a PEM public key');
  return crypto.subtle.importKey('spki', pemToDer(pem), OAEP, false, ['encrypt']);
}

export async function encryptFor(nodeKey: CryptoKey, plaintext: string): Promise<Ciphertext> {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const aes = await crypto.subtle.importKey('raw', raw, 'AES-CBC', false, ['encrypt']);
  const ct = await crypto.subtle.encrypt({ name: 'AES-CBC', iv }, aes, new TextEncoder().encode(plaintext));
  const wrapped = await crypto.subtle.encrypt(OAEP, nodeKey, asciiToBytes(bytesToB64(raw)));
  raw.fill(0);
  return { ciphertext: bytesToB64(ct), cipherkey: bytesToB64(wrapped), iv: bytesToB64(iv) };
}

let pkcs8Der: Promise<Uint8Array> | null = null;

async function unwrapKeyText(keys: ClientKeys, cipherkey: Uint8Array<ArrayBuffer>): Promise<string> {
  try {
    return bytesToAscii(await crypto.subtle.decrypt(OAEP, keys.privateKey, cipherkey));
  } catch {
    // Not OAEP: try PKCS#1 v1.5, as the Python peers do.
    pkcs8Der ??= crypto.subtle.exportKey('pkcs8', keys.privateKey).then((der) => new Uint8Array(der));
    const { pkcs1v15Decrypt } = await import('./pkcs1.js');
    return bytesToAscii(pkcs1v15Decrypt(await pkcs8Der, cipherkey));
  }
}

export async function decryptWith(keys: ClientKeys, payload: Ciphertext): Promise<string> {
  const keyText = await unwrapKeyText(keys, b64ToBytes(payload.cipherkey));
  const raw = b64ToBytes(keyText);
  if (raw.length !== 32) throw new Error('unwrapped key has the wrong length');
  const aes = await crypto.subtle.importKey('raw', raw, 'AES-CBC', false, ['decrypt']);
  const pt = await crypto.subtle.decrypt({ name: 'AES-CBC', iv: b64ToBytes(payload.iv) }, aes, b64ToBytes(payload.ciphertext));
  return new TextDecoder('utf-8', { fatal: true }).decode(pt);
}
