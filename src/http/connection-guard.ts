// Admission of sockets, before any HTTP is parsed (invariant 1 of the threat model: open
// connections are a cap anyone can fill).
//
//  * Per source: a source (IPv4 address, IPv6 /64: addressLimitKey of the socket's peer) may
//    hold at most `perSource` open sockets; the next one is answered 429
//    `source_connections_exceeded` and closed.
//  * Near the cap: from `highWater` open sockets on, every new socket first closes the socket
//    that has been idle longest (a keep-alive socket between requests, or one that never sent
//    a byte), so idle sockets cannot crowd out a new client. At the cap with nothing idle, the
//    new socket is answered 503 `relay_connection_limit` and closed.
//  * Keep-alive: an idle socket from a client is closed after `clientKeepAliveMs` (Node's
//    server.keepAliveTimeout); one from a trusted proxy after `proxyKeepAliveMs`.
//
// Sockets from a trusted proxy (TOKENPLACE_TRUSTED_PROXIES) are not limited per source: the
// client behind them is known only per request, once the forwarding headers are read, and one
// proxy socket carries many clients in turn. What a client behind the proxy can make the relay
// hold is bounded per request instead: held polls per source (src/http/held-polls.ts) and the
// rate budgets, both keyed on the resolved client address. Connections from the internet are
// the proxy's to limit (Traefik, Cloudflare); its sockets to the relay still count against the
// relay's cap and are closed idle-first near it.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../core/errors.js';
import type { GuardMetrics } from '../limits/limit-metrics.js';
import { SourceLedger } from '../core/source-ledger.js';
import { rawErrorResponse } from './client-error.js';
import { addressLimitKey, resolveClientAddress, type AddressSet } from './client-address.js';

export interface ConnectionGuardOptions {
  maxConnections: number;
  perSource: number;
  trusted: AddressSet;
  clientKeepAliveMs: number;
  proxyKeepAliveMs: number;
  metrics: GuardMetrics;
}

interface Entry {
  /** null for a trusted proxy (not counted per source). */
  readonly source: string | null;
  busy: number;
}

const NO_HEADERS = {};
/** At most this many idle sockets are closed for one new socket: bounded work per accept. */
const EVICTIONS_PER_ACCEPT = 4;
/** How many of the longest-idle sockets are compared when one is chosen to close. */
const EVICTION_WINDOW = 32;
/** A refused socket whose peer does not read its answer is destroyed after this. */
const REFUSAL_LINGER_MS = 1000;

/** Where idle eviction starts: 90 % of the cap (at least one slot below it when the cap is > 1). */
export function highWaterOf(maxConnections: number): number {
  return Math.max(1, maxConnections - Math.max(1, Math.floor(maxConnections / 10)));
}

export class ConnectionGuard {
  readonly #open = new Map<Socket, Entry>();
  /** Idle sockets, longest idle first (a Set keeps insertion order; re-adding moves to the end). */
  readonly #idle = new Set<Socket>();
  readonly #sources: SourceLedger;
  readonly #highWater: number;

  constructor(readonly options: ConnectionGuardOptions) {
    this.#sources = new SourceLedger(Number.MAX_SAFE_INTEGER, options.perSource);
    this.#highWater = highWaterOf(options.maxConnections);
  }

  get open(): number {
    return this.#open.size;
  }

  get idle(): number {
    return this.#idle.size;
  }

  /** Open sockets of one source (as counted for its share). */
  openFrom(source: string): number {
    return this.#sources.used(source);
  }

  attach(server: Server): void {
    server.keepAliveTimeout = this.options.clientKeepAliveMs;
    server.on('connection', (socket: Socket) => this.#admit(socket));
    server.on('request', (req, res) => {
      const socket = req.socket;
      const entry = this.#open.get(socket);
      if (entry === undefined) return;
      entry.busy++;
      this.#idle.delete(socket);
      // `on`, not `once`: a response closes once, and once() wraps every listener in two more objects.
      res.on('close', () => {
        entry.busy--;
        if (entry.busy > 0 || socket.destroyed || !this.#open.has(socket)) return;
        this.#idle.add(socket);
        // Node armed keepAliveTimeout on 'finish'; 'close' follows on the next tick, so a trusted
        // proxy's socket gets its longer idle time here.
        if (entry.source === null) socket.setTimeout(this.options.proxyKeepAliveMs);
      });
    });
  }

  #admit(socket: Socket): void {
    const peer = socket.remoteAddress;
    const trusted = peer !== undefined && this.options.trusted.hasText(peer);
    const source = trusted ? null : addressLimitKey(resolveClientAddress(peer, NO_HEADERS, this.options.trusted));
    if (source !== null && !this.#sources.fits(source, 1)) return this.#refuse(socket, 'source_connections_exceeded', 'source_connections');
    if (this.#open.size >= this.#highWater) this.#evictIdle();
    if (this.#open.size >= this.options.maxConnections) return this.#refuse(socket, 'relay_connection_limit', 'relay_connections');

    const entry: Entry = { source, busy: 0 };
    this.#open.set(socket, entry);
    this.#idle.add(socket);
    if (source !== null) this.#sources.add(source, 1);
    this.options.metrics.setOpenConnections(this.#open.size);
    socket.once('close', () => {
      this.#idle.delete(socket);
      // An evicted socket was counted out when it was closed.
      if (this.#open.delete(socket) && source !== null) this.#sources.add(source, -1);
      this.options.metrics.setOpenConnections(this.#open.size);
    });
  }

  /**
   * Among the longest-idle sockets (the first EVICTION_WINDOW), the one whose source holds the
   * most open sockets: an attacker's idle sockets go before an honest client's one or two.
   */
  #pickIdle(): Socket | undefined {
    let best: Socket | undefined;
    let bestHeld = -1;
    let seen = 0;
    for (const socket of this.#idle) {
      const source = this.#open.get(socket)?.source;
      // A trusted proxy's socket counts as one source holding one socket: closed last.
      const held = source == null ? 0 : this.#sources.used(source);
      if (held > bestHeld) [best, bestHeld] = [socket, held];
      if (++seen >= EVICTION_WINDOW) break;
    }
    return best;
  }

  #evictIdle(): void {
    let evicted = 0;
    while (this.#open.size >= this.#highWater && evicted < EVICTIONS_PER_ACCEPT) {
      const socket = this.#pickIdle();
      if (socket === undefined) break;
      this.#idle.delete(socket);
      // Counted out now, so the new socket's check sees the freed slot.
      const entry = this.#open.get(socket);
      this.#open.delete(socket);
      if (entry?.source != null) this.#sources.add(entry.source, -1);
      socket.destroy();
      this.options.metrics.refused('idle_evicted');
      evicted++;
    }
  }

  #refuse(socket: Socket, code: ErrorCode, kind: 'source_connections' | 'relay_connections'): void {
    this.options.metrics.refused(kind);
    // Stop reading: Node's parser must not start a request on a socket that is being refused.
    socket.pause();
    socket.on('error', () => {});
    // Destroyed a little later, not at once: closing with the peer's request unread would reset
    // the connection and the peer might never read its answer.
    const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
    socket.end(rawErrorResponse(code));
  }
}
