// `autossl check` end to end, as a user runs it: the built CLI against a blueprint with an internal CA (local-ca),
// local storage and two local servers, after a certificate was issued and deployed through the same activities
// the lifecycle workflow calls (run here without Temporal). Every check run is wrapped in a snapshot of the whole
// temporary folder (paths, contents, modes): check must change nothing, whatever it finds.
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import type { BlueprintReport } from '../../src/inspect/report';
import type { CertificateFacts } from '../../src/inspect/facts';
import { openServer, openStorage, using, type PluginEnvironment } from '../../src/catalog/open';
import { REPO, runCli, snapshot, type CliResult } from '../helpers/cli';
import { daysAgo, issueLeaf, makeKey, makeTempDir, writeBlueprint } from '../helpers/pki';
import { deployPair } from '../../src/plugins/deploy-pair';

const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

const NAME = 'shop.example.test';
const CN = 'shop.example.test';
const SAN = 'www.shop.example.test';

// ---------------------------------------------------------------------------------------------------------------
// The site under test: a temporary folder holding the CA storage, the certificate storage and two servers

interface Site {
  root: string;
  blueprint: string;
  caDir: string;
  storageDir: string;
  web1: string;
  web2: string;
}

interface BlueprintOptions {
  san?: string[];
  renewalDelay?: number;
}

/** The blueprint as a person writes it (AutoSSL class paths and short names mixed), paths quoted for YAML. */
function blueprintYaml(site: Omit<Site, 'blueprint'>, opts: BlueprintOptions = {}): string {
  const q = (p: string) => JSON.stringify(p);
  const san = opts.san ?? [SAN];
  return [
    `name: ${NAME}`,
    '',
    'servers:',
    '  - type: local',
    '    parameters:',
    `      path: ${q(site.web1)}`,
    '  - type: autossl.server.local.LocalServer',
    '    parameters:',
    `      path: ${q(site.web2)}`,
    '',
    'certificate:',
    '  type: DV',
    '  certificate_authority: InternalCA',
    `  common_name: ${CN}`,
    '  san:',
    ...san.map((d) => `    - ${d}`),
    `  renewal_delay: ${opts.renewalDelay ?? 30}`,
    '',
    'certificate_authorities:',
    '  - name: Internal CA',
    '    key: InternalCA',
    '    type: local-ca',
    '    storage:',
    '      type: local',
    '      parameters:',
    `        path: ${q(site.caDir)}`,
    '    parameters:',
    '      ca_private_key: internal-ca',
    '      ca_certificate: internal-ca',
    '      certificate_validity_days: 90',
    '      create_if_missing: true',
    '',
    'storage:',
    '  type: autossl.storage.local.LocalFileStorage',
    '  parameters:',
    `    path: ${q(site.storageDir)}`,
    '',
  ].join('\n');
}

async function newSite(opts?: BlueprintOptions): Promise<Site> {
  const root = await makeTempDir('autossl-check-cli-');
  const dirs = {
    root,
    caDir: path.join(root, 'ca'),
    storageDir: path.join(root, 'storage'),
    web1: path.join(root, 'servers', 'web-1'),
    web2: path.join(root, 'servers', 'web-2'),
  };
  const blueprint = await writeBlueprint(root, blueprintYaml(dirs, opts), `${NAME}.yaml`);
  return { ...dirs, blueprint };
}

const rewriteBlueprint = (site: Site, opts: BlueprintOptions) => writeBlueprint(site.root, blueprintYaml(site, opts), path.basename(site.blueprint));

const pluginEnv: PluginEnvironment = {
  staging: false,
  credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: {} }),
};

async function loadOne(file: string): Promise<Blueprint> {
  const blueprints = await loadBlueprints({ blueprint: file, env: {} });
  assert.equal(blueprints.length, 1);
  return blueprints[0];
}

/**
 * One renewal cycle without Temporal, through the activities the workflow calls: key and CSR, the local CA
 * (created on first use), storage, then every server.
 */
async function issueAndDeploy(site: Site): Promise<CertificateFacts> {
  const blueprint = await loadOne(site.blueprint);
  const activities = createActivities(pluginEnv);
  // A mock activity context, so that heartbeats work as they would on a worker.
  const mock = new MockActivityEnvironment();
  const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => mock.run(fn, ...args) as Promise<R>;
  const { csr } = await run(activities.prepareRenewal, blueprint);
  const issued = await run(activities.issueCertificate, blueprint, csr);
  const facts = await run(activities.storeCertificate, blueprint, { bundle: [issued.certificate, ...issued.chain].join('') });
  for (const server of blueprint.servers) await run(activities.deployToServer, blueprint, server.id, facts.serial);
  return facts;
}

/** Stores and deploys a given pair with the plugins themselves (bypassing the pre-deploy checks on purpose). */
async function installPair(site: Site, pair: { keyPem: string; certPem: string; chain: string[] }): Promise<void> {
  const blueprint = await loadOne(site.blueprint);
  const storage = await openStorage(blueprint, pluginEnv);
  assert.ok(storage, 'the blueprint has a storage');
  await using(storage, async (s) => {
    await s.put(NAME, 'key', pair.keyPem);
    await s.put(NAME, 'crt', [pair.certPem, ...pair.chain].join(''));
  });
  for (const server of blueprint.servers) {
    await using(await openServer(blueprint, server.id, pluginEnv), (s) =>
      s.deploy(deployPair({ key: pair.keyPem, certificate: pair.certPem, chain: pair.chain })),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Running the CLI

/** Runs the CLI and asserts that nothing under the site's folder changed. */
async function runUnchanged(site: Site, args: string[]): Promise<CliResult> {
  const before = await snapshot(site.root);
  const result = await runCli(args);
  assert.deepEqual(await snapshot(site.root), before, `'autossl ${args.join(' ')}' changed files under ${site.root}\n${result.stderr}`);
  return result;
}

interface CheckJson {
  checkedAt: string;
  certificates: BlueprintReport[];
  summary: { total: number; needAction: number };
}

/** `autossl --blueprint FILE check --json`: exit code and the one report, checked for shape. */
async function checkJson(
  site: Site,
  args = ['--blueprint', site.blueprint, 'check', '--json'],
): Promise<{ code: number | null; report: BlueprintReport; json: CheckJson; stderr: string }> {
  const result = await runUnchanged(site, args);
  let json: CheckJson;
  try {
    json = JSON.parse(result.stdout) as CheckJson;
  } catch {
    assert.fail(`check --json printed no JSON (exit ${result.code}):\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  assert.ok(!Number.isNaN(Date.parse(json.checkedAt)), 'checkedAt is a date');
  assert.equal(json.certificates.length, 1, 'one blueprint, one report');
  const report = json.certificates[0];
  assert.equal(report.name, NAME);
  assert.equal(report.file, site.blueprint);
  assert.equal(json.summary.total, 1);
  assert.equal(report.servers.length, 2, 'both servers are reported');
  return { code: result.code, report, json, stderr: result.stderr };
}

const server = (report: BlueprintReport, dir: string) => {
  const found = report.servers.find((s) => s.label.includes(dir));
  assert.ok(found, `a server labelled with ${dir} in ${JSON.stringify(report.servers.map((s) => s.label))}`);
  return found;
};

const describeReport = (r: BlueprintReport): string => JSON.stringify(r, null, 2);

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(needle));
  assert.ok(index >= 0, `'${needle}' is in the blueprint`);
  return index + 1;
}

// ---------------------------------------------------------------------------------------------------------------

let site: Site;
let issued: CertificateFacts;

describe('autossl check (built CLI, local CA, local storage, two local servers)', () => {
  beforeEach(async () => {
    site = await newSite();
    issued = await issueAndDeploy(site);
  });
  afterEach(async () => {
    await fs.rm(site.root, { recursive: true, force: true });
  });

  test('the setup really issued and deployed: CA created, certificate stored and on both servers', async () => {
    for (const file of [
      path.join(site.caDir, 'internal-ca.key'),
      path.join(site.caDir, 'internal-ca.crt'),
      path.join(site.storageDir, `${NAME}.key`),
      path.join(site.storageDir, `${NAME}.crt`),
      path.join(site.web1, `${NAME}.key`),
      path.join(site.web1, `${NAME}.crt`),
      path.join(site.web2, `${NAME}.key`),
      path.join(site.web2, `${NAME}.crt`),
    ]) {
      await fs.access(file);
    }
    assert.deepEqual([...issued.domains].sort(), [CN, SAN].sort());
  });

  test('all valid: exit 0, verdict up-to-date, every server up to date, facts of the issued certificate', async () => {
    const { code, report, json, stderr } = await checkJson(site);
    assert.equal(code, 0, `exit code; report:\n${describeReport(report)}\n${stderr}`);
    assert.equal(report.verdict, 'up-to-date', describeReport(report));
    assert.deepEqual(report.renewReasons, []);
    assert.equal(json.summary.needAction, 0);
    assert.equal(report.error, undefined);

    const stored = report.stored;
    assert.ok(stored, 'the stored certificate is reported');
    assert.equal(stored.serial, issued.serial);
    assert.ok(stored.daysLeft >= 88 && stored.daysLeft <= 90, `about 90 days left, got ${stored.daysLeft}`);
    assert.deepEqual(stored.coverage, { ok: true, missing: [], extra: [] });
    assert.equal(stored.keyMatches, true);
    assert.deepEqual(stored.chain, { ok: true }, 'the stored bundle verifies against the local CA it holds');
    assert.match(stored.issuer, /Internal CA Local CA/, 'issued by the CA created with create_if_missing');
    // Due 30 days (renewal_delay) before expiry.
    assert.ok(report.renewAt, 'renewAt is given');
    const delayMs = Date.parse(stored.notAfter) - Date.parse(report.renewAt);
    assert.equal(delayMs, 30 * 86_400_000);

    for (const dir of [site.web1, site.web2]) {
      const s = server(report, dir);
      assert.equal(s.upToDate, true, `${s.label}: ${s.reasons.join('; ')}`);
      assert.deepEqual(s.reasons, []);
      assert.equal(s.certificate?.serial, issued.serial);
      assert.equal(s.certificate?.keyMatches, true);
    }
  });

  test('global options are accepted after the action too', async () => {
    const { code, report } = await checkJson(site, ['check', '--json', '--blueprint', site.blueprint]);
    assert.equal(code, 0);
    assert.equal(report.verdict, 'up-to-date');
  });

  test('table output names the blueprint and says up-to-date', async () => {
    const { code, stdout, stderr } = await runUnchanged(site, ['--blueprint', site.blueprint, 'check']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`^${NAME.replace(/\./g, '\\.')}\\b.*up-to-date`, 'm'));
    assert.ok(stdout.includes(site.blueprint), 'the table names the blueprint file');
    assert.ok(stdout.includes(site.web1) && stdout.includes(site.web2), 'both servers have a row');
    assert.doesNotMatch(stdout, /^\s*\{/, 'not JSON');
    assert.doesNotMatch(stdout, /PRIVATE KEY/);
  });

  test('one server without its certificate: exit 1, servers-out-of-date, that server says no certificate deployed', async () => {
    await fs.rm(path.join(site.web2, `${NAME}.crt`));
    await fs.rm(path.join(site.web2, `${NAME}.key`));
    const { code, report, json } = await checkJson(site);
    assert.equal(code, 1, describeReport(report));
    assert.equal(report.verdict, 'servers-out-of-date', describeReport(report));
    assert.deepEqual(report.renewReasons, [], 'the stored certificate is fine: no renewal');
    assert.equal(json.summary.needAction, 1);

    const missing = server(report, site.web2);
    assert.equal(missing.upToDate, false);
    assert.equal(missing.certificate, null);
    assert.ok(
      missing.reasons.some((r) => /no certificate deployed/i.test(r)),
      missing.reasons.join('; '),
    );

    const fine = server(report, site.web1);
    assert.equal(fine.upToDate, true, fine.reasons.join('; '));
  });

  test('a SAN added to the blueprint: exit 1, renewal-needed, the missing domain named', async () => {
    const added = 'api.shop.example.test';
    await rewriteBlueprint(site, { san: [SAN, added] });
    const { code, report } = await checkJson(site);
    assert.equal(code, 1, describeReport(report));
    assert.equal(report.verdict, 'renewal-needed', describeReport(report));
    assert.ok(
      report.renewReasons.some((r) => r.includes(added)),
      `renewal reasons name ${added}: ${report.renewReasons.join('; ')}`,
    );
    assert.deepEqual(report.stored?.coverage.missing, [added]);
    for (const dir of [site.web1, site.web2]) {
      const s = server(report, dir);
      assert.equal(s.upToDate, false, `${s.label} holds a certificate without ${added}`);
      assert.ok(
        s.reasons.some((r) => r.includes(added)),
        s.reasons.join('; '),
      );
    }
  });

  test('a certificate issued 80 days ago for 90 days, renewal_delay 30: exit 1, renewal-needed', async () => {
    const ca = {
      keyPem: await fs.readFile(path.join(site.caDir, 'internal-ca.key'), 'utf8'),
      certPem: await fs.readFile(path.join(site.caDir, 'internal-ca.crt'), 'utf8'),
    };
    const old = await issueLeaf(ca, { domains: [CN, SAN], validityDays: 90, issuedAt: daysAgo(80) });
    await installPair(site, { keyPem: old.keyPem, certPem: old.certPem, chain: [ca.certPem] });
    const { code, report } = await checkJson(site);
    assert.equal(code, 1, describeReport(report));
    assert.equal(report.verdict, 'renewal-needed', describeReport(report));
    assert.ok(report.stored && report.stored.daysLeft >= 9 && report.stored.daysLeft <= 10, `about 10 days left, got ${report.stored?.daysLeft}`);
    assert.ok(
      report.renewReasons.some((r) => /expire/i.test(r)),
      report.renewReasons.join('; '),
    );
    assert.ok(report.renewAt && Date.parse(report.renewAt) <= Date.now(), 'renewAt is already past');
  });

  test('a server whose key does not match its certificate: that server is out of date with a key reason', async () => {
    await fs.writeFile(path.join(site.web1, `${NAME}.key`), await makeKey({ type: 'rsa', bits: 2048 }), { mode: 0o600 });
    const { code, report } = await checkJson(site);
    assert.equal(code, 1, describeReport(report));
    assert.equal(report.verdict, 'servers-out-of-date', describeReport(report));
    const bad = server(report, site.web1);
    assert.equal(bad.upToDate, false);
    assert.equal(bad.certificate?.keyMatches, false);
    assert.ok(
      bad.reasons.some((r) => /key/i.test(r) && /match/i.test(r)),
      bad.reasons.join('; '),
    );
    assert.ok(
      bad.reasons.every((r) => !r.includes('PRIVATE KEY')),
      'no key material in reasons',
    );
    assert.equal(server(report, site.web2).upToDate, true);
  });

  test('check changes nothing, also when it finds work to do (no deploy, no renewal, no CA files)', async () => {
    // A missing server certificate and missing CA files are what a renew would create: check must not.
    await fs.rm(path.join(site.web1, `${NAME}.crt`));
    await fs.rm(path.join(site.caDir), { recursive: true });
    const dataDir = path.join(site.root, 'data');
    const before = await snapshot(site.root);
    const first = await runCli(['--data-dir', dataDir, '--blueprint', site.blueprint, 'check', '--json']);
    const second = await runCli(['--data-dir', dataDir, '--blueprint', site.blueprint, 'check']);
    assert.deepEqual(await snapshot(site.root), before);
    assert.equal(first.code, 1, first.stderr);
    assert.equal(second.code, 1, second.stderr);
    await assert.rejects(fs.access(dataDir), 'no data folder created');
  });
});

describe('autossl check: bad input exits 2 and names the problem', () => {
  let dir: Omit<Site, 'blueprint'>;
  beforeEach(async () => {
    const root = await makeTempDir('autossl-check-cli-bad-');
    dir = {
      root,
      caDir: path.join(root, 'ca'),
      storageDir: path.join(root, 'storage'),
      web1: path.join(root, 'web-1'),
      web2: path.join(root, 'web-2'),
    };
  });
  afterEach(async () => {
    await fs.rm(dir.root, { recursive: true, force: true });
  });

  async function expectBlueprintError(text: string, line: number, mentions: RegExp): Promise<void> {
    const file = await writeBlueprint(dir.root, text, 'broken.yaml');
    const result = await runUnchanged({ ...dir, blueprint: file }, ['--blueprint', file, 'check', '--json']);
    assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
    assert.equal(result.stdout, '', 'no report on bad input');
    assert.ok(result.stderr.includes(`${file}:${line}`), `stderr names ${path.basename(file)} line ${line}:\n${result.stderr}`);
    assert.match(result.stderr, mentions);
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  }

  test('a line indented less than its siblings (bad YAML)', async () => {
    const good = blueprintYaml(dir);
    const line = lineOf(good, 'certificate_authority: InternalCA');
    const text = good.replace('  certificate_authority: InternalCA', ' certificate_authority: InternalCA');
    await expectBlueprintError(text, line, /YAML/i);
  });

  test('a line indented more than its siblings (bad YAML)', async () => {
    const good = blueprintYaml(dir);
    const line = lineOf(good, `common_name: ${CN}`);
    const text = good.replace(`  common_name: ${CN}`, `     common_name: ${CN}`);
    await expectBlueprintError(text, line, /YAML/i);
  });

  test('an unknown key, named with its line', async () => {
    const good = blueprintYaml(dir);
    const line = lineOf(good, 'renewal_delay:');
    const text = good.replace('renewal_delay:', 'renewal_dealy:');
    await expectBlueprintError(text, line, /renewal_dealy/);
  });

  test('a missing blueprint file', async () => {
    const file = path.join(dir.root, 'no-such-blueprint.yaml');
    const result = await runUnchanged({ ...dir, blueprint: file }, ['--blueprint', file, 'check', '--json']);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(file), `stderr names the file:\n${result.stderr}`);
    assert.match(result.stderr, /no such file/i);
  });

  test('check without --blueprint', async () => {
    const result = await runCli(['check', '--json']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--blueprint/);
  });
});

describe('autossl version, --help and options', () => {
  test('version prints the package version', async () => {
    const result = await runCli(['version']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), `autossl ${VERSION}`);
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
  });

  test('--help exits 0 and lists the actions', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0, result.stderr);
    for (const action of ['version', 'check', 'renew', 'deploy']) {
      assert.match(result.stdout, new RegExp(`^\\s+${action}\\s`, 'm'), `--help lists ${action}`);
    }
    assert.match(result.stdout, /--blueprint/);
  });

  test('check --help explains check and exits 0', async () => {
    const result = await runCli(['check', '--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /--json/);
  });

  test('an unknown option exits 2 and names it', async () => {
    for (const args of [
      ['--no-such-option', 'check'],
      ['check', '--no-such-option'],
    ]) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /no-such-option/);
      assert.equal(result.stdout, '');
    }
  });

  test('an unknown action exits 2 and lists the actions', async () => {
    const result = await runCli(['chek']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /chek/);
    assert.match(result.stderr, /check/);
  });
});
