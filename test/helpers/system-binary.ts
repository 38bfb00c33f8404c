// Daemons and their tools live in sbin folders, which a non-root user's PATH often lacks.
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

/** Absolute path of `name` on PATH or in the usual sbin folders; the error names the Debian package to install. */
export async function systemBinary(name: string, debianPackage: string): Promise<string> {
  const folders = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const folder of folders) {
    const candidate = path.join(folder, name);
    if (
      await fs.access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  throw new Error(`no ${name} found on PATH or in the sbin folders: install ${debianPackage}`);
}
