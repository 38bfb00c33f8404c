// What the benchmarks share: argument reading, process memory, timing, and the markdown table they print.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** `--name VALUE` from argv as a positive integer, else `fallback`. */
export function intArg(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got '${argv[at + 1]}'`);
  return value;
}

export const flagArg = (argv: string[], name: string): boolean => argv.includes(`--${name}`);

/** A field of /proc/<pid>/status in MiB (VmRSS now, VmHWM the peak); null once the process is gone. */
export function procMemoryMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return line ? Number(line[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident set size of the process, MiB. */
  peakRssMiB: number;
}

const TIME = '/usr/bin/time';

/**
 * Runs a command to its end and measures wall time and peak RSS: GNU time's "Maximum resident set size" when
 * /usr/bin/time exists, else VmHWM polled from /proc (which can miss a peak in the last few milliseconds).
 */
export function measure(command: string, args: string[], cwd?: string): Promise<RunResult> {
  const gnuTime = existsSync(TIME);
  const [file, argv] = gnuTime ? [TIME, ['-v', command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let polledPeak = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = gnuTime ? undefined : setInterval(() => (polledPeak = Math.max(polledPeak, procMemoryMiB(child.pid!, 'VmHWM') ?? 0)), 5);
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(poll);
      let peakRssMiB = polledPeak;
      if (gnuTime) {
        // time -v appends its report to stderr; the command's own stderr comes before it.
        const at = stderr.lastIndexOf('\tCommand being timed:');
        const report = stderr.slice(at);
        peakRssMiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1] ?? 0) / 1024;
        stderr = stderr.slice(0, at);
        const exit = /Exit status: (\d+)/.exec(report);
        code = exit ? Number(exit[1]) : code;
      }
      resolve({ code, stdout, stderr, wallMs, peakRssMiB });
    });
  });
}

export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const fmt = (n: number, digits = 0): string => n.toFixed(digits);

/** `autossl worker` as an operator runs it (the built CLI `bin`); resolves once it polls `taskQueue`. */
export async function startWorkerProcess(bin: string, taskQueue: string, address: string, dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, '--data-dir', dataDir, 'worker', '--address', address, '--task-queue', taskQueue], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (output.length < 64 * 1024) output += chunk;
      if (output.includes('autossl worker on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`autossl worker exited with ${code} before it was ready\n${output}`)));
  });
  return child;
}
