// JSON log lines in the shape the upstream relay's operators already parse: timestamp, level,
// logger, message. Never bodies, keys or ciphertext.
import { pino, type Logger } from 'pino';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      messageKey: 'message',
      base: { logger: 'tokenplace.relay' },
      timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Longest header value (user agent, …) written to a log line; the rest is cut. */
export const MAX_LOGGED_HEADER_CHARS = 200;

/**
 * A header value as it may appear in a log: cut to MAX_LOGGED_HEADER_CHARS (a client chooses
 * it, up to the 16 KiB header limit, and every request would copy it into the log).
 */
export function loggedHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  return text.length <= MAX_LOGGED_HEADER_CHARS ? text : `${text.slice(0, MAX_LOGGED_HEADER_CHARS)}…`;
}
