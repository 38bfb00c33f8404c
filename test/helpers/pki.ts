// Small PKI for tests, built on the project's own x509 toolkit: a CA, leaf certificates (optionally issued in the
// past, to get one close to expiry), spare keys, and blueprint files written into a temporary folder.
//
//   const ca = await makeCa();
//   const leaf = await issueLeaf(ca, { domains: ['www.example.test'], issuedAt: daysAgo(80), validityDays: 90 });
//   const dir = await makeTempDir('autossl-check-');
//   const file = await writeBlueprint(dir, { name: 'www.example.test', ... });
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { KeySpec } from '../../src/blueprint/types';
import { createCsr, createSelfSignedCa, generatePrivateKey, signCertificate } from '../../src/x509';

const DAY_MS = 86_400_000;

export interface TestCa {
  keyPem: string;
  certPem: string;
}

export interface TestLeaf {
  keyPem: string;
  csrPem: string;
  certPem: string;
}

/** EC P-256 keys are generated in a millisecond; RSA only where a test is about RSA. */
export const FAST_KEY: KeySpec = { type: 'ec', curve: 'P-256' };

/** A new private key (PKCS#8 PEM). */
export function makeKey(spec: KeySpec = FAST_KEY): Promise<string> {
  return generatePrivateKey(spec);
}

/** A self-signed root CA. */
export async function makeCa(opts: { commonName?: string; validityDays?: number; key?: KeySpec } = {}): Promise<TestCa> {
  const keyPem = await makeKey(opts.key);
  const certPem = await createSelfSignedCa({ keyPem, commonName: opts.commonName ?? 'autossl test CA', validityDays: opts.validityDays ?? 3650 });
  return { keyPem, certPem };
}

/**
 * A leaf certificate for `domains` (the first is the common name unless `commonName` is given) signed by `ca`,
 * with a new key unless `keyPem` is given. `issuedAt` moves the validity window into the past.
 */
export async function issueLeaf(
  ca: TestCa,
  opts: { domains: string[]; commonName?: string; validityDays?: number; issuedAt?: Date; keyPem?: string; key?: KeySpec },
): Promise<TestLeaf> {
  const keyPem = opts.keyPem ?? (await makeKey(opts.key));
  const [first, ...rest] = opts.domains;
  const commonName = opts.commonName ?? first;
  const csrPem = await createCsr({ keyPem, commonName, domains: opts.commonName === undefined ? rest : opts.domains });
  const certPem = await signCertificate({
    csrPem,
    caKeyPem: ca.keyPem,
    caCertPem: ca.certPem,
    validityDays: opts.validityDays ?? 90,
    ...(opts.issuedAt && { now: opts.issuedAt }),
  });
  return { keyPem, csrPem, certPem };
}

export const daysAgo = (days: number, from = Date.now()): Date => new Date(from - days * DAY_MS);

/** A new, empty folder under the system's temporary folder. */
export function makeTempDir(prefix = 'autossl-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * Writes a blueprint into `dir` and returns its path. An object is written as YAML; a string is written as it is
 * (for malformed blueprints).
 */
export async function writeBlueprint(dir: string, content: string | Record<string, unknown>, fileName = 'blueprint.yaml'): Promise<string> {
  const file = path.join(dir, fileName);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, typeof content === 'string' ? content : stringify(content), 'utf8');
  return file;
}
