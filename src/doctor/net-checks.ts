// Name resolution and the TLS certificate of the public URL, checked below HTTP so that the
// answer says what is wrong (no address, untrusted chain, expiry) before any route is asked.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { fail, ok, skip, warn, type CheckResult } from './types.js';

/** A certificate expiring sooner than this is a warning: renewal should have happened by now. */
export const EXPIRY_WARN_DAYS = 14;
const DAY_MS = 86_400_000;

/** URL.hostname keeps the brackets of an IPv6 literal; sockets and isIP want it without. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export async function checkDns(url: URL): Promise<CheckResult> {
  const host = bareHost(url);
  if (isIP(host) !== 0) return skip('dns', `${host} is an IP address (nothing to resolve)`);
  try {
    const addresses = await lookup(host, { all: true });
    const list = addresses.map((a) => a.address);
    const shown = list.slice(0, 4).join(', ') + (list.length > 4 ? `, +${list.length - 4} more` : '');
    return ok('dns', `${host} → ${shown}`, { addresses: list });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'lookup_failed';
    return fail('dns', `${host} does not resolve (${code})`, { code });
  }
}

function name(fields: tls.Certificate | undefined): string {
  if (fields === undefined) return 'unknown';
  const cn = Array.isArray(fields.CN) ? fields.CN[0] : fields.CN;
  const o = Array.isArray(fields.O) ? fields.O[0] : fields.O;
  return [cn ? `CN=${cn}` : '', o ? `O=${o}` : ''].filter(Boolean).join(', ') || 'unnamed';
}

/** How many certificates the server sent plus the anchors Node linked them to. */
function chainLength(leaf: tls.DetailedPeerCertificate): number {
  let n = 1;
  let cert = leaf;
  while (cert.issuerCertificate !== undefined && cert.issuerCertificate !== cert && n < 10) {
    if (cert.issuerCertificate.fingerprint256 === cert.fingerprint256) break;
    cert = cert.issuerCertificate;
    n += 1;
  }
  return n;
}

const SELF_SIGNED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

export interface TlsOptions {
  ca: string[] | undefined;
  timeoutMs: number;
  now?: () => number;
}

export async function checkTls(url: URL, opts: TlsOptions): Promise<CheckResult> {
  if (url.protocol === 'http:') return warn('tls', 'no TLS (http:// URL): node tokens and ciphertext travel in clear');
  const host = bareHost(url);
  const port = url.port === '' ? 443 : Number(url.port);
  const now = opts.now ?? Date.now;
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    const finish = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    // rejectUnauthorized: false so that an untrusted chain can still be described; the verdict
    // comes from `authorized`, which also covers the host name check.
    const socket = tls.connect({ host, port, servername: isIP(host) === 0 ? host : undefined, ca: opts.ca, rejectUnauthorized: false });
    const timer = setTimeout(() => finish(fail('tls', `no TLS handshake within ${opts.timeoutMs} ms`, { code: 'timeout' })), opts.timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish(fail('tls', `handshake failed (${err.code ?? err.message})`, { code: err.code ?? 'tls_error' })),
    );
    socket.once('secureConnect', () => {
      const leaf = socket.getPeerCertificate(true);
      if (leaf === null || Object.keys(leaf).length === 0) return finish(fail('tls', 'the server sent no certificate'));
      const validTo = Date.parse(leaf.valid_to);
      const days = Math.floor((validTo - now()) / DAY_MS);
      const expires = new Date(validTo).toISOString().slice(0, 10);
      const issuer = name(leaf.issuer);
      const data = {
        protocol: socket.getProtocol(),
        issuer,
        subject: name(leaf.subject),
        valid_to: new Date(validTo).toISOString(),
        days_left: days,
        chain: chainLength(leaf),
      };
      if (!socket.authorized) {
        const code = String(socket.authorizationError ?? 'unauthorized');
        const hint = SELF_SIGNED.has(code) ? '; a private CA needs --ca FILE' : '';
        return finish(fail('tls', `not trusted: ${code} (issuer ${issuer}, expires ${expires})${hint}`, { ...data, code }));
      }
      if (days < 0) return finish(fail('tls', `certificate expired on ${expires} (issuer ${issuer})`, data));
      const line = `${data.protocol}, issuer ${issuer}, expires ${expires} (${days} days)`;
      if (days < EXPIRY_WARN_DAYS) return finish(warn('tls', `${line}: under ${EXPIRY_WARN_DAYS} days, renewal is overdue`, data));
      finish(ok('tls', line, data));
    });
  });
}
