// A tiny tmpfs for "disk full" tests: mounted on an empty folder, filled up to ENOSPC, freed again. Mounting needs
// root (or CAP_SYS_ADMIN); where it is refused, `mountTmpfs` says why instead of throwing, so the caller can skip.
//
//   const disk = await mountTmpfs(folder, '64k');
//   if ('refused' in disk) return t.skip(disk.refused);
//   await disk.fill();          // a filler file takes every free byte: the next write fails with ENOSPC
//   await disk.free();          // the filler is gone
//   await disk.unmount();       // in after(), even when the test failed; safe to call twice
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { errnoCode } from '../../src/plugins/errors';

const execFileAsync = promisify(execFile);

const FILLER = 'filler.bin';

export interface Tmpfs {
  folder: string;
  fill(): Promise<void>;
  free(): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountTmpfs(folder: string, size: string): Promise<Tmpfs | { refused: string }> {
  await fs.mkdir(folder, { recursive: true });
  try {
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', folder]);
  } catch (err) {
    const said = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    return { refused: `cannot mount a tmpfs on ${folder} (needs root): ${said}` };
  }
  let mounted = true;
  const filler = path.join(folder, FILLER);
  return {
    folder,
    async fill() {
      const handle = await fs.open(filler, 'a');
      const chunk = Buffer.alloc(4096, 0x2e);
      try {
        for (;;) await handle.write(chunk);
      } catch (err) {
        if (errnoCode(err) !== 'ENOSPC') throw err;
      } finally {
        await handle.close();
      }
    },
    free: () => fs.rm(filler, { force: true }),
    async unmount() {
      if (!mounted) return;
      // Lazy: a process still holding a file there must not keep the mount (and the test's folder) alive.
      await execFileAsync('umount', ['-l', folder]);
      mounted = false;
    },
  };
}
