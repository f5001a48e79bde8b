// The real client address behind Traefik and Cloudflare.
//
// Forwarding headers are written by whoever sent the request, so they are believed only when the
// immediate peer (the socket address) is a configured trusted proxy. X-Forwarded-For is then read
// from the right: each trusted proxy appends the address it received the request from, so the
// first address from the right that is *not* a trusted proxy is the client. Entries to its left
// were written by that client and are ignored. CF-Connecting-IP is used only when every hop is
// trusted (Cloudflare Tunnel: cloudflared inside the cluster is the first hop and sets it).
//
// Addresses are handled as 128-bit numbers with IPv4 mapped into ::ffff:0:0/96, so an IPv4 CIDR
// matches a peer that the dual-stack socket reports as ::ffff:a.b.c.d, and vice versa.
import type { IncomingHttpHeaders } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';

const MAPPED_PREFIX = 0xffffn << 32n;
const MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);
const ALL = (1n << 128n) - 1n;
/** Forwarding chains longer than this are read only this far from the right: bounded work. */
export const MAX_FORWARDED_HOPS = 32;

function parseIPv4(text: string): bigint | null {
  if (!isIPv4(text)) return null;
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseIPv6(text: string): bigint | null {
  const bare = text.split('%')[0] ?? ''; // zone ids (fe80::1%eth0) name an interface, not a host
  if (!isIPv6(bare)) return null;
  const hextets = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else out.push(parseInt(piece, 16));
    }
    return out;
  };
  const [head, tail] = bare.split('::');
  const left = hextets(head ?? '');
  const right = tail === undefined ? [] : hextets(tail);
  if (left === null || right === null) return null;
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  const all = [...left, ...new Array<number>(zeros).fill(0), ...right];
  if (all.length !== 8) return null;
  return all.reduce((acc, h) => (acc << 16n) | BigInt(h), 0n);
}

/** An IPv4 or IPv6 address as a 128-bit number (IPv4 mapped), or null. */
export function parseAddress(text: string): bigint | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return MAPPED_PREFIX | v4;
  return parseIPv6(text);
}

export function isMappedIPv4(value: bigint): boolean {
  return (value & MAPPED_MASK) === MAPPED_PREFIX;
}

/** Canonical text: dotted quad for IPv4 (mapped or not), compressed lowercase IPv6 otherwise. */
export function formatAddress(value: bigint): string {
  if (isMappedIPv4(value)) {
    return [24n, 16n, 8n, 0n].map((shift) => String(Number((value >> shift) & 0xffn))).join('.');
  }
  const hextets = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero hextets (the first one on a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** A forwarding-header entry: a bare address, or with a port ("1.2.3.4:80", "[2001:db8::1]:80"). */
function parseHop(entry: string): bigint | null {
  const text = entry.trim().replace(/^"(.*)"$/, '$1');
  const direct = parseAddress(text);
  if (direct !== null) return direct;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed?.[1] !== undefined) return parseIPv6(bracketed[1]);
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  if (v4port?.[1] !== undefined) return parseAddress(v4port[1]);
  return null;
}

interface Network {
  base: bigint;
  mask: bigint;
}

/** A set of networks from CIDR strings (as validated by src/config.ts); matching is by prefix. */
export class AddressSet {
  readonly #networks: Network[];

  constructor(cidrs: readonly string[]) {
    this.#networks = cidrs.map((cidr) => {
      const [address = '', bits] = cidr.split('/');
      const value = parseAddress(address);
      if (value === null) throw new Error(`not an IP address: ${JSON.stringify(address)}`);
      const v4 = isIPv4(address);
      const prefix = bits === undefined ? 128 : Number(bits) + (v4 ? 96 : 0);
      const mask = prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
      return { base: value & mask, mask };
    });
  }

  get size(): number {
    return this.#networks.length;
  }

  has(value: bigint): boolean {
    return this.#networks.some((n) => (value & n.mask) === n.base);
  }

  hasText(address: string): boolean {
    const value = parsePeer(address);
    return value !== null && this.has(value);
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  // Node joins repeated X-Forwarded-For lines with ", "; other headers may arrive as arrays.
  return Array.isArray(value) ? value.join(',') : value;
}

// Socket peers repeat (keep-alive connections, a proxy's few addresses): their parse and
// canonical text are memoised in small bounded maps, as parsing showed up on every request.
const PEER_MEMO_MAX = 4096;
const peerValues = new Map<string, bigint | null>();
const peerTexts = new Map<string, string>();

function parsePeer(peer: string): bigint | null {
  let value = peerValues.get(peer);
  if (value === undefined && !peerValues.has(peer)) {
    if (peerValues.size >= PEER_MEMO_MAX) peerValues.clear();
    value = parseAddress(peer);
    peerValues.set(peer, value);
  }
  return value ?? null;
}

function formatPeer(peer: string, value: bigint): string {
  let text = peerTexts.get(peer);
  if (text === undefined) {
    if (peerTexts.size >= PEER_MEMO_MAX) peerTexts.clear();
    text = formatAddress(value);
    peerTexts.set(peer, text);
  }
  return text;
}

/** Answered when the socket is already gone and has no address. */
export const UNKNOWN_ADDRESS = 'unknown';

/**
 * The client's address for this request, as canonical text. `peer` is the socket's remote
 * address; forwarding headers count only when it is in `trusted`.
 */
export function resolveClientAddress(peer: string | undefined, headers: IncomingHttpHeaders, trusted: AddressSet): string {
  const peerValue = peer === undefined ? null : parsePeer(peer);
  if (peerValue === null) return UNKNOWN_ADDRESS;
  if (trusted.size === 0 || !trusted.has(peerValue)) return formatPeer(peer!, peerValue);

  let nearest = peerValue;
  const forwarded = headerText(headers['x-forwarded-for']);
  if (forwarded !== undefined) {
    const hops = forwarded.split(',').slice(-MAX_FORWARDED_HOPS);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseHop(hops[i] ?? '');
      // A garbled entry next to trusted hops cannot be vouched for: stop at the last good one.
      if (hop === null) return formatAddress(nearest);
      if (!trusted.has(hop)) return formatAddress(hop);
      nearest = hop;
    }
  }
  // Every hop is a trusted proxy: the request entered at the first of them, which says who
  // connected to it in CF-Connecting-IP (Cloudflare Tunnel) or not at all (a proxy's own probe).
  const cf = headerText(headers['cf-connecting-ip']);
  const cfValue = cf === undefined ? null : parseHop(cf);
  return formatAddress(cfValue ?? nearest);
}

const limitKeys = new Map<string, string>();
/** Distinct addresses whose keys are remembered; past it the memo starts over (a flood of new addresses only costs the parse). */
const LIMIT_KEY_MEMO = 4096;

/**
 * The rate-limit key for an address. IPv6 clients are grouped by their /64: one subscriber is
 * routinely given a whole /64, so per-address limits would not hold anyone back there.
 */
export function addressLimitKey(address: string): string {
  // Several layers key on the source of each request (rate limits, held-poll share, the
  // stores' per-source ledgers): parse each address once, not at every layer.
  let key = limitKeys.get(address);
  if (key === undefined) {
    if (limitKeys.size >= LIMIT_KEY_MEMO) limitKeys.clear();
    key = limitKeyOf(address);
    limitKeys.set(address, key);
  }
  return key;
}

function limitKeyOf(address: string): string {
  const value = parseAddress(address);
  if (value === null || isMappedIPv4(value)) return address;
  const prefix = value & (ALL << 64n) & ALL;
  return `${formatAddress(prefix)}/64`;
}
