import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BlueprintError, formatIssue, type BlueprintIssue } from '../../src/blueprint/errors';
import type { LoadOptions } from '../../src/blueprint/load';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/blueprints');
const fixture = (...parts: string[]): string => path.join(FIXTURES, ...parts);
const CONFIG = fixture('config.yaml');
const ENV = { DATA_DIR: '/srv/autossl' };

async function issuesOf(opts: Omit<LoadOptions, 'catalog'>): Promise<BlueprintIssue[]> {
  const error = await loadBlueprints({ env: ENV, ...opts }).then(
    () => assert.fail('expected a BlueprintError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BlueprintError, String(error));
  return error.issues;
}

/** Line and column (1-based) of the first occurrence of `snippet` in a fixture. */
function placeOf(file: string, snippet: string): { line: number; column: number } {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(snippet);
  assert.ok(at >= 0, `${snippet} not in ${file}`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** Asserts one issue matches `message` and points at `snippet` in `file`. */
function expectIssue(issues: BlueprintIssue[], file: string, snippet: string, message: RegExp): void {
  const matching = issues.filter((i) => message.test(i.message));
  assert.equal(matching.length, 1, `one issue matching ${message} expected in:\n${issues.map(formatIssue).join('\n')}`);
  assert.deepEqual({ file: matching[0].file, line: matching[0].line, column: matching[0].column }, { file, ...placeOf(file, snippet) });
}

const byName = (blueprints: Blueprint[], name: string): Blueprint => {
  const found = blueprints.find((b) => b.name === name);
  assert.ok(found, `no blueprint ${name}`);
  return found;
};

describe('loadBlueprints: a folder with a global config', () => {
  const load = () => loadBlueprints({ blueprint: fixture('ok'), config: CONFIG, env: ENV });

  it('finds *.yaml and *.yml recursively in sorted path order, skipping hidden and other files', async () => {
    const blueprints = await load();
    assert.deepEqual(
      blueprints.map((b) => [b.name, path.relative(FIXTURES, b.source.blueprint)]),
      [
        ['www.example.test', path.join('ok', 'a.yaml')],
        ['api.example.test', path.join('ok', 'b', 'c.yml')],
        ['defaults.example.test', path.join('ok', 'd.yaml')],
      ],
    );
    assert.equal(blueprints[0].source.config, CONFIG);
  });

  it('expands a global host placeholder to one server per host; parameters win over host', async () => {
    const www = byName(await load(), 'www.example.test');
    assert.deepEqual(
      www.servers.map((s) => ({ id: s.id, host: s.host, paramHost: s.parameters.host, crtName: s.crtName })),
      [
        { id: 'local:web-1.example.test:/etc/ssl/www', host: 'web-1.example.test', paramHost: 'web-1.example.test', crtName: 'www.example.test' },
        { id: 'local:web-2.example.test:/etc/ssl/www', host: 'web-2.example.test', paramHost: 'web-2.example.test', crtName: 'www.example.test' },
        { id: 'local:static.example.test:/etc/ssl/static', host: 'static.example.test', paramHost: undefined, crtName: 'static' },
      ],
    );
    assert.equal(www.servers[0].credentials, 'deploy');
    assert.deepEqual(www.servers[0].credentialsParameters, { username: 'deployer' });
    assert.equal(www.servers[2].parameters.deploy_full_chain, true);
  });

  it('merges shallowly: a blueprint key replaces the global one whole, absent keys come from the global config', async () => {
    const blueprints = await load();
    const www = byName(blueprints, 'www.example.test');
    const api = byName(blueprints, 'api.example.test');
    // Inherited global storage, with ${DATA_DIR} expanded and its own data list.
    assert.deepEqual(www.storage, {
      type: 'local',
      declaredType: 'autossl.storage.local.LocalFileStorage',
      parameters: { path: '/srv/autossl/storage' },
      data: ['key', 'crt'],
    });
    // The blueprint's storage replaces the global one: no global path, no global data list.
    assert.deepEqual(api.storage, {
      type: 'local',
      declaredType: 'local',
      parameters: { path: '/srv/api-storage' },
      data: ['key', 'csr', 'crt', 'yaml'],
    });
    assert.equal(api.tracking?.parameters.log_folder, '/srv/autossl/logs');
    assert.deepEqual(Object.keys(api.credentials), ['deploy', 'git_credentials']);
    assert.deepEqual(api.credentials.git_credentials, { type: 'UserPassword', separator: '|' });
  });

  it('OV takes the top-level organization; the chain of trust defaults to the CA one', async () => {
    const api = byName(await load(), 'api.example.test');
    assert.equal(api.certificate.type, 'OV');
    assert.equal(api.certificate.organization?.postal_code, '02115');
    assert.equal(api.certificate.chainOfTrust.length, 1);
    assert.match(api.certificate.chainOfTrust[0], /BEGIN CERTIFICATE/);
  });

  it('keeps defaults where keys are absent or null', async () => {
    const d = byName(await load(), 'defaults.example.test');
    assert.deepEqual(d.servers, []);
    assert.equal(d.certificate.renewalDelayDays, 30);
    assert.equal(d.certificate.exactMatch, false);
    assert.equal(d.certificate.privateKeyReuse, false);
    assert.equal(d.certificate.isCa, false);
    assert.deepEqual(d.certificate.key, { type: 'rsa', bits: 2048 });
    // `organization: ~` keeps the global organization.
    assert.equal(d.organization?.company_name, 'Autossl corporation');
    const ca = d.certificateAuthorities.find((c) => c.key === 'Sectigo');
    assert.deepEqual([ca?.type, ca?.declaredType, ca?.name, ca?.certificateTypes], ['manual', 'manual', 'Sectigo', ['DV', 'OV', 'EV']]);
  });

  it('normalises domains: lower case, IDN as punycode, common name first, no duplicates', async () => {
    const www = byName(await load(), 'www.example.test');
    assert.equal(www.certificate.commonName, 'www.example.test');
    assert.deepEqual(www.certificate.domains, ['www.example.test', 'xn--bcher-kva.example.test', '*.cdn.example.test']);
    assert.deepEqual(www.certificate.san, ['www.example.test', 'xn--bcher-kva.example.test', '*.cdn.example.test']);
    assert.equal(www.certificate.exactMatch, true);
  });

  it('maps private_key_type and private_key_size to a key spec', async () => {
    const api = byName(await load(), 'api.example.test');
    assert.deepEqual(api.certificate.key, { type: 'ec', curve: 'P-384' });
    assert.equal(api.certificate.renewalDelayDays, 10);
    const [single] = await loadBlueprints({ blueprint: fixture('single.yaml'), env: { ACME_DIR: '/var/acme' } });
    assert.deepEqual(single.certificate.key, { type: 'rsa', bits: 4096 });
  });

  it('gives servers with the same path distinct ids', async () => {
    const api = byName(await load(), 'api.example.test');
    assert.deepEqual(
      api.servers.map((s) => s.id),
      ['local:/etc/ssl/api', 'local:/etc/ssl/api#2'],
    );
  });

  it('treats a CA named where no certificate_authorities exist at all as manual, as AutoSSL does', async () => {
    const [site] = await loadBlueprints({ blueprint: fixture('with-config', 'site.yaml') });
    assert.deepEqual(site.certificateAuthorities, [
      {
        name: 'Internal',
        key: 'Internal',
        type: 'manual',
        declaredType: 'manual',
        certificateTypes: ['DV', 'OV', 'EV'],
        chainOfTrust: [],
        parameters: {},
      },
    ]);
  });

  it('does not read the global config as a blueprint when it sits in the blueprint folder', async () => {
    const blueprints = await loadBlueprints({ blueprint: fixture('with-config'), config: fixture('with-config', 'global.yaml') });
    assert.deepEqual(
      blueprints.map((b) => b.name),
      ['site.example.test'],
    );
  });
});

describe('loadBlueprints: one file holding blueprint and global config', () => {
  it('accepts AutoSSL class paths and records declared and canonical types', async () => {
    const [b] = await loadBlueprints({ blueprint: fixture('single.yaml'), env: { ACME_DIR: '/var/acme' } });
    assert.deepEqual(
      b.servers.map((s) => [s.type, s.declaredType]),
      [
        ['local', 'autossl.server.local.LocalServer'],
        ['local', 'autossl.server.local.LocalServer'],
      ],
    );
    assert.equal(b.servers[1].parameters.acme_dir, '/var/acme/challenges');
    assert.deepEqual(
      b.certificateAuthorities.map((c) => [c.key, c.type, c.declaredType]),
      [
        ['LocalCA', 'local-ca', 'autossl.ca_manager.local.LocalCa'],
        ['Nobody', 'manual', 'autossl.ca_manager.base.CaManager'],
      ],
    );
    assert.deepEqual(b.certificateAuthorities[0].storage, {
      type: 'local',
      declaredType: 'autossl.storage.local.LocalFileStorage',
      parameters: { path: '/etc/ca' },
    });
    assert.deepEqual(
      [b.tracking?.type, b.tracking?.declaredType, b.tracking?.data],
      ['local', 'autossl.tracking.local.LocalFileTracking', ['csr', 'crt', 'yaml']],
    );
    assert.deepEqual(b.source, { blueprint: fixture('single.yaml') });
  });
});

describe('loadBlueprints: YAML anchors', () => {
  it('resolves aliases and << merge keys, keys written beside a merge winning', async () => {
    const [b] = await loadBlueprints({ blueprint: fixture('anchors.yaml') });
    assert.deepEqual(
      b.servers.map((s) => s.parameters),
      [
        { path: '/etc/ssl/one', deploy_full_chain: true },
        { path: '/etc/ssl/two', deploy_full_chain: true },
      ],
    );
  });

  it('refuses an alias that refers to itself', async () => {
    const file = fixture('errors', 'alias-loop.yaml');
    expectIssue(await issuesOf({ blueprint: file }), file, '*servers', /^alias \*servers refers to itself$/);
  });

  it('refuses an alias bomb instead of expanding it', async () => {
    const file = fixture('errors', 'alias-bomb.yaml');
    const issues = await issuesOf({ blueprint: file });
    assert.deepEqual(
      issues.map((i) => [i.file, i.message]),
      [[file, 'more than 1000 aliases']],
    );
  });
});

describe('loadBlueprints: AutoSSL validation rules, each with file and line', () => {
  it('1. refuses a certificate authority that is not defined', async () => {
    const file = fixture('rules', '1-unknown-ca.yaml');
    const issues = await issuesOf({ blueprint: file, config: CONFIG });
    expectIssue(issues, file, 'LetsEncrypt', /^Certificate authority 'LetsEncrypt' is not supported\. Expect one of \[Internal, Sectigo\]\.$/);
  });

  it('2. refuses OV, EV or no type without an organization', async () => {
    const ov = fixture('rules', '2-no-organization.yaml');
    expectIssue(await issuesOf({ blueprint: ov }), ov, 'OV', /certificate type OV needs an organization/);
    const untyped = fixture('rules', '2-no-type.yaml');
    expectIssue(await issuesOf({ blueprint: untyped }), untyped, 'certificate_authority', /certificate type \(none\) needs an organization/);
  });

  it('3. refuses a certificate with neither common_name nor san', async () => {
    const file = fixture('rules', '3-no-domain.yaml');
    expectIssue(await issuesOf({ blueprint: file, config: CONFIG }), file, 'type: DV', /needs a common_name or a san/);
  });

  it('4. refuses names that are not host names or *.wildcard host names', async () => {
    const file = fixture('rules', '4-bad-domains.yaml');
    const issues = await issuesOf({ blueprint: file, config: CONFIG });
    expectIssue(issues, file, "'under_score", /common_name 'under_score\.example\.test' is not a host name/);
    expectIssue(issues, file, "'test.*", /san 'test\.\*\.example\.test' is not a host name/);
    expectIssue(issues, file, "' padded", /san ' padded\.example\.test' is not a host name/);
    assert.equal(issues.length, 3, issues.map(formatIssue).join('\n'));
  });

  it('5. refuses a renewal_delay that is not an integer, true included', async () => {
    const file = fixture('rules', '5-renewal-delay.yaml');
    expectIssue(await issuesOf({ blueprint: file, config: CONFIG }), file, 'true', /^certificate\.renewal_delay must be an integer, not true$/);
  });

  it('6. refuses a certificate type the CA does not issue', async () => {
    const file = fixture('rules', '6-type-not-issued.yaml');
    const issues = await issuesOf({ blueprint: file, config: CONFIG });
    expectIssue(issues, file, 'EV', /^Certificate type EV is not supported by certificate authority 'Internal'\. Expect one of \[DV, OV\]\.$/);
  });

  it('7. refuses a credential missing from credentials: and an unknown credential type', async () => {
    const file = fixture('rules', '7-credentials.yaml');
    const issues = await issuesOf({ blueprint: file, config: CONFIG });
    expectIssue(issues, file, 'vault', /^credential 'vault' of storage is missing from credentials:$/);
    expectIssue(issues, file, 'LdapPassword', /^credentials\.ldap\.type is 'LdapPassword'; expect one of UserPassword, ApiKeyAndId, SshKey$/);
    assert.equal(issues.length, 2, issues.map(formatIssue).join('\n'));
  });
});

describe('loadBlueprints: other load-time errors', () => {
  it('names unknown keys at any level with a did-you-mean, and checks plugin types and parameters', async () => {
    const file = fixture('errors', 'typos.yaml');
    const issues = await issuesOf({ blueprint: file, config: CONFIG });
    expectIssue(issues, file, 'sna', /^unknown key 'sna' in certificate \(did you mean 'san'\?\)$/);
    expectIssue(issues, file, 'renewal_dely', /^unknown key 'renewal_dely' in certificate \(did you mean 'renewal_delay'\?\)$/);
    expectIssue(
      issues,
      file,
      'certificat_authorities',
      /^unknown key 'certificat_authorities' in the top level \(did you mean 'certificate_authorities'\?\)$/,
    );
    expectIssue(issues, file, 'department', /^unknown key 'department' in certificate\.organization$/);
    expectIssue(
      issues,
      file,
      'autossl.server.local.LocalSrever',
      /^unknown server type 'autossl\.server\.local\.LocalSrever' in servers\[0\]\.type; expect one of local, autossl\.server\.local\.LocalServer, ssh, autossl\.server\.ssh\.SshServer, incapsula, autossl\.server\.incapsula\.IncapsulaSite \(did you mean 'autossl\.server\.local\.LocalServer'\?\)$/,
    );
    expectIssue(issues, file, 'pth', /^unknown parameter 'pth' in servers\[1\]\.parameters of server type 'local' \(did you mean 'path'\?\)$/);
    expectIssue(issues, file, 'pth', /^missing parameter 'path' in servers\[1\]\.parameters \(required by server type 'local'\)$/);
    expectIssue(issues, file, "'yes'", /^servers\[1\]\.parameters\.deploy_full_chain must be true or false, not text$/);
    expectIssue(issues, file, 'pem', /^storage\.data\[0\]\.type is 'pem'; expect one of key, csr, crt, yaml$/);
  });

  it('checks the global config too: its keys and plugin types', async () => {
    const file = fixture('errors', 'config-typo.yaml');
    const issues = await issuesOf({ blueprint: fixture('with-config', 'site.yaml'), config: file });
    expectIssue(issues, file, 'storgae', /^unknown key 'storgae' in the top level \(did you mean 'storage'\?\)$/);
    expectIssue(
      issues,
      file,
      'autossl.ca_manager.acme_v1.Acme',
      /^unknown certificate authority type 'autossl\.ca_manager\.acme_v1\.Acme' in certificate_authorities\[0\]\.type; expect one of .*local-ca, autossl\.ca_manager\.local\.LocalCa.*manual/,
    );
  });

  it('reports a problem of the shared global config once, however many blueprints use it', async () => {
    const file = fixture('errors', 'config-typo.yaml');
    const issues = await issuesOf({ blueprint: fixture('ok'), config: file });
    assert.equal(issues.filter((i) => i.message.includes('storgae')).length, 1);
  });

  it('expands ${VAR} from the given environment and reports an undefined variable', async () => {
    const file = fixture('errors', 'env.yaml');
    const issues = await issuesOf({ blueprint: file, config: CONFIG, env: { ...ENV, SSL_ROOT: '/etc/ssl' } });
    expectIssue(
      issues,
      file,
      '${UNSET_ACME_DIR}',
      /^servers\[0\]\.parameters\.acme_dir uses \$\{UNSET_ACME_DIR\} but the environment variable UNSET_ACME_DIR is not set$/,
    );
    assert.equal(issues.length, 1, issues.map(formatIssue).join('\n'));
    const [b] = await loadBlueprints({ blueprint: file, config: CONFIG, env: { ...ENV, SSL_ROOT: '/etc/ssl', UNSET_ACME_DIR: '/acme' } });
    assert.deepEqual(b.servers[0].parameters, { path: '/etc/ssl/env', acme_dir: '/acme/challenges' });
    // A variable of the global config is reported there, once for all the blueprints using it.
    const shared = await issuesOf({ blueprint: fixture('ok'), config: CONFIG, env: {} });
    expectIssue(
      shared,
      CONFIG,
      '${DATA_DIR}/storage',
      /^storage\.parameters\.path uses \$\{DATA_DIR\} but the environment variable DATA_DIR is not set$/,
    );
    expectIssue(shared, CONFIG, '${DATA_DIR}/logs', /^tracking\.parameters\.log_folder uses \$\{DATA_DIR\}/);
  });

  it('reports invalid YAML with its position', async () => {
    const file = fixture('errors', 'bad-yaml.yaml');
    const [issue, ...rest] = await issuesOf({ blueprint: file });
    assert.equal(rest.length, 0);
    assert.equal(issue.file, file);
    assert.match(issue.message, /^invalid YAML: /);
    assert.ok(issue.line !== undefined && issue.line >= 4, formatIssue(issue));
  });

  it('refuses a document that is not a mapping, an empty file and a blueprint without name', async () => {
    const list = fixture('errors', 'list.yaml');
    expectIssue(await issuesOf({ blueprint: list }), list, '- name', /^a blueprint must be a mapping .*not a list$/);
    const empty = fixture('errors', 'empty.yaml');
    assert.deepEqual(await issuesOf({ blueprint: empty }), [{ file: empty, line: 1, column: 1, message: 'the file is empty; expected a blueprint' }]);
    const noName = fixture('errors', 'no-name.yaml');
    expectIssue(await issuesOf({ blueprint: noName, config: CONFIG }), noName, 'certificate:', /^missing name/);
  });

  it('refuses the same name in two files, pointing at both', async () => {
    const issues = await issuesOf({ blueprint: fixture('dup') });
    const two = fixture('dup', 'two.yaml');
    expectIssue(
      issues,
      two,
      'same.example.test',
      new RegExp(`^duplicate blueprint name 'same\\.example\\.test' \\(first in ${fixture('dup', 'one.yaml').replace(/[.\\/]/g, '\\$&')}:1\\)$`),
    );
  });

  it('refuses a missing path and a folder without blueprints', async () => {
    const missing = fixture('no-such-folder');
    assert.deepEqual(await issuesOf({ blueprint: missing }), [{ file: missing, message: 'no such file or folder' }]);
    const empty = fixture('empty-folder');
    assert.deepEqual(await issuesOf({ blueprint: empty }), [
      { file: empty, message: 'no blueprint: no *.yaml or *.yml file in this folder or below' },
    ]);
    const site = fixture('with-config', 'site.yaml');
    const noConfig = fixture('no-such-config.yaml');
    assert.deepEqual(await issuesOf({ blueprint: site, config: noConfig }), [{ file: noConfig, message: 'no such file or folder' }]);
  });

  it('refuses a host placeholder map in a blueprint and a key size that does not fit the key type', async () => {
    const map = fixture('errors', 'servers-map.yaml');
    expectIssue(
      await issuesOf({ blueprint: map, config: CONFIG }),
      map,
      'web_farm',
      /^servers must be a list; a map of host placeholders belongs in the global config/,
    );
    const keys = fixture('errors', 'keys.yaml');
    expectIssue(
      await issuesOf({ blueprint: keys, config: CONFIG }),
      keys,
      '2048',
      /^certificate\.private_key_size 2048 does not fit private_key_type ECDSA; expect one of 256, 384$/,
    );
  });

  it('collects every problem of every file into one error whose message lists file:line:col lines', async () => {
    const error = await loadBlueprints({ blueprint: fixture('rules'), config: CONFIG }).catch((e: unknown) => e);
    assert.ok(error instanceof BlueprintError);
    const files = new Set(error.issues.map((i) => path.basename(i.file)));
    for (const f of [
      '1-unknown-ca.yaml',
      '3-no-domain.yaml',
      '4-bad-domains.yaml',
      '5-renewal-delay.yaml',
      '6-type-not-issued.yaml',
      '7-credentials.yaml',
    ]) {
      assert.ok(files.has(f), `no issue for ${f}`);
    }
    assert.deepEqual(
      error.message.split('\n'),
      error.issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.message}`),
    );
  });
});

describe("loadBlueprints: AutoSSL's own names and layout", () => {
  const AUTOSSL = fixture('autossl');
  const load = () =>
    loadBlueprints({ blueprint: AUTOSSL, config: path.join(AUTOSSL, 'config.yaml'), env: { CRT_ROOT: '/etc/ssl', STORAGE_ROOT: '/srv/autossl' } });

  it("gives a CA without storage the blueprint's storage, and one with only a storage name that name in it", async () => {
    const blueprints = await load();
    const internal = byName(blueprints, 'internal.example.test');
    const localCa = internal.certificateAuthorities.find((c) => c.key === 'internal');
    assert.deepEqual(localCa?.storage, {
      type: 'local',
      declaredType: 'autossl.storage.local.LocalFileStorage',
      parameters: { path: '/srv/autossl' },
    });
    assert.deepEqual(localCa?.parameters, { ca_private_key: 'internal_ca.key', ca_certificate: 'internal_ca.crt' });
    const acme = byName(blueprints, 'acme.example.test');
    // This blueprint has none of its own: the global git storage, with AutoSSL's committer option names.
    assert.deepEqual(acme.certificateAuthorities.find((c) => c.key === 'acme')?.storage, {
      type: 'git',
      declaredType: 'autossl.storage.gitscm.GitStorage',
      parameters: {
        git_url: 'https://git.example.test/scm/ssl/certificates.git',
        committer_name: 'Certificate Robot',
        committer_email: 'robot@example.test',
      },
      credentials: 'git_user',
      name: 'acme_account.key',
    });
    assert.equal(acme.certificateAuthorities.find((c) => c.key === 'commercial')?.storage, undefined, 'a manual CA keeps no files');
  });

  it('expands $VAR as well as ${VAR}, and leaves a $ followed by no name as written', async () => {
    const internal = byName(await load(), 'internal.example.test');
    assert.equal(internal.servers[0].parameters.path, '/etc/ssl/certs');
    assert.equal(internal.storage?.parameters.path, '/srv/autossl');
    assert.equal(internal.tracking?.parameters.log_folder, '/srv/autossl/logs-in-$/$1');
    const issues = await issuesOf({ blueprint: AUTOSSL, config: path.join(AUTOSSL, 'config.yaml'), env: { STORAGE_ROOT: '/srv/autossl' } });
    expectIssue(
      issues,
      path.join(AUTOSSL, 'internal.yaml'),
      '$CRT_ROOT',
      /^servers\[0\]\.parameters\.path uses \$CRT_ROOT but the environment variable CRT_ROOT is not set$/,
    );
    assert.equal(issues.length, 1, issues.map(formatIssue).join('\n'));
  });

  it('accepts any RSA size from 2048 bits in whole bytes, and says why it refuses 1024', async () => {
    assert.deepEqual(byName(await load(), 'internal.example.test').certificate.key, { type: 'rsa', bits: 8192 });
    const file = fixture('ca-storage', 'aliases.yaml');
    expectIssue(
      await issuesOf({ blueprint: file }),
      file,
      '1024',
      /^certificate\.private_key_size 1024 does not fit private_key_type RSA; expect 2048 to 16384 bits, a multiple of 8: CAs refuse smaller RSA keys/,
    );
  });

  it('refuses an option given under both its names', async () => {
    const file = fixture('ca-storage', 'aliases.yaml');
    expectIssue(
      await issuesOf({ blueprint: file }),
      file,
      'config_user_name',
      /^storage\.parameters\.config_user_name is another name of committer_name, given too: keep one$/,
    );
  });

  it("refuses, at the CA's place, a certificate's CA that keeps files with no storage anywhere, or an ACME CA without storage.name", async () => {
    const nowhere = fixture('ca-storage', 'local-ca.yaml');
    const issues = await issuesOf({ blueprint: nowhere });
    expectIssue(
      issues,
      nowhere,
      'key: internal',
      /^certificate authority 'internal' \(local-ca\) keeps the CA key and certificate in a storage, but neither it nor blueprint 'nowhere\.example\.test' has one: add storage: to either$/,
    );
    assert.equal(issues.length, 1, `the unused CA is not reported:\n${issues.map(formatIssue).join('\n')}`);
    const unnamed = fixture('ca-storage', 'acme.yaml');
    const acme = await issuesOf({ blueprint: unnamed });
    expectIssue(
      acme,
      unnamed,
      'key: acme',
      /^certificate_authorities\[0\]\.storage\.name is missing: certificate authority 'acme' \(acme\) keeps the ACME account key in the file of that name/,
    );
    expectIssue(
      acme,
      unnamed,
      'parameters: { path: /somewhere',
      /^certificate_authorities\[1\]\.storage\.parameters without a type: give the storage's type/,
    );
  });

  it('says why a name AutoSSL accepted is refused', async () => {
    const file = fixture('rules', '4-bad-domains.yaml');
    const issues = await issuesOf({ blueprint: file, config: CONFIG });
    expectIssue(
      issues,
      file,
      "'under_score",
      /is not a host name or \*\.wildcard host name: host names hold no underscore \(RFC 1123\), and public CAs may not certify one since 2019/,
    );
    expectIssue(issues, file, "'test.*", /: a wildcard is only a whole '\*\.' label in front of a name/);
    expectIssue(issues, file, "' padded", /: it has spaces around it$/);
  });
});
