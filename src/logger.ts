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
