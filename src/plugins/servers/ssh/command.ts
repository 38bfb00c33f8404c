// Commands run on the server over the SSH session: the reload after a deploy, and `chown` by name.
import type { Client } from 'ssh2';
import { PluginIoError } from '../../errors';
import type { ActivityScope } from '../../types';

/** A reload command that has not finished by then is taken as hung. */
const RELOAD_TIMEOUT_MS = 120_000;
/** Output kept from the reload command: the end, where the error usually is. */
const OUTPUT_TAIL = 2_000;

export const tail = (text: string): string => (text.length > OUTPUT_TAIL ? `…${text.slice(-OUTPUT_TAIL)}` : text).trim();

/** Runs a command on the server; resolves with its exit status and output. */
export function exec(
  subject: string,
  client: Client,
  command: string,
): Promise<{ code: number | null; signal?: string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(new PluginIoError(subject, `cannot run a command: ${err.message}`, undefined, { cause: err }));
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      let signal: string | undefined;
      // Keeps a bounded tail: a chatty command must not fill the worker's memory.
      const keep = (text: string, chunk: Buffer): string => (text + chunk.toString('utf8')).slice(-4 * OUTPUT_TAIL);
      const timer = setTimeout(() => {
        stream.close();
        reject(new PluginIoError(subject, `command did not finish within ${RELOAD_TIMEOUT_MS / 1000} s: ${command}`, 'ETIMEDOUT'));
      }, RELOAD_TIMEOUT_MS);
      stream.on('data', (chunk: Buffer) => (stdout = keep(stdout, chunk)));
      stream.stderr.on('data', (chunk: Buffer) => (stderr = keep(stderr, chunk)));
      stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
        code = exitCode;
        signal = exitSignal;
      });
      stream.on('close', () => {
        clearTimeout(timer);
        resolve({ code, ...(signal && { signal }), stdout, stderr });
      });
    });
  });
}

export async function reload(subject: string, client: Client, command: string, activity: ActivityScope | undefined): Promise<void> {
  const result = await exec(subject, client, command);
  // The output is the operator's record of what the reload did; it is the server's, not a secret of ours.
  activity?.log.info('reload_command ran', {
    server: subject,
    exitCode: result.code,
    ...(result.signal && { signal: result.signal }),
    stdout: tail(result.stdout),
    stderr: tail(result.stderr),
  });
  if (result.code === 0) return;
  const status = result.code === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited with status ${result.code}`;
  const output = tail(result.stderr) || tail(result.stdout);
  throw new PluginIoError(subject, `reload_command ${status}${output ? `: ${output}` : ''}`, undefined);
}
