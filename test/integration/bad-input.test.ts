// The bad-input catalogue: every mistake a person can make with blueprints, options and files given to the built
// CLI gets a message naming the thing and what is wrong, exit code 2 (README: bad input), no stack trace, and no
// file changed anywhere under the site (storage, servers, CA, data folder, the inputs themselves). No Temporal
// server runs: bad input must be refused before one is needed.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertChallengeToken, servesHttp01 } from '../../src/plugins/challenge';
import { createLocalServer } from '../../src/plugins/servers/local';
import type { PluginContext } from '../../src/plugins/types';
import type { ServerSpec } from '../../src/blueprint/types';
import { freePort } from '../../src/worker/dev-server';
import { runCli, snapshot, type CliResult } from '../helpers/cli';
import { daysAgo, issueLeaf, makeCa, makeTempDir, type TestCa, type TestLeaf } from '../helpers/pki';

const NAME = 'www.example.test';
const SAN = 'example.test';
const DAY_MS = 86_400_000;

interface Site {
  root: string;
  /** Inputs too large to digest before and after every case; snapshotted only by the cases that use them. */
  bulky: string;
  storage: string;
  web: string;
  good: string;
}

let site: Site;
let ca: TestCa;
let otherCa: TestCa;

const q = (p: string) => JSON.stringify(p);

/** A valid blueprint: manual CA with the test CA as chain of trust, local storage, one local server. */
function goodBlueprint(s: Omit<Site, 'good'>): string {
  return [
    `name: ${NAME}`,
    'servers:',
    '  - type: local',
    '    parameters:',
    `      path: ${q(s.web)}`,
    'certificate:',
    '  type: DV',
    '  certificate_authority: Commercial',
    `  common_name: ${NAME}`,
    '  san:',
    `    - ${SAN}`,
    '  renewal_delay: 30',
    'certificate_authorities:',
    '  - name: Commercial CA',
    '    key: Commercial',
    '    chain_of_trust:',
    `      - ${q(ca.certPem)}`,
    'storage:',
    '  type: local',
    '  parameters:',
    `    path: ${q(s.storage)}`,
    '',
  ].join('\n');
}

/** The good blueprint with `from` replaced; fails when `from` is not in it, so a case cannot silently test nothing. */
function edit(from: string, to: string, text = goodBlueprint(site)): string {
  assert.ok(text.includes(from), `'${from}' is in the blueprint`);
  return text.replace(from, to);
}

let written = 0;
async function writeInput(content: string | Buffer, name = `bad-${++written}.yaml`, dir = site.root): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  return file;
}

/** 1-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(index >= 0, `'${needle}' is in the text`);
  return index + 1;
}

/**
 * Runs the CLI in the site (as working folder and HOME, with a data folder inside) and asserts the catalogue's
 * promise: exit 2, every `mentions` in stderr, no stack trace, nothing printed as a result, nothing changed.
 */
async function refused(args: string[], mentions: (RegExp | string)[], opts: { alsoUnchanged?: string[] } = {}): Promise<CliResult> {
  const dirs = [site.root, ...(opts.alsoUnchanged ?? [])];
  const before = await Promise.all(dirs.map(snapshot));
  const env = { HOME: site.root, AUTOSSL_DATA_DIR: path.join(site.root, 'data'), TEMPORAL_ADDRESS: await closedAddress() };
  const result = await runCli(args, { cwd: site.root, env });
  const shown = `'autossl ${args.join(' ')}' -> exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  assert.deepEqual(await Promise.all(dirs.map(snapshot)), before, `files changed by ${shown}`);
  assert.equal(result.code, 2, shown);
  assert.equal(result.stdout, '', `nothing on stdout: ${shown}`);
  for (const m of mentions) {
    if (typeof m === 'string') assert.ok(result.stderr.includes(m), `stderr names '${m}': ${shown}`);
    else assert.match(result.stderr, m, shown);
  }
  assert.doesNotMatch(result.stderr, /^\s+at /m, `no stack trace: ${shown}`);
  return result;
}

/** A loopback port nobody listens on: any Temporal call fails at once instead of reaching a real server. */
async function closedAddress(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}

/** `check` of a blueprint text: refused with `file:line` (when given) and the mentions. */
async function blueprintRefused(text: string, mentions: (RegExp | string)[], line?: number): Promise<void> {
  const file = await writeInput(text);
  await refused(['--blueprint', file, 'check', '--json'], [line === undefined ? `${file}:` : `${file}:${line}:`, ...mentions]);
}

before(async () => {
  const root = await makeTempDir('autossl-bad-input-');
  const bulky = await makeTempDir('autossl-bad-input-bulky-');
  const dirs = { root, bulky, storage: path.join(root, 'storage'), web: path.join(root, 'web') };
  ca = await makeCa({ commonName: 'autossl test CA' });
  otherCa = await makeCa({ commonName: 'another CA' });
  site = { ...dirs, good: '' };
  site.good = await writeInput(goodBlueprint(dirs), 'good.yaml');
  // Storage and server hold a valid pair: a refused deploy must leave exactly that.
  const current = await issueLeaf(ca, { domains: [NAME, SAN] });
  for (const dir of [site.storage, site.web]) {
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, `${NAME}.key`), current.keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(dir, `${NAME}.crt`), current.certPem);
  }
});

after(async () => {
  await fs.rm(site.root, { recursive: true, force: true });
  await fs.rm(site.bulky, { recursive: true, force: true });
});

describe('bad input: the catalogue starts from a blueprint that works', () => {
  test('the good blueprint passes check (exit 0), so each case below fails for its own mistake only', async () => {
    const result = await runCli(['--blueprint', site.good, 'check', '--json'], { cwd: site.root, env: { HOME: site.root } });
    assert.equal(result.code, 0, result.stderr + result.stdout);
  });
});

describe('bad input: blueprint YAML syntax', () => {
  test('a tab used for indentation', async () => {
    const text = edit('  type: DV', '\ttype: DV');
    await blueprintRefused(text, [/invalid YAML/i], lineOf(text, '\ttype: DV'));
  });

  test('an unclosed flow list', async () => {
    await blueprintRefused(edit(`  san:\n    - ${SAN}`, `  san: [${SAN}, b.example.test`), [/invalid YAML/i]);
  });

  test('an unclosed quote', async () => {
    await blueprintRefused(edit(`  common_name: ${NAME}`, `  common_name: "${NAME}`), [/invalid YAML/i]);
  });

  test('a key given twice', async () => {
    const text = edit('  renewal_delay: 30', '  renewal_delay: 30\n  renewal_delay: 20');
    await blueprintRefused(text, [/invalid YAML/i, /unique/i], lineOf(text, 'renewal_delay: 20'));
  });

  test('a mapping inside a plain value (a colon followed by a space)', async () => {
    await blueprintRefused(edit(`  common_name: ${NAME}`, `  common_name: www: ${NAME}`), [/invalid YAML/i]);
  });

  test('an alias with no anchor', async () => {
    await blueprintRefused(edit(`  san:\n    - ${SAN}`, '  san: *domains'), [/invalid YAML|alias|anchor/i, 'domains']);
  });

  test('an empty file', async () => {
    await blueprintRefused('', [/empty/]);
  });

  test('a list instead of a mapping at the top', async () => {
    await blueprintRefused(`- name: ${NAME}\n`, [/must be a mapping/]);
  });

  test('a file that is not YAML at all: a few errors and a count, not one per line', async () => {
    const text = Array.from({ length: 300 }, (_, i) => `\t[${i}: {`).join('\n');
    const file = await writeInput(text);
    const result = await refused(['--blueprint', file, 'check'], [`${file}:`, /invalid YAML/, /more problem\(s\) not shown/]);
    assert.ok(result.stderr.split('\n').length <= 15, `at most a dozen lines, got ${result.stderr.split('\n').length}`);
  });

  test('a 2 MiB file: refused by size, before it is parsed', async () => {
    const file = await writeInput(`name: ${'x'.repeat(2 * 1024 * 1024)}\n`, 'huge.yaml', site.bulky);
    await refused(['--blueprint', file, 'check'], [file, /at most 1 MiB/], { alsoUnchanged: [site.bulky] });
  });
});

describe('bad input: blueprint schema', () => {
  test('an unknown top-level key, with a did-you-mean', async () => {
    const text = edit('storage:\n  type: local', 'storag:\n  type: local');
    await blueprintRefused(text, [/unknown key 'storag'/, /storage/], lineOf(text, 'storag:'));
  });

  test('an unknown key inside certificate', async () => {
    const text = edit(`  common_name: ${NAME}`, `  commn_name: ${NAME}`);
    await blueprintRefused(text, [/unknown key 'commn_name' in certificate/, /common_name/], lineOf(text, 'commn_name'));
  });

  test('a single value where a list is expected', async () => {
    await blueprintRefused(edit(`  san:\n    - ${SAN}`, `  san: ${SAN}`), [/certificate\.san must be a list/]);
  });

  test('text where true/false is expected', async () => {
    await blueprintRefused(edit('  renewal_delay: 30', '  renewal_delay: 30\n  exact_match: "yes"'), [/exact_match must be true or false/]);
  });

  test('a missing name', async () => {
    await blueprintRefused(edit(`name: ${NAME}\n`, ''), [/missing name/]);
  });

  test('renewal_delay as text', async () => {
    await blueprintRefused(edit('  renewal_delay: 30', '  renewal_delay: soon'), [/renewal_delay must be an integer/]);
  });

  test('renewal_delay negative', async () => {
    await blueprintRefused(edit('  renewal_delay: 30', '  renewal_delay: -1'), [/renewal_delay must be 0 or more/]);
  });

  test('renewal_delay fractional', async () => {
    await blueprintRefused(edit('  renewal_delay: 30', '  renewal_delay: 2.5'), [/renewal_delay must be an integer/]);
  });

  test('an organization with a three-letter country code', async () => {
    const text = edit('certificate:', 'organization:\n  company_name: Example\n  country_code: USA\ncertificate:');
    await blueprintRefused(text, [/organization\.country_code must be a two-letter/], lineOf(text, 'country_code'));
  });

  test('an organization with an unknown field', async () => {
    await blueprintRefused(edit('certificate:', 'organization:\n  company: Example\ncertificate:'), [/unknown key 'company' in organization/]);
  });

  test('an unknown server type', async () => {
    await blueprintRefused(edit('  - type: local', '  - type: ftp'), [/unknown server type 'ftp'/, /local/]);
  });

  test('an unknown parameter of a known plugin', async () => {
    const text = edit('    parameters:\n', '    parameters:\n      mode: 644\n');
    await blueprintRefused(text, [/unknown parameter 'mode'/, /server type 'local'/], lineOf(text, 'mode: 644'));
  });

  test('a required parameter missing', async () => {
    await blueprintRefused(edit(`      path: ${q(site.web)}`, '      deploy_full_chain: true'), [/missing parameter 'path'/, /local/]);
  });

  test('an undefined ${VARIABLE} in a path', async () => {
    await blueprintRefused(edit(`path: ${q(site.web)}`, 'path: ${AUTOSSL_NO_SUCH_VARIABLE}/web'), [/AUTOSSL_NO_SUCH_VARIABLE is not set/]);
  });

  test('a private key size that does not fit the key type', async () => {
    await blueprintRefused(edit('  renewal_delay: 30', '  renewal_delay: 30\n  private_key_type: ECDSA\n  private_key_size: 2048'), [
      /private_key_size 2048 does not fit private_key_type ECDSA/,
    ]);
  });

  test('an unknown certificate type', async () => {
    await blueprintRefused(edit('  type: DV', '  type: XV'), [/certificate\.type is 'XV'/, /DV, OV, EV/]);
  });
});

describe("bad input: AutoSSL's validation rules", () => {
  test('rule 1: the certificate names a CA that is not declared', async () => {
    await blueprintRefused(edit('  certificate_authority: Commercial', '  certificate_authority: Comercial'), [
      /Certificate authority 'Comercial' is not supported/,
      /Commercial/,
    ]);
  });

  test('rule 2: an OV certificate without an organization', async () => {
    await blueprintRefused(edit('  type: DV', '  type: OV'), [/OV needs an organization/]);
  });

  test('rule 3: neither common_name nor san', async () => {
    await blueprintRefused(edit(`  common_name: ${NAME}\n  san:\n    - ${SAN}\n`, ''), [/needs a common_name or a san/]);
  });

  // Rule 4 (domain names) has its own section below; rule 5 (renewal_delay an integer) is among the schema cases.
  test('rule 6: a certificate type the CA does not issue', async () => {
    const text = edit('    key: Commercial', '    key: Commercial\n    certificate_types: [OV]');
    await blueprintRefused(text, [/Certificate type DV is not supported by certificate authority 'Commercial'/]);
  });

  test('rule 7: a credential used but not declared', async () => {
    await blueprintRefused(edit('  type: local\n  parameters:\n    path', '  type: local\n  credentials: storage_login\n  parameters:\n    path'), [
      /credential 'storage_login' of storage is missing from credentials/,
    ]);
  });

  test("a local CA with no storage, its own or the blueprint's (found by check, not at the first renewal)", async () => {
    const localCa = edit(
      '    key: Commercial\n',
      '    key: Commercial\n    type: autossl.ca_manager.local.LocalCa\n    parameters: { ca_private_key: ca.key, ca_certificate: ca.crt }\n',
    );
    const text = localCa.slice(0, localCa.indexOf('storage:\n'));
    await blueprintRefused(
      text,
      [/certificate authority 'Commercial' \(local-ca\) keeps the CA key and certificate in a storage, but neither it nor blueprint/],
      lineOf(text, 'name: Commercial CA'),
    );
  });
});

describe('bad input: domain names (rule 4)', () => {
  const cases: [string, string][] = [
    ['an underscore', 'www_1.example.test'],
    ['a double dot', 'www..example.test'],
    ['a leading hyphen', '-www.example.test'],
    ['a 64-character label', `${'a'.repeat(64)}.example.test`],
    ['a wildcard over a top-level domain', '*.com'],
    ['a wildcard inside a label', 'a*.b.com'],
  ];
  for (const [what, domain] of cases) {
    test(`${what}: ${domain.length > 30 ? `${domain.slice(0, 20)}...` : domain}`, async () => {
      const text = edit(`    - ${SAN}`, `    - "${domain}"`);
      await blueprintRefused(text, [`certificate.san '${domain}' is not a host name`], lineOf(text, domain));
    });
  }
});

describe('bad input: names that look like paths', () => {
  test('name: ../x', async () => {
    await blueprintRefused(edit(`name: ${NAME}`, 'name: ../x'), [/name '\.\.\/x' may hold only/]);
  });

  test('a crt_name with a slash', async () => {
    await blueprintRefused(edit(`      path: ${q(site.web)}`, `      path: ${q(site.web)}\n      crt_name: ../../etc/cert`), [
      /crt_name '\.\.\/\.\.\/etc\/cert' may hold only/,
    ]);
  });

  test('ACME challenge tokens that are not base64url are refused before they name a file', async () => {
    const acmeDir = path.join(site.root, 'acme');
    await fs.mkdir(acmeDir);
    const spec: ServerSpec = {
      type: 'local',
      declaredType: 'local',
      id: 'local:web',
      crtName: NAME,
      parameters: { path: site.web, acme_dir: acmeDir },
    };
    // The local server reads nothing from the plugin context.
    const server = await createLocalServer(spec, {} as PluginContext);
    assert.ok(servesHttp01(server));
    const before = await snapshot(site.root);
    for (const token of ['..', '.', '../evil', 'a/b', 'a\\b', '', 'tok en', 'x'.repeat(256), 'abc\0', '%2e%2e']) {
      assert.throws(() => assertChallengeToken(token, 'test'), /only A-Z, a-z, 0-9, '-' and '_'/, JSON.stringify(token));
      await assert.rejects(server.putChallenge(token, 'content'), /challenge/, JSON.stringify(token));
    }
    assert.deepEqual(await snapshot(site.root), before, 'no challenge file written');
    // A real token passes: the refusals above are about the characters.
    assertChallengeToken('LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0', 'test');
  });
});

describe('bad input: command line', () => {
  test('an unknown global option', async () => {
    await refused(['--frobnicate', 'check'], ['--frobnicate']);
  });

  test('an option of another action (check --force)', async () => {
    await refused(['--blueprint', site.good, 'check', '--force'], ['--force', 'autossl check --help']);
  });

  test('an unknown action, with the list of actions', async () => {
    await refused(['renw'], ["unknown action 'renw'", 'renew']);
  });

  test('an unexpected extra argument', async () => {
    await refused(['--blueprint', site.good, 'check', 'extra'], ["unexpected argument 'extra'"]);
  });

  test('an option without its value', async () => {
    await refused(['check', '--blueprint'], [/--blueprint/, /argument missing/]);
  });

  test('check without --blueprint', async () => {
    await refused(['check'], ['--blueprint FILE|DIR is required']);
  });

  test('submit without --certificate', async () => {
    await refused(['--blueprint', site.good, 'submit'], ['--certificate FILE is required']);
  });

  test('a --blueprint that does not exist', async () => {
    const missing = path.join(site.root, 'no-such.yaml');
    await refused(['--blueprint', missing, 'check'], [missing, /no such file/]);
  });

  test('a --blueprint folder without blueprints', async () => {
    const empty = path.join(site.root, 'empty');
    await fs.mkdir(empty);
    await refused(['--blueprint', empty, 'check'], [empty, /no \*\.yaml or \*\.yml/]);
  });

  test('a --config that does not exist', async () => {
    const missing = path.join(site.root, 'no-such-config.yaml');
    await refused(['--config', missing, '--blueprint', site.good, 'check'], [missing, /no such file/]);
  });

  test('two blueprints with the same name', async () => {
    const dir = path.join(site.root, 'twins');
    await fs.mkdir(dir);
    await writeInput(goodBlueprint(site), 'a.yaml', dir);
    await writeInput(goodBlueprint(site), 'b.yaml', dir);
    await refused(['--blueprint', dir, 'check'], [/duplicate blueprint name 'www\.example\.test'/, path.join(dir, 'a.yaml')]);
  });

  test('a missing --credentials-file', async () => {
    const missing = path.join(site.root, 'no-such-credentials.ini');
    await refused(['--credentials-file', missing, '--blueprint', site.good, 'check'], [`--credentials-file ${missing}: no such file`]);
  });

  test('a --credentials item without NAME:', async () => {
    await refused(['--credentials', 'secret-without-name', '--blueprint', site.good, 'check'], ['--credentials item must be NAME:value']);
  });

  test('renew without --yes, a renewal due and no answer on standard input', async () => {
    // Nothing is stored under this name: renew asks, as AutoSSL did, and the input ends without an answer.
    const due = await writeInput(edit(`name: ${NAME}`, 'name: due.example.test'));
    await refused(['--blueprint', due, 'renew'], ['Continue ? (y/n)', 'pass --yes']);
  });

  test('renew --timeout that is not a number', async () => {
    await refused(['--blueprint', site.good, 'renew', '--yes', '--timeout', 'soon'], ["--timeout must be a positive number of seconds, got 'soon'"]);
  });

  test('server --port out of range', async () => {
    await refused(['server', '--port', '99999'], ["--port must be a port number, got '99999'"]);
  });

  test('worker --check-interval zero', async () => {
    await refused(['worker', '--check-interval', '0'], ["--check-interval must be a positive number of minutes, got '0'"]);
  });

  test('deploy --tracking-record of another certificate', async () => {
    await refused(
      ['--blueprint', site.good, 'deploy', '-t', 'cert:other.example.test'],
      ['tracking record cert:other.example.test does not belong to www.example.test'],
    );
  });
});

describe('bad input: deploy --certificate/--private-key (pre-deploy checks, no Temporal needed)', () => {
  let inputs: Record<string, string>;

  before(async () => {
    const domains = [NAME, SAN];
    const issue = (opts: Partial<Parameters<typeof issueLeaf>[1]> = {}, by: TestCa = ca): Promise<TestLeaf> => issueLeaf(by, { domains, ...opts });
    const good = await issue();
    const other = await issue();
    const expired = await issue({ validityDays: 10, issuedAt: daysAgo(20) });
    const future = await issue({ issuedAt: new Date(Date.now() + 5 * DAY_MS) });
    const dueSoon = await issue({ validityDays: 100, issuedAt: daysAgo(80) });
    const narrow = await issue({ domains: [NAME] });
    const foreign = await issue({}, otherCa);
    const dir = path.join(site.root, 'inputs');
    await fs.mkdir(dir);
    const files: Record<string, string> = {
      'good.key': good.keyPem,
      'good.crt': good.certPem,
      'other.key': other.keyPem,
      'expired.key': expired.keyPem,
      'expired.crt': expired.certPem,
      'future.key': future.keyPem,
      'future.crt': future.certPem,
      'due.key': dueSoon.keyPem,
      'due.crt': dueSoon.certPem,
      'narrow.key': narrow.keyPem,
      'narrow.crt': narrow.certPem,
      'foreign.key': foreign.keyPem,
      'foreign.crt': foreign.certPem,
      'good.csr': good.csrPem,
      'notes.txt': 'renew the certificate before Friday\n',
      'broken.crt': '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n',
    };
    inputs = {};
    for (const [name, content] of Object.entries(files)) inputs[name] = await writeInput(content, name, dir);
  });

  const deploy = (cert: string, key: string, ...more: string[]) => ['--blueprint', site.good, 'deploy', '-c', cert, '-k', key, ...more];

  test('a key that belongs to another certificate', async () => {
    await refused(deploy(inputs['good.crt'], inputs['other.key']), [/does not match the private key of 'www\.example\.test'/]);
  });

  test('an expired certificate', async () => {
    await refused(deploy(inputs['expired.crt'], inputs['expired.key']), [/expired on \d{4}-/]);
  });

  test('a certificate not valid yet', async () => {
    await refused(deploy(inputs['future.crt'], inputs['future.key']), [/is not valid before \d{4}-/]);
  });

  test('a certificate already within renewal_delay', async () => {
    await refused(deploy(inputs['due.crt'], inputs['due.key']), [/within the renewal delay of 30 day/]);
  });

  test('a certificate that does not cover the blueprint', async () => {
    await refused(deploy(inputs['narrow.crt'], inputs['narrow.key']), [`does not cover ${SAN}`]);
  });

  test("a certificate from another CA than the blueprint's chain of trust", async () => {
    await refused(deploy(inputs['foreign.crt'], inputs['foreign.key']), [/not found in the chain of trust/, 'another CA']);
  });

  test('a full chain wanted but no chain known', async () => {
    const noChain = edit(`    chain_of_trust:\n      - ${q(ca.certPem)}\n`, '');
    const file = await writeInput(edit(`      path: ${q(site.web)}`, `      path: ${q(site.web)}\n      deploy_full_chain: true`, noChain));
    await refused(
      ['--blueprint', file, 'deploy', '-c', inputs['good.crt'], '-k', inputs['good.key']],
      [/wants the full chain \(deploy_full_chain\)/],
    );
  });

  test('the key given as the certificate (swapped files)', async () => {
    await refused(deploy(inputs['good.key'], inputs['good.key']), [`--certificate ${inputs['good.key']}`, /this is a private key/]);
  });

  test('the certificate given as the key', async () => {
    await refused(deploy(inputs['good.crt'], inputs['good.crt']), [`--private-key ${inputs['good.crt']}`, /not a PEM private key/]);
  });

  test('a CSR given as the certificate', async () => {
    await refused(deploy(inputs['good.csr'], inputs['good.key']), [`--certificate ${inputs['good.csr']}`, /certificate request/]);
  });

  test('a text file given as the certificate', async () => {
    await refused(deploy(inputs['notes.txt'], inputs['good.key']), [`--certificate ${inputs['notes.txt']}`, /not a PEM certificate/]);
  });

  test('a PEM block that is not base64', async () => {
    await refused(deploy(inputs['broken.crt'], inputs['good.key']), [`--certificate ${inputs['broken.crt']}`, /not valid base64/]);
  });

  test('a certificate file that does not exist', async () => {
    const missing = path.join(site.root, 'no-such.crt');
    await refused(deploy(missing, inputs['good.key']), [`--certificate ${missing}: no such file`]);
  });

  test('a folder given as the private key', async () => {
    await refused(deploy(inputs['good.crt'], site.web), [`--private-key ${site.web}: is a folder`]);
  });

  test('50 MB of garbage as the certificate: refused at once, without reading it all', async () => {
    const huge = path.join(site.bulky, 'garbage.crt');
    const handle = await fs.open(huge, 'w');
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    for (let i = 0; i < 50; i++) await handle.write(chunk);
    await handle.close();
    const started = Date.now();
    await refused(deploy(huge, inputs['good.key']), [`--certificate ${huge}: larger than 1 MiB`], { alsoUnchanged: [site.bulky] });
    assert.ok(Date.now() - started < 10_000, `refused in ${Date.now() - started} ms`);
  });

  test('the same garbage given to submit', async () => {
    const huge = path.join(site.bulky, 'garbage.crt');
    await refused(['submit', '-c', huge, '--workflow-id', `cert:${NAME}`], [`--certificate ${huge}: larger than 1 MiB`], {
      alsoUnchanged: [site.bulky],
    });
  });

  test('a good pair but no Temporal server: refused, and not stored either', async () => {
    await refused(deploy(inputs['good.crt'], inputs['good.key']), [/no Temporal server answers/]);
  });

  test('a certificate for several blueprints at once', async () => {
    const dir = path.join(site.root, 'two-sites');
    await fs.mkdir(dir);
    await writeInput(goodBlueprint(site), 'a.yaml', dir);
    await writeInput(edit(`name: ${NAME}`, 'name: other.example.test'), 'b.yaml', dir);
    await refused(['--blueprint', dir, 'deploy', '-c', inputs['good.crt']], [/need --blueprint to name exactly one certificate \(got 2\)/]);
  });
});
