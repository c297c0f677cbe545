import type { Logger } from '../../src/logger.js';

/** One entry a {@link recordingLogger} received. */
export interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps what it is told, for assertions on what reaches the log. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (fields: Record<string, unknown>, message: string) => {
    entries.push({ level, fields, message });
  };
  return { logger: { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }, entries };
}
