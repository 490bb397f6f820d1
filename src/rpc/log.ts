/**
 * Structured logging for the daemon: one JSON object per line (`ts`, `level`, `msg`, then
 * fields), or a plain `key=value` line for humans. Levels filter below a threshold. The
 * protocol layers take a `Logger` so that tests can capture what was logged.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'json' | 'text';
  write?: (line: string) => void;
}

function plain(v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const format = opts.format ?? 'json';
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  return {
    enabled: (level) => RANK[level] >= min,
    log(level, msg, fields) {
      if (RANK[level] < min) return;
      const ts = new Date().toISOString();
      if (format === 'json') {
        write(`${JSON.stringify({ ts, level, msg, ...fields }, (_k, v: unknown) => plain(v))}\n`);
      } else {
        const extra = fields ? Object.entries(fields).map(([k, v]) => ` ${k}=${JSON.stringify(plain(v))}`).join('') : '';
        write(`${ts} ${level}: ${msg}${extra}\n`);
      }
    },
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { log() {}, enabled: () => false };
