// Files a person hands to the CLI (certificate, private key): read whole, so their size is bounded while reading.
// A certificate with its chain is a few kilobytes; a wrong file of gigabytes must be refused at once, not read.
import { open } from 'node:fs/promises';
import { UsageError } from './cli';

const MAX_INPUT_BYTES = 1024 * 1024;

function problem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? String(err);
}

/** The text of `file`, given with `option`; a UsageError naming both when it cannot be read or is too large. */
export async function readInputFile(file: string, option: string): Promise<string> {
  const cannot = (why: string) => new UsageError(`${option} ${file}: ${why}`);
  const handle = await open(file, 'r').catch((err: unknown) => {
    throw cannot(problem(err));
  });
  try {
    // One byte more than allowed tells "too large" from "exactly the limit" without a stat (pipes have no size).
    const buffer = Buffer.alloc(MAX_INPUT_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length).catch((err: unknown) => {
        throw cannot(problem(err));
      });
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_INPUT_BYTES) throw cannot(`larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB; such a file is a few kilobytes`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}
