// A server that is a folder on the worker's machine: `<path>/<crt_name>.key` and `.crt`, plus the HTTP-01
// folder `acme_dir` served by the web server at /.well-known/acme-challenge/.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ServerSpec } from '../../../blueprint/types';
import { assertChallengeToken } from '../../challenge';
import { PluginConfigError, fsError } from '../../errors';
import { PUBLIC_FILE_MODE, assertFileName, deployPairAtomic, readFileIfExists, writeFileAtomic } from '../../fs-atomic';
import { joinPem } from '../../../x509';
import type { DeployPair, ServerFactory, ServerPlugin } from '../../types';

export const createLocalServer: ServerFactory = (spec) => new LocalServer(spec);

class LocalServer implements ServerPlugin {
  private readonly folder: string;
  private readonly acmeDir: string | undefined;
  private readonly subject: string;

  constructor(readonly spec: ServerSpec) {
    const { path: folder, acme_dir: acmeDir } = spec.parameters;
    this.subject = typeof folder === 'string' ? `local:${folder}` : `server ${spec.id}`;
    if (typeof folder !== 'string' || folder === '') throw new PluginConfigError(this.subject, "the local server needs a 'path'");
    assertFileName(spec.crtName, 'crt_name', this.subject);
    this.folder = folder;
    this.acmeDir = typeof acmeDir === 'string' && acmeDir !== '' ? acmeDir : undefined;
  }

  describe(): string {
    return this.subject;
  }

  async readCurrent(): Promise<{ certificate: string; key: string | null } | null> {
    const certificate = await readFileIfExists(this.subject, this.file('crt'));
    if (certificate === null) return null;
    return { certificate, key: await readFileIfExists(this.subject, this.file('key')) };
  }

  async deploy(pair: DeployPair): Promise<void> {
    await deployPairAtomic(this.subject, {
      keyPath: this.file('key'),
      key: pair.key,
      certificatePath: this.file('crt'),
      certificate: this.spec.parameters.deploy_full_chain === true ? pair.fullChain : joinPem([pair.certificate]),
    });
  }

  async putChallenge(token: string, content: string): Promise<void> {
    await writeFileAtomic(this.subject, this.challengeFile(token), content, PUBLIC_FILE_MODE);
  }

  async removeChallenge(token: string): Promise<void> {
    const file = this.challengeFile(token);
    await fs.rm(file, { force: true }).catch((err: unknown) => {
      throw fsError(this.subject, `cannot remove ${file}`, err);
    });
  }

  async close(): Promise<void> {}

  private file(kind: 'key' | 'crt'): string {
    return path.join(this.folder, `${this.spec.crtName}.${kind}`);
  }

  private challengeFile(token: string): string {
    if (!this.acmeDir) {
      throw new PluginConfigError(this.subject, "HTTP-01 validation needs 'acme_dir', the folder served at /.well-known/acme-challenge/");
    }
    assertChallengeToken(token, this.subject);
    return path.join(this.acmeDir, token);
  }
}
