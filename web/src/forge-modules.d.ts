// node-forge's per-module entry points (the bundle uses only what RSA decryption needs).
declare module 'node-forge/lib/forge.js' {
  const forge: unknown;
  export default forge;
}
declare module 'node-forge/lib/asn1.js';
declare module 'node-forge/lib/rsa.js';
declare module 'node-forge/lib/util.js';
