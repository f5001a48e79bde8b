// The compute-node lifecycle log: one JSON line per registration, return after a silence,
// unregistration, eviction or expiry, so an operator can follow a node by its fingerprint and
// label. Never the key, and the address only as a network prefix (IPv4 /24, IPv6 /64): enough to
// tell homes apart, not to point at a host.
import type { Logger } from 'pino';
import type { NodeEvent, NodeEventKind } from '../core/observer.js';
import { addressLimitKey } from '../http/client-address.js';

const MESSAGES: Record<NodeEventKind, string> = {
  registered: 'compute node registered',
  renewed: 'compute node back after a silence',
  evicted: 'compute node evicted',
  unregistered: 'compute node unregistered',
  expired: 'compute node expired',
};

const IPV4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/i;
const MAX_ADDRESS_CHARS = 64;

/**
 * The network a source belongs to: an IPv4 address becomes its /24, an IPv6 address its /64
 * (sources from addressLimitKey already are); anything else ('local', 'unknown') stays as it is.
 */
export function addressPrefix(source: string | null): string | null {
  if (source === null) return null;
  const v4 = IPV4.exec(source);
  if (v4 !== null) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  const prefix = source.includes(':') && !source.includes('/') ? addressLimitKey(source) : source;
  return prefix.slice(0, MAX_ADDRESS_CHARS);
}

export function nodeEventLogger(logger: Logger): (event: NodeEvent) => void {
  return (e) => {
    const fields: Record<string, unknown> = {
      event: `node.${e.event}`,
      protocol: e.protocol,
      fingerprint: e.fingerprint,
      label: e.label,
      address: addressPrefix(e.source),
    };
    if (e.reason !== undefined) fields.reason = e.reason;
    if (e.silentMs !== undefined) fields.silent_seconds = Math.round(e.silentMs) / 1000;
    if (e.count !== 1) fields.count = e.count;
    logger.info(fields, MESSAGES[e.event]);
  };
}
