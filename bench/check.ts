// `autossl check --json` over N blueprints (default 1,000) × 2 local servers, all holding valid certificates from
// one internal CA: wall time and peak RSS of the built CLI, as cron or CI runs it. Generating the certificates is
// not measured. Prints a markdown table.
//
//   npm run build && node dist/bench/check.js [--count 1000] [--runs 5] [--keep]
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCsr, createSelfSignedCa, generatePrivateKey, signCertificate } from '../src/x509';
import type { KeySpec } from '../src/blueprint/types';
import { flagArg, fmt, intArg, markdownTable, measure, median } from './measure';

// Compiled to dist/bench: the repository is two levels up.
const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO, 'bin', 'autossl.js');
const KEY: KeySpec = { type: 'ec', curve: 'P-256' };
const TARGET = { seconds: 0.8, mib: 150 };

interface Site {
  root: string;
  blueprints: string;
}

/** Files as the plugins lay them out: storage `<name>.key/.crt` (leaf + CA), servers `<name>.key/.crt`. */
async function generate(count: number): Promise<Site> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-bench-check-'));
  const blueprints = path.join(root, 'blueprints');
  await fs.mkdir(blueprints);
  const caKeyPem = await generatePrivateKey(KEY);
  const caCertPem = await createSelfSignedCa({ keyPem: caKeyPem, commonName: 'bench CA', validityDays: 3650 });
  const q = (p: string) => JSON.stringify(p);
  for (let i = 0; i < count; i++) {
    const name = `site-${String(i).padStart(4, '0')}.bench.test`;
    const keyPem = await generatePrivateKey(KEY);
    const csrPem = await createCsr({ keyPem, commonName: name, domains: [name, `www.${name}`] });
    const certPem = await signCertificate({ csrPem, caKeyPem, caCertPem, validityDays: 90 });
    const dirs = { storage: path.join(root, 'storage'), web1: path.join(root, 'web-1', name), web2: path.join(root, 'web-2', name) };
    const files: [string, string][] = [
      [path.join(dirs.storage, `${name}.key`), keyPem],
      [path.join(dirs.storage, `${name}.crt`), certPem + caCertPem],
      [path.join(dirs.web1, `${name}.key`), keyPem],
      [path.join(dirs.web1, `${name}.crt`), certPem],
      [path.join(dirs.web2, `${name}.key`), keyPem],
      [path.join(dirs.web2, `${name}.crt`), certPem + caCertPem],
    ];
    for (const [file, content] of files) {
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(file, content, { mode: file.endsWith('.key') ? 0o600 : 0o644 });
    }
    const yaml = [
      `name: ${name}`,
      'servers:',
      `  - { type: local, parameters: { path: ${q(dirs.web1)} } }`,
      `  - { type: autossl.server.local.LocalServer, parameters: { path: ${q(dirs.web2)}, deploy_full_chain: true } }`,
      'certificate:',
      '  type: DV',
      '  certificate_authority: Internal',
      `  common_name: ${name}`,
      `  san: [www.${name}]`,
      'certificate_authorities:',
      '  - key: Internal',
      '    type: local-ca',
      `    storage: { type: local, parameters: { path: ${q(path.join(root, 'ca'))} } }`,
      '    parameters: { ca_private_key: ca, ca_certificate: ca }',
      `    chain_of_trust: [${q(caCertPem)}]`,
      `storage: { type: local, parameters: { path: ${q(dirs.storage)} } }`,
      '',
    ].join('\n');
    await fs.writeFile(path.join(blueprints, `${name}.yaml`), yaml);
  }
  return { root, blueprints };
}

interface CheckSummary {
  summary: { total: number; needAction: number };
}

async function main(argv: string[]): Promise<void> {
  const count = intArg(argv, 'count', 1000);
  const runs = intArg(argv, 'runs', 5);
  const generatedAt = Date.now();
  const site = await generate(count);
  process.stderr.write(`generated ${count} blueprints × 2 servers in ${fmt((Date.now() - generatedAt) / 1000, 1)} s under ${site.root}\n`);
  try {
    const walls: number[] = [];
    const peaks: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await measure(process.execPath, [BIN, '--blueprint', site.blueprints, 'check', '--json'], REPO);
      // A run that did not check everything as up to date measured something else: refuse the figure.
      const json = JSON.parse(r.stdout || '{}') as Partial<CheckSummary>;
      if (r.code !== 0 || json.summary?.total !== count || json.summary.needAction !== 0) {
        throw new Error(`check exited ${r.code} with ${JSON.stringify(json.summary)}; expected ${count} up to date\n${r.stderr}`);
      }
      walls.push(r.wallMs);
      peaks.push(r.peakRssMiB);
    }
    const wall = median(walls) / 1000;
    const peak = Math.max(...peaks);
    const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
    process.stdout.write(
      `${markdownTable(
        ['benchmark', 'figure', 'target', ''],
        [
          [
            `check --json, ${count} blueprints × 2 servers: wall time (median of ${runs})`,
            `${fmt(wall, 2)} s`,
            `< ${TARGET.seconds} s`,
            verdict(wall < TARGET.seconds),
          ],
          [
            `check --json, ${count} blueprints × 2 servers: peak RSS (max of ${runs})`,
            `${fmt(peak)} MiB`,
            `< ${TARGET.mib} MiB`,
            verdict(peak < TARGET.mib),
          ],
          ['wall time, fastest / slowest run', `${fmt(Math.min(...walls) / 1000, 2)} s / ${fmt(Math.max(...walls) / 1000, 2)} s`, '', ''],
        ],
      )}\n`,
    );
  } finally {
    if (!flagArg(argv, 'keep')) await fs.rm(site.root, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`bench/check: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
