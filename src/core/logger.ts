// JSON log lines in the shape the upstream relay's operators already parse: timestamp, level,
// logger, message. Never bodies, keys or ciphertext.
import { pino, type Logger } from 'pino';

/** A buffered line is written within this long even when fewer than LOG_BUFFER_BYTES follow it. */
export const LOG_FLUSH_MS = 200;
/** Lines are written in batches of about this many bytes. */
export const LOG_BUFFER_BYTES = 4096;
let stdoutDestination: pino.DestinationStream | undefined;

/**
 * Standard output, buffered: at info every request writes a line, and one write(2) per line was
 * the largest single cost of a request (bench/README.md, "Where a request's CPU goes"). Lines
 * are gathered up to LOG_BUFFER_BYTES and written off the main thread, and at the latest
 * LOG_FLUSH_MS after they were logged; pino flushes what is left synchronously when the process
 * exits (on-exit handler of pino.destination), so a crash that exits still writes its last lines.
 * One stream per process, whatever the number of loggers.
 */
export function bufferedStdout(): pino.DestinationStream {
  if (stdoutDestination !== undefined) return stdoutDestination;
  const destination = pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES });
  setInterval(() => {
    // A flush of an ended stream throws; at exit pino has flushed it already.
    if (!(destination as { destroyed?: boolean }).destroyed) destination.flush();
  }, LOG_FLUSH_MS).unref();
  stdoutDestination = destination;
  return destination;
}

let stampSecond = Number.NaN;
let stampPrefix = '';

/**
 * `new Date(ms).toISOString()`, with the date and time up to the second formatted once per
 * second: every log line carries one, and formatting a Date per line was a visible share of it.
 */
export function isoTimestamp(ms: number = Date.now()): string {
  const second = Math.floor(ms / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stampPrefix = new Date(second * 1000).toISOString().slice(0, 20); // YYYY-MM-DDTHH:MM:SS.
  }
  const milli = ms - second * 1000;
  return `${stampPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      messageKey: 'message',
      base: { logger: 'tokenplace.relay' },
      timestamp: () => `,"timestamp":"${isoTimestamp()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? (level === 'silent' ? undefined : bufferedStdout()),
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
