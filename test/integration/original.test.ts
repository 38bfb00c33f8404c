// Side by side with the original AutoSSL (0.9.9 from PyPI): both tools run on the same blueprints, written in the
// original's format with every key its public test data uses, and on the same folders and git repository. What
// one tool issued and deployed, the other must accept: an AutoSSL setup keeps working when a team switches, and
// can switch back.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseCertificate } from '../../src/x509';
import { runCli, type CliResult } from '../helpers/cli';
import { runOriginal, upToDateInOriginal } from '../helpers/original';
import { makeCa, makeTempDir, type TestCa } from '../helpers/pki';

const execFileAsync = promisify(execFile);
const NAMES = ['localca.example.test', 'ov.example.test', 'subca.example.test'];

const indent = (text: string, spaces: number) =>
  text
    .trim()
    .split('\n')
    .map((l) => `${' '.repeat(spaces)}${l}`)
    .join('\n');

/** The global config (--config): AutoSSL's three CA kinds, the organisation; the local CA keeps no storage of its own. */
const config = (ca: TestCa) => `---
certificate_authorities:
  - name: AutoSSL
    key: autossl
    type: autossl.ca_manager.local.LocalCa
    certificate_types: ['DV', 'OV']
    parameters:
      ca_private_key: autossl_ca.key
      ca_certificate: autossl_ca.crt
      certificate_validity_days: 60
    chain_of_trust:
      - |
${indent(ca.certPem, 8)}
  - name: Sectigo
    key: Sectigo
    certificate_types: ['OV', 'DV']
  - name: Let’s Encrypt
    key: LetsEncrypt
    type: autossl.ca_manager.acme_v2_http01.AcmeHttp01
    certificate_types: ['DV']
    acme_api:
      production: https://acme-v02.api.letsencrypt.org
      staging: https://acme-staging-v02.api.letsencrypt.org
    storage:
      type: autossl.storage.local.LocalFileStorage
      name: lets_encrypt_account_key
      parameters:
        path: \${AUTOSSL_STORAGE_PATH}/acme
organization:
  company_name: Autossl corporation
  street_address: Newbury street
  city: Boston
  state: Massachusetts
  postal_code: '02115'
  country_code: US
...
`;

/** The artifacts in a local folder, as the original's own test blueprints keep them. */
const LOCAL_STORAGE = `storage:
  type: autossl.storage.local.LocalFileStorage
  parameters:
    path: \${AUTOSSL_STORAGE_PATH}
  data:
    - type: key
    - type: csr
    - type: crt`;

/** DV from the local CA, two servers (one by $VAR, one with the full chain), local storage and tracking. */
const localBlueprint = `---
name: localca.example.test
certificate:
  type: DV
  renewal_delay: 30
  certificate_authority: autossl
  private_key_reuse: true
  exact_match: true
  common_name: localca.example.test
  san:
    - localca.example.test
    - tst.localca.example.test
servers:
  - type: autossl.server.local.LocalServer
    parameters:
      path: \${AUTOSSL_CRT_PATH}
  - type: autossl.server.local.LocalServer
    parameters:
      path: $AUTOSSL_CRT_PATH_2
      deploy_full_chain: true
${LOCAL_STORAGE}
tracking:
  type: autossl.tracking.local.LocalFileTracking
  parameters:
    log_folder: \${AUTOSSL_TRACKING_PATH}
  data:
    - type: yaml
    - type: csr
    - type: crt
...
`;

/**
 * OV with its own organisation and a larger RSA key, kept in git (with the original's committer keys), crt_name.
 * The git storage names no credential: the original loses a file:// URL when given one.
 */
const gitBlueprint = (remote: string) => `---
name: ov.example.test
certificate:
  type: OV
  renewal_delay: 30
  certificate_authority: autossl
  exact_match: false
  private_key_reuse: false
  private_key_size: 3072
  common_name: ov.example.test
  san:
    - ov.example.test
    - uat.ov.example.test
  organization:
    company_name: Autossl corporation
    street_address: Newbury street
    city: Boston
    state: Massachusetts
    postal_code: '02115'
    country_code: US
servers:
  - type: autossl.server.local.LocalServer
    parameters:
      path: \${AUTOSSL_CRT_PATH}
      crt_name: ov_site
storage:
  type: autossl.storage.gitscm.GitStorage
  parameters:
    git_url: file://${remote}
    config_user_name: Test User
    config_user_email: test.user@autossl.example.test
  data:
    - type: key
    - type: csr
    - type: crt
credentials:
  credential_1:
    type: UserPassword
  credential_2:
    type: UserPassword
...
`;

/** A sub-CA certificate (is_ca) with no server at all. */
const subCaBlueprint = `---
name: subca.example.test
certificate:
  type: DV
  renewal_delay: 30
  certificate_authority: autossl
  private_key_reuse: true
  exact_match: true
  common_name: subca.example.test
  is_ca: true
  san:
    - subca.example.test
${LOCAL_STORAGE}
...
`;

const explain = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

describe('side by side with the original AutoSSL', () => {
  let dir: string;
  let ca: TestCa;

  before(async () => {
    dir = await makeTempDir('autossl-original-');
    // RSA, as the original's own test CA: it is the CA a team already has.
    ca = await makeCa({ commonName: 'Autossl test CA', key: { type: 'rsa', bits: 2048 } });
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  /** A fresh site: CA files at the original's names in each storage, folders, a bare git repository, the blueprints. */
  async function site(name: string) {
    const root = path.join(dir, name);
    const p = (...parts: string[]) => path.join(root, ...parts);
    const env = {
      AUTOSSL_CRT_PATH: p('web-1'),
      AUTOSSL_CRT_PATH_2: p('web-2'),
      AUTOSSL_STORAGE_PATH: p('storage'),
      AUTOSSL_TRACKING_PATH: p('tracking'),
      // Each tool's git uses this site's configuration only.
      HOME: p('home'),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: p('home', '.gitconfig'),
      AUTOSSL_DATA_DIR: p('data'),
      TEMPORAL_ADDRESS: '',
    };
    for (const folder of ['web-1', 'web-2', 'storage', 'tracking', 'home', 'blueprints']) await fs.mkdir(p(folder), { recursive: true });
    await fs.writeFile(p('storage', 'autossl_ca.key'), ca.keyPem, { mode: 0o600 });
    await fs.writeFile(p('storage', 'autossl_ca.crt'), ca.certPem);

    const git = (...args: string[]) => execFileAsync('git', args, { env: { ...process.env, ...env } });
    const remote = p('artifacts.git');
    await git('init', '-q', '--bare', '-b', 'main', remote);
    const seed = p('seed');
    await git('clone', '-q', remote, seed);
    await fs.copyFile(p('storage', 'autossl_ca.key'), path.join(seed, 'autossl_ca.key'));
    await fs.copyFile(p('storage', 'autossl_ca.crt'), path.join(seed, 'autossl_ca.crt'));
    await git('-C', seed, 'add', '.');
    await git('-C', seed, '-c', 'user.name=PKI team', '-c', 'user.email=pki@example.test', 'commit', '-q', '-m', 'the CA');
    await git('-C', seed, 'push', '-q', 'origin', 'HEAD:main');

    await fs.writeFile(p('config.yaml'), config(ca));
    await fs.writeFile(p('blueprints', 'localca.example.test.yaml'), localBlueprint);
    await fs.writeFile(p('blueprints', 'ov.example.test.yaml'), gitBlueprint(remote));
    await fs.writeFile(p('blueprints', 'subca.example.test.yaml'), subCaBlueprint);
    const args = ['--config', p('config.yaml'), '--blueprint', p('blueprints'), '--credentials', 'credential_1:git-user:git-password'];
    const original = (blueprint: string, ...action: string[]) =>
      runOriginal(['--config', p('config.yaml'), '--blueprint', blueprint, ...action], { cwd: root, env, input: 'y\n'.repeat(NAMES.length) });
    return {
      root,
      p,
      original: (...action: string[]) => original(p('blueprints'), ...action),
      /** The original's deploy takes one blueprint file at a time. */
      async originalDeploy(): Promise<void> {
        for (const name of NAMES) {
          const result = await original(p('blueprints', `${name}.yaml`), 'deploy');
          assert.equal(result.code, 0, `${name}: ${explain(result)}`);
        }
      },
      ours: (...action: string[]) => runCli([...args, '--data-dir', p('data'), ...action], { cwd: root, env }),
      git,
      remote,
    };
  }

  /** Our `check --json`: the verdict per certificate. */
  async function ourVerdicts(run: () => Promise<CliResult>): Promise<Record<string, string>> {
    const result = await run();
    assert.equal(result.code, 0, explain(result));
    const { certificates } = JSON.parse(result.stdout) as { certificates: { name: string; verdict: string }[] };
    return Object.fromEntries(certificates.map((c) => [c.name, c.verdict]));
  }

  it("what the original issued and deployed, this project's check reports up to date", async () => {
    const s = await site('original-first');
    const renew = await s.original('renew');
    assert.equal(renew.code, 0, explain(renew));
    await s.originalDeploy();
    const check = await s.original('check');
    assert.deepEqual(upToDateInOriginal(check.stderr).sort(), NAMES, explain(check));
    await fs.access(s.p('web-1', 'ov_site.crt'));

    assert.deepEqual(await ourVerdicts(() => s.ours('check', '--json')), Object.fromEntries(NAMES.map((n) => [n, 'up-to-date'])));
  });

  it("what this project issued with the original's LocalCa layout, the original's check accepts and its deploy deploys", async () => {
    const s = await site('ours-first');
    const renew = await s.ours('renew', '--yes');
    assert.equal(renew.code, 0, explain(renew));
    assert.deepEqual(await ourVerdicts(() => s.ours('check', '--json')), Object.fromEntries(NAMES.map((n) => [n, 'up-to-date'])));
    const stored = await fs.readdir(s.p('storage'));
    assert.deepEqual(
      stored.filter((f) => f.includes('pending')),
      [],
      'no pending artifact left',
    );
    assert.deepEqual(
      stored.filter((f) => f.startsWith('autossl_ca')).sort(),
      ['autossl_ca.crt', 'autossl_ca.key'],
      'the CA files were used, none made',
    );

    const check = await s.original('check');
    assert.deepEqual(upToDateInOriginal(check.stderr).sort(), NAMES, explain(check));

    // A server that lost its files gets ours back from the original's deploy.
    await fs.rm(s.p('web-2'), { recursive: true });
    await fs.mkdir(s.p('web-2'));
    await s.originalDeploy();
    const ourLeaf = parseCertificate(await fs.readFile(s.p('storage', 'localca.example.test.crt'), 'utf8'));
    assert.equal(parseCertificate(await fs.readFile(s.p('web-2', 'localca.example.test.crt'), 'utf8')).serial, ourLeaf.serial);
    assert.equal(
      await fs.readFile(s.p('web-2', 'localca.example.test.key'), 'utf8'),
      await fs.readFile(s.p('storage', 'localca.example.test.key'), 'utf8'),
    );
  });
});
