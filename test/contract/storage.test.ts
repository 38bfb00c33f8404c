// Every storage implementation against the storage contract. Adding a storage plugin = one line below.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ArtifactKind } from '../../src/blueprint/types';
import { openStorage } from '../../src/catalog/open';
import { isolateGit, startGitHttp } from '../helpers/git-http';
import { makeTempDir } from '../helpers/pki';
import { openBlueprint, sharedService } from './harness';
import { storageContract, type StorageUnderTest } from './storage';

const execFileAsync = promisify(execFile);

async function storageOf(
  storage: Record<string, unknown>,
  data: ArtifactKind[] | undefined,
  credentialEnv: Record<string, string> = {},
  more: Record<string, unknown> = {},
) {
  const opened = await openBlueprint({ storage: { ...storage, ...(data && { data: data.map((type) => ({ type })) }) }, ...more }, credentialEnv);
  const plugin = await openStorage(opened.blueprint, opened.env);
  if (!plugin) throw new Error('the blueprint has a storage');
  return { opened, storage: plugin };
}

const local = async ({ data }: { data?: ArtifactKind[] }): Promise<StorageUnderTest> => {
  const folder = await makeTempDir('autossl-contract-storage-');
  const { opened, storage } = await storageOf({ type: 'local', parameters: { path: folder } }, data);
  return {
    storage,
    mode: async (file) => (await fs.stat(path.join(folder, file))).mode & 0o777,
    secrets: [],
    teardown: async () => {
      await opened.teardown();
      await fs.rm(folder, { recursive: true, force: true });
    },
  };
};

// Characters that break a naively built URL, as the git storage's own tests use.
const GIT_USER = 'cert-bot@example.test';
const GIT_PASSWORD = 'p@ss:w/rd%40 #?&x';
const git = sharedService(
  async () => {
    const saved = { ...process.env };
    const dir = await fs.realpath(await makeTempDir('autossl-contract-git-'));
    // Neither the machine's nor the user's git configuration may change what git does here.
    await isolateGit(dir);
    await fs.mkdir(path.join(dir, 'http'));
    const http = await startGitHttp({ projectRoot: path.join(dir, 'http'), username: GIT_USER, password: GIT_PASSWORD });
    return { dir, http, saved, repos: 0 };
  },
  async ({ dir, http, saved }) => {
    await http.stop();
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await fs.rm(dir, { recursive: true, force: true });
  },
);

/** A new bare repository behind git's smart HTTP with Basic authentication, the password from a credential. */
const gitOverHttp = async ({ data }: { data?: ArtifactKind[] }): Promise<StorageUnderTest> => {
  const server = await git.get();
  const repo = `contract-${server.repos++}.git`;
  await execFileAsync('git', ['init', '-q', '--bare', '-b', 'main', path.join(server.dir, 'http', repo)]);
  const { opened, storage } = await storageOf(
    { type: 'git', credentials: 'git_http', parameters: { git_url: server.http.urlOf(repo), folder: 'certs' } },
    data,
    { GIT_HTTP_USERNAME: GIT_USER, GIT_HTTP_PASSWORD: GIT_PASSWORD },
    { credentials: { git_http: { type: 'UserPassword' } } },
  );
  // The working clone on the worker's disk is where the files have modes.
  const clones = path.join(process.env.AUTOSSL_DATA_DIR!, 'git');
  const mode = async (file: string): Promise<number> => {
    for (const clone of await fs.readdir(clones)) {
      const stat = await fs.stat(path.join(clones, clone, 'certs', file)).catch(() => null);
      if (stat) return stat.mode & 0o777;
    }
    throw new Error(`${file} is in no working clone under ${clones}`);
  };
  return { storage, mode, secrets: [GIT_PASSWORD, encodeURIComponent(GIT_PASSWORD)], teardown: opened.teardown };
};

storageContract('local', local);
storageContract('git (smart HTTP, password credential)', gitOverHttp);
