// A real OpenSSH server for integration tests (SSH servers, git over ssh): `sshd -D -e` on a free loopback port
// with its own generated host key, a generated user key authorised for the user running the tests, and every
// file in one temporary folder. Fails loudly when sshd or ssh-keygen is missing: a skipped test proves nothing.
//
//   const sshd = await startSshd();
//   sshd.host, sshd.port                  // 127.0.0.1 and the port it listens on
//   sshd.username                         // the user running the tests (root in CI: PermitRootLogin prohibit-password)
//   sshd.userKeyFile                      // private key (ed25519, no passphrase) accepted for that user
//   sshd.hostKeyFingerprint               // 'SHA256:...' as `ssh-keygen -l` prints it
//   sshd.knownHostsFile                   // a known_hosts file holding one line for [127.0.0.1]:<port>
//   sshd.sshCommand                       // `ssh -i <key> -o UserKnownHostsFile=<file> -p <port> ...` (GIT_SSH_COMMAND)
//   await sshd.kill();                    // the server goes down (connections refused) ...
//   await sshd.start();                   // ... and comes back on the same port with the same keys
//   await sshd.stop();                    // down for good; the temporary folder is removed
//
// `startSshd({ failRenameTo: '.crt' })` serves SFTP through a proxy that answers every posix-rename whose target
// ends with that suffix with SSH_FX_FAILURE, as a full disk or a dying server would: a deploy fails half-way.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/worker/dev-server';
import { systemBinary } from './system-binary';

const execFileAsync = promisify(execFile);

export interface TestSshd {
  host: string;
  port: number;
  username: string;
  userKeyFile: string;
  hostKeyFingerprint: string;
  knownHostsFile: string;
  /** An `ssh` command line that logs in with the user key and checks the host key; append the host. */
  sshCommand: string;
  /** The folder holding keys, config and logs (removed by `stop`). */
  dir: string;
  /** Everything sshd wrote to stderr so far (it logs there with -e): handy in assertion messages. */
  log(): string;
  /** Stops the server process only; `start` brings it back. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/** A blueprint `ssh` server entry logging in with the sshd's user key and checking its host key against its known_hosts. */
export function sshServerEntry(sshd: TestSshd, folder: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'ssh',
    parameters: {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      private_key_file: sshd.userKeyFile,
      known_hosts_file: sshd.knownHostsFile,
      path: folder,
      ...extra,
    },
  };
}

export interface SshdOptions {
  /** Fail every SFTP posix-rename whose new path ends with this. */
  failRenameTo?: string;
}

/** Where Debian and other distributions put the external SFTP server (needed only behind the fault proxy). */
const SFTP_SERVERS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/libexec/sftp-server'];

const STARTUP_TIMEOUT_MS = 10_000;

async function keygen(file: string, comment: string): Promise<void> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** The SHA256 fingerprint as OpenSSH prints it, from ssh-keygen itself so tests do not check code against itself. */
async function fingerprintOf(publicKeyFile: string): Promise<string> {
  const { stdout } = await execFileAsync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyFile]);
  const found = /SHA256:[A-Za-z0-9+/]+/.exec(stdout);
  if (!found) throw new Error(`ssh-keygen -l printed no SHA256 fingerprint: ${stdout}`);
  return found[0];
}

async function sftpSubsystem(opts: SshdOptions): Promise<string> {
  if (opts.failRenameTo === undefined) return 'internal-sftp';
  const found = await Promise.all(
    SFTP_SERVERS.map((p) =>
      fs.access(p).then(
        () => p,
        () => null,
      ),
    ),
  );
  const server = found.find((p) => p !== null);
  if (!server) throw new Error(`no sftp-server binary (looked in ${SFTP_SERVERS.join(', ')})`);
  // sshd splits the Subsystem line on spaces: the arguments must not contain any.
  return [process.execPath, path.join(__dirname, 'sftp-fault.js'), server, opts.failRenameTo].join(' ');
}

export async function startSshd(opts: SshdOptions = {}): Promise<TestSshd> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-sshd-'));
  try {
    const host = '127.0.0.1';
    const port = await freePort();
    const username = os.userInfo().username;
    const hostKey = path.join(dir, 'host_ed25519');
    const userKeyFile = path.join(dir, 'user_ed25519');
    await Promise.all([keygen(hostKey, 'autossl-test-host'), keygen(userKeyFile, 'autossl-test-user')]);
    const hostPublic = (await fs.readFile(`${hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
    const knownHostsFile = path.join(dir, 'known_hosts');
    await fs.writeFile(knownHostsFile, `[${host}]:${port} ${hostPublic}\n`);
    await fs.copyFile(`${userKeyFile}.pub`, path.join(dir, 'authorized_keys'));
    const config = path.join(dir, 'sshd_config');
    await fs.writeFile(
      config,
      [
        `ListenAddress ${host}:${port}`,
        `HostKey ${hostKey}`,
        `PidFile ${path.join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
        // The key files live in a world-readable temporary folder.
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'LogLevel INFO',
        `Subsystem sftp ${await sftpSubsystem(opts)}`,
        '',
      ].join('\n'),
    );
    // The privilege separation folder sshd insists on; it exists wherever the openssh-server service ran.
    await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });

    // sshd re-executes itself and so must be started by absolute path.
    const sshd = await systemBinary('sshd', 'openssh-server');
    let child: ChildProcess | undefined;
    let stderr = '';
    const start = async (): Promise<void> => {
      if (child) return;
      const proc = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = proc;
      proc.once('exit', () => {
        if (child === proc) child = undefined;
      });
      // After a restart the log already says it listened once.
      const from = stderr.length;
      proc.stderr!.setEncoding('utf8').on('data', (text: string) => {
        stderr += text;
      });
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: Error) => {
          clearTimeout(timer);
          proc.stderr!.off('data', onData);
          proc.off('exit', onExit).off('error', settle);
          if (!err) return resolve();
          proc.kill('SIGKILL');
          reject(err);
        };
        const onData = () => {
          if (stderr.indexOf(`Server listening on ${host} port ${port}`, from) >= 0) settle();
        };
        const onExit = (code: number | null) => settle(new Error(`sshd exited with status ${code}:\n${stderr}`));
        const timer = setTimeout(() => settle(new Error(`sshd did not listen within ${STARTUP_TIMEOUT_MS} ms:\n${stderr}`)), STARTUP_TIMEOUT_MS);
        proc.stderr!.on('data', onData);
        proc.once('exit', onExit).once('error', settle);
      });
    };
    const kill = async (): Promise<void> => {
      const proc = child;
      if (!proc) return;
      child = undefined;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    };

    const hostKeyFingerprint = await fingerprintOf(`${hostKey}.pub`);
    await start();
    return {
      host,
      port,
      username,
      userKeyFile,
      hostKeyFingerprint,
      knownHostsFile,
      sshCommand: `ssh -i ${userKeyFile} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHostsFile} -o StrictHostKeyChecking=yes -o BatchMode=yes -p ${port}`,
      dir,
      log: () => stderr,
      kill,
      start,
      async stop() {
        await kill();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}
