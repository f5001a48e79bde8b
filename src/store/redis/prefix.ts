// The key prefix and Redis Cluster's hash tags. Cluster puts a key in the slot of its hash tag,
// the text between the first '{' and the first '}' after it (when not empty). A prefix that holds
// a complete tag gives every key under it that same tag, so the whole deployment is one slot.
//
// Why one slot is right for the relay: the scripts are multi-key transactions across the node and
// client families of both protocols (an admission touches the node's queue, the client's count,
// the global caps and the source shares at once), and Cluster runs a script only when all its
// keys share a slot. One slot means one primary does all the relay's work, but one Redis primary
// handles far more than a fleet of relays sends (bench/redis-modes.ts), and splitting the state
// would need cross-slot transactions the relay cannot have. What Cluster brings here is failover
// (a replica per primary) and compatibility with managed offerings that only speak Cluster, not
// sharding of one relay's state. Several deployments (prefixes) land in different slots.

/** True when `prefix` holds a complete, non-empty hash tag. */
export function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{');
  if (open < 0) return false;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1;
}

/**
 * The prefix the store uses. On Cluster a prefix without a hash tag is wrapped in braces
 * ("tokenplace:relay:v1:" becomes "{tokenplace:relay:v1:}"). Standalone and Sentinel keep the
 * configured prefix byte for byte: their keys keep their names across an upgrade, so old and new
 * replicas share state during a rolling update. Moving to Cluster is a move to a new datastore
 * anyway (the relay's state is short-lived and not migrated), so the new names cost nothing there.
 */
export function storePrefix(prefix: string, cluster: boolean): string {
  if (!cluster || hasHashTag(prefix)) return prefix;
  return `{${prefix}}`;
}
