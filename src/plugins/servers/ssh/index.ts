// A server reached over SSH: `<path>/<crt_name>.key` and `.crt` written over SFTP with the same all-or-nothing
// logic as local files (fs-atomic), then an optional reload command and an optional TLS check that the endpoint
// serves the new certificate. The host key is checked against known_hosts or a pinned fingerprint before
// anything is sent. One connection per plugin instance, opened on first use and closed by close().
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import type { Client } from 'ssh2';
import type { ServerSpec } from '../../../blueprint/types';
import { joinPem } from '../../../x509';
import { assertChallengeToken } from '../../challenge';
import { PluginConfigError } from '../../errors';
import { PUBLIC_FILE_MODE, deployFilesOnce, writeFileAtomic } from '../../fs-atomic';
import type { DeployPair, PluginContext, ServerFactory, ServerPlugin } from '../../types';
import { reload } from './command';
import { openSession } from './connection';
import { readSettings, type Settings } from './settings';
import { readIfExists, sftpFileOps, type Session } from './sftp';
import { verifyServed } from './verify';

export const createSshServer: ServerFactory = (spec, ctx) => new SshServer(spec, ctx);

class SshServer implements ServerPlugin {
  private readonly subject: string;
  private readonly settings: Settings;
  private session: Promise<Session> | undefined;
  private client: Client | undefined;

  constructor(
    readonly spec: ServerSpec,
    private readonly ctx: PluginContext,
  ) {
    ({ subject: this.subject, settings: this.settings } = readSettings(spec));
  }

  describe(): string {
    return this.subject;
  }

  async readCurrent(): Promise<{ certificate: string; key: string | null } | null> {
    return this.run(async ({ sftp }) => {
      const certificate = await readIfExists(this.subject, sftp, this.file('crt'));
      if (certificate === null) return null;
      return { certificate, key: await readIfExists(this.subject, sftp, this.file('key')) };
    });
  }

  async deploy(pair: DeployPair): Promise<void> {
    const certificate = this.spec.parameters.deploy_full_chain === true ? pair.fullChain : joinPem([pair.certificate]);
    await this.run(async (session) => {
      // A retried deploy finds its files in place and only reloads and verifies again.
      await deployFilesOnce(
        this.subject,
        [
          { path: this.file('key'), content: pair.key, mode: this.settings.keyMode },
          { path: this.file('crt'), content: certificate, mode: this.settings.certMode },
        ],
        sftpFileOps(this.subject, session, this.settings.ownership),
      );
      if (this.settings.reloadCommand) await reload(this.subject, session.client, this.settings.reloadCommand, this.ctx.activity());
      if (this.settings.verify) {
        const opts = {
          timeoutMs: this.settings.connectTimeoutMs,
          ...(this.settings.verifyServername && { servername: this.settings.verifyServername }),
        };
        await verifyServed(this.subject, this.settings.verify, new X509Certificate(pair.certificate), opts);
      }
    });
  }

  async putChallenge(token: string, content: string): Promise<void> {
    const file = this.challengeFile(token);
    await this.run((session) => writeFileAtomic(this.subject, file, content, PUBLIC_FILE_MODE, sftpFileOps(this.subject, session, {})));
  }

  async removeChallenge(token: string): Promise<void> {
    const file = this.challengeFile(token);
    await this.run(async (session) => {
      const ops = sftpFileOps(this.subject, session, {});
      await ops.remove(file).catch((err: unknown) => {
        throw ops.classify(this.subject, `cannot remove ${file}`, err);
      });
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.session = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 1_000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  private file(kind: 'key' | 'crt'): string {
    return path.posix.join(this.settings.folder, `${this.spec.crtName}.${kind}`);
  }

  private challengeFile(token: string): string {
    if (!this.settings.acmeDir) {
      throw new PluginConfigError(this.subject, "HTTP-01 validation needs 'acme_dir', the folder served at /.well-known/acme-challenge/");
    }
    assertChallengeToken(token, this.subject);
    return path.posix.join(this.settings.acmeDir, token);
  }

  /**
   * Runs `fn` on the (shared) connection. Inside an activity (which heartbeats, so a cancellation reaches it) a
   * cancellation drops the connection at once, which fails whatever SFTP call or command is pending. The plugin
   * sends no heartbeat of its own: one without the activity's details would erase them (the challenge ledger).
   */
  private async run<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const activity = this.ctx.activity();
    if (!activity) return fn(await this.connect());
    const signal = activity.cancellation;
    signal.throwIfAborted();
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.client?.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.connect().then(fn), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private connect(): Promise<Session> {
    const tracker = {
      opened: (client: Client) => (this.client = client),
      closed: (client: Client) => {
        if (this.client !== client) return;
        this.client = undefined;
        this.session = undefined;
      },
    };
    this.session ??= openSession({ subject: this.subject, settings: this.settings, spec: this.spec, ctx: this.ctx }, tracker).catch(
      (err: unknown) => {
        this.session = undefined;
        throw err;
      },
    );
    return this.session;
  }
}
