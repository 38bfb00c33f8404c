// One log line per event on stderr: what an operator reads in a terminal or a container log.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

const compact = (meta: Record<string, unknown> | undefined): string => {
  if (!meta) return '';
  const shown = Object.entries(meta).filter(
    ([k]) => !['sdkComponent', 'namespace', 'runId', 'workflowType', 'taskQueue', 'attempt', 'activityId', 'isLocal', 'taskToken'].includes(k),
  );
  return shown.length ? ` ${shown.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : '';
};

/** Installs the process-wide Temporal runtime logger; call once, before any worker or native connection. */
export function installLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      write(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${compact(entry.meta)}`);
    }),
    telemetryOptions: { logging: { filter: { core: level === 'DEBUG' || level === 'TRACE' ? level : 'ERROR', other: 'ERROR' }, forward: {} } },
  });
}
