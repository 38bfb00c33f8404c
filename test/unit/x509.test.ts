import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import type { KeySpec } from '../../src/blueprint/types';
import {
  CertificateError,
  CsrError,
  KeyError,
  createCsr,
  createSelfSignedCa,
  daysLeft,
  describeKey,
  generatePrivateKey,
  keyMatchesCertificate,
  parseCertificate,
  parseCsr,
  publicKeySha256,
  signCertificate,
  splitPemCertificates,
  verifyChain,
} from '../../src/x509';
import * as px from '../../src/x509/peculiar';
import { embeddedPublicKey } from '../../src/x509/der';
import { importSigningKeys } from '../../src/x509/webcrypto';

const DAY = 86_400_000;
// Whole seconds: certificate times have no milliseconds.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

const ORGANIZATION = {
  company_name: 'Autossl, Inc.',
  street_address: 'Newbury street',
  city: 'Boston',
  state: 'Massachusetts',
  postal_code: '02115',
  country_code: 'us',
  email_address: 'pki@example.com',
};

const SPECS: KeySpec[] = [
  { type: 'rsa', bits: 2048 },
  { type: 'rsa', bits: 3072 },
  { type: 'rsa', bits: 4096 },
  { type: 'ec', curve: 'P-256' },
  { type: 'ec', curve: 'P-384' },
];

// Fixtures, made once: RSA 4096 generation alone takes a second or more.
let specKeys: string[];
let rsaKey: string; // leaf
let rsaCaKey: string;
let rootKey: string;
let interKey: string;
let otherKey: string;
let ecLeafKey: string;
let root: string; // 'Test Root', EC P-256
let rsaRoot: string;
let interCsr: string;
let inter: string; // 'example.com', name-constrained to example.com and example.net, path length 0
let leafCsr: string;
let leaf: string; // www.example.com + api.example.com, RSA, issued by inter
let otherRoot: string;
let impostorRoot: string; // also named 'Test Root', another key
let work: string;

before(async () => {
  specKeys = await Promise.all(SPECS.map(generatePrivateKey));
  [rsaKey, rsaCaKey] = [specKeys[0], specKeys[1]];
  [rootKey, interKey] = [specKeys[3], specKeys[4]];
  [otherKey, ecLeafKey] = await Promise.all([1, 2].map(() => generatePrivateKey({ type: 'ec', curve: 'P-256' })));
  [root, rsaRoot, otherRoot, impostorRoot] = await Promise.all([
    createSelfSignedCa({ keyPem: rootKey, commonName: 'Test Root', validityDays: 3650 }),
    createSelfSignedCa({ keyPem: rsaCaKey, commonName: 'RSA Root', validityDays: 3650 }),
    createSelfSignedCa({ keyPem: otherKey, commonName: 'Other Root', validityDays: 3650 }),
    createSelfSignedCa({ keyPem: otherKey, commonName: 'Test Root', validityDays: 3650 }),
  ]);
  interCsr = await createCsr({ keyPem: interKey, commonName: 'example.com', domains: ['*.example.net'], isCa: true });
  inter = await signCertificate({ csrPem: interCsr, caKeyPem: rootKey, caCertPem: root, validityDays: 365 });
  leafCsr = await createCsr({ keyPem: rsaKey, commonName: 'www.example.com', domains: ['api.example.com'], organization: ORGANIZATION });
  leaf = await signCertificate({ csrPem: leafCsr, caKeyPem: interKey, caCertPem: inter, validityDays: 90 });
  work = mkdtempSync(path.join(tmpdir(), 'autossl-x509-'));
});

after(() => rmSync(work, { recursive: true, force: true }));

/** Issues a leaf for `domains` (first = CN) from a CA. */
async function issue(domains: string[], ca: { key: string; cert: string }, opts: { key?: string; now?: Date; days?: number } = {}) {
  const csrPem = await createCsr({ keyPem: opts.key ?? ecLeafKey, commonName: domains[0], domains });
  return signCertificate({ csrPem, caKeyPem: ca.key, caCertPem: ca.cert, validityDays: opts.days ?? 90, now: opts.now });
}

/** A certificate signCertificate would refuse to make, built directly with @peculiar/x509. */
async function forge(o: {
  cn: string;
  key: string;
  issuer: { key: string; cert: string };
  ca?: boolean;
  san?: string[];
  extensions?: px.Extension[];
}) {
  const subject = await importSigningKeys(o.key);
  const signer = await importSigningKeys(o.issuer.key);
  const cert = await px.X509CertificateGenerator.create({
    subject: new px.Name([{ CN: [o.cn] }]),
    issuer: new px.X509Certificate(o.issuer.cert).subjectName,
    publicKey: subject.keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signer.signingAlgorithm,
    notBefore: ago(1),
    notAfter: ago(-30),
    extensions: [
      ...(o.ca === undefined ? [] : [new px.BasicConstraintsExtension(o.ca, undefined, true)]),
      ...(o.san ? [new px.SubjectAlternativeNameExtension(o.san.map((value) => ({ type: 'dns' as const, value })))] : []),
      ...(o.extensions ?? []),
    ],
  });
  return cert.toString('pem');
}

function openssl(args: string[], files: Record<string, string>): { ok: boolean; output: string } {
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(work, name), content);
  const r = spawnSync('openssl', args, { cwd: work, encoding: 'utf8' });
  assert.equal(r.error, undefined, 'the openssl command line tool is needed by this test');
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

const reasonOf = (verdict: ReturnType<typeof verifyChain>): string => (verdict.ok ? 'ok' : verdict.reason);

describe('keys', () => {
  it('generates PKCS#8 keys of every supported type and size, and recognises them', () => {
    SPECS.forEach((spec, i) => {
      assert.match(specKeys[i], /^-----BEGIN PRIVATE KEY-----\n/);
      assert.deepEqual(describeKey(specKeys[i]), spec);
    });
    assert.notEqual(specKeys[3], otherKey, 'two generated keys differ');
  });

  it('recognises PKCS#1 and SEC1 keys too', () => {
    const pkcs1 = createPrivateKey(rsaKey).export({ type: 'pkcs1', format: 'pem' }) as string;
    const sec1 = createPrivateKey(interKey).export({ type: 'sec1', format: 'pem' }) as string;
    assert.deepEqual(describeKey(pkcs1), { type: 'rsa', bits: 2048 });
    assert.deepEqual(describeKey(sec1), { type: 'ec', curve: 'P-384' });
    assert.equal(keyMatchesCertificate(pkcs1, leaf), true);
  });

  it('refuses key types a blueprint cannot ask for', async () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const ed25519 = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.throws(() => describeKey(rsa1024), { name: 'KeyError', message: /RSA 1024 bits/ });
    assert.throws(() => describeKey(ed25519), { name: 'KeyError', message: /ed25519/ });
    await assert.rejects(generatePrivateKey({ type: 'rsa', bits: 1024 } as unknown as KeySpec), KeyError);
  });

  it('says what is wrong with an unusable key without quoting it', () => {
    const body = rsaKey.split('\n').slice(1, -2);
    const truncated = ['-----BEGIN PRIVATE KEY-----', ...body.slice(0, 5), '-----END PRIVATE KEY-----'].join('\n');
    const cases: [string, RegExp][] = [
      ['', /empty private key/],
      ['hello', /not a PEM private key/],
      [leaf, /not a PEM private key/],
      [truncated, /could not be parsed/],
      ['-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n', /encrypted/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => describeKey(input),
        (err: Error) => {
          assert.ok(err instanceof KeyError);
          assert.match(err.message, message);
          assert.ok(!body.some((line) => err.message.includes(line.slice(0, 16))), 'no key material in the message');
          return true;
        },
      );
    }
  });
});

describe('CSR', () => {
  it('puts the common name first among the SANs, normalised, without duplicates', async () => {
    const domains = ['www.a.com', 'WWW.A.com', 'bücher.example'];
    const csr = await createCsr({ keyPem: ecLeafKey, commonName: 'Bücher.example', domains });
    const info = parseCsr(csr);
    assert.equal(info.commonName, 'xn--bcher-kva.example');
    assert.deepEqual(info.domains, ['xn--bcher-kva.example', 'www.a.com']);
    assert.equal(info.isCa, false);
    assert.equal(info.publicKeySha256, publicKeySha256(ecLeafKey));
    assert.notEqual(info.publicKeySha256, publicKeySha256(otherKey));
  });

  it('includes a common name missing from the domains, and works without a common name', async () => {
    assert.deepEqual(parseCsr(leafCsr).domains, ['www.example.com', 'api.example.com']);
    const noCn = parseCsr(await createCsr({ keyPem: ecLeafKey, domains: ['a.com', 'b.com'] }));
    assert.equal(noCn.commonName, undefined);
    assert.deepEqual(noCn.domains, ['a.com', 'b.com']);
  });

  it('puts the organization in the subject of the issued certificate', () => {
    assert.equal(
      parseCertificate(leaf).subject,
      'C=US, ST=Massachusetts, L=Boston, street=Newbury street, postalCode=02115, O=Autossl\\, Inc., ' +
        'CN=www.example.com, emailAddress=pki@example.com',
    );
  });

  it('keeps a common name longer than 64 characters (the X.520 limit) as a SAN only', async () => {
    const long = `${'a'.repeat(60)}.example.com`;
    const info = parseCsr(await createCsr({ keyPem: ecLeafKey, commonName: long, domains: [] }));
    assert.deepEqual([info.commonName, info.domains], [undefined, [long]]);
  });

  it('marks a CA request', () => {
    assert.equal(parseCsr(interCsr).isCa, true);
  });

  it('refuses invalid names and country codes with a message naming them', async () => {
    await assert.rejects(createCsr({ keyPem: ecLeafKey, domains: ['ok.com', 'a..com'] }), { name: 'CsrError', message: /'a\.\.com'/ });
    await assert.rejects(createCsr({ keyPem: ecLeafKey, domains: [] }), CsrError);
    await assert.rejects(createCsr({ keyPem: ecLeafKey, domains: ['a.com'], organization: { country_code: 'USA' } }), {
      name: 'CsrError',
      message: /country code 'USA'/,
    });
  });

  it('says what is wrong with an unreadable CSR', () => {
    assert.throws(() => parseCsr(''), { name: 'CsrError', message: /empty/ });
    assert.throws(() => parseCsr(leaf), { name: 'CsrError', message: /not a PEM certificate request/ });
  });
});

describe('parseCertificate', () => {
  it('reads the leaf: names, dates, issuer, CA flags', () => {
    const info = parseCertificate(leaf);
    assert.equal(info.commonName, 'www.example.com');
    assert.deepEqual(info.domains, ['www.example.com', 'api.example.com']);
    assert.equal(info.issuer, 'CN=example.com');
    assert.equal(info.isCa, false);
    assert.equal(info.selfSigned, false);
    // Issued for 90 days a moment after NOW.
    assert.equal(daysLeft(info.notAfter, NOW), 90);
    assert.equal(daysLeft(info.notAfter, ago(-1)), 89);
  });

  it('reads a root and an intermediate', () => {
    assert.deepEqual([parseCertificate(root).isCa, parseCertificate(root).selfSigned, parseCertificate(root).subject], [true, true, 'CN=Test Root']);
    assert.deepEqual([parseCertificate(inter).isCa, parseCertificate(inter).selfSigned], [true, false]);
  });

  it('reports serial and fingerprint the way openssl does', () => {
    const info = parseCertificate(leaf);
    const der = Buffer.from(leaf.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const fingerprint = createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
    assert.equal(info.fingerprint256, fingerprint);
    const printed = openssl(['x509', '-in', 'leaf.pem', '-noout', '-serial'], { 'leaf.pem': leaf });
    assert.equal(`serial=${info.serial}`, printed.output.trim());
  });

  it('uses the common name as the only domain when there is no SAN, and ignores it when there is one', async () => {
    const legacy = await forge({ cn: 'Legacy.Example.com', key: ecLeafKey, issuer: { key: rootKey, cert: root } });
    assert.deepEqual(parseCertificate(legacy).domains, ['legacy.example.com']);
    const both = await forge({ cn: 'cn.example.com', san: ['San.Example.com'], key: ecLeafKey, issuer: { key: rootKey, cert: root } });
    assert.deepEqual(parseCertificate(both).domains, ['san.example.com']);
  });

  it('takes the first certificate of a bundle as the leaf, whatever the line endings and surrounding text', () => {
    const bundle = `subject=www.example.com\r\n${leaf.replace(/\n/g, '\r\n')}\r\nissuer\r\n${inter}`;
    assert.deepEqual(splitPemCertificates(bundle), [leaf, inter]);
    assert.equal(parseCertificate(bundle).serial, parseCertificate(leaf).serial);
  });

  it('says what is wrong with input that is not a certificate', () => {
    const cases: [string, RegExp][] = [
      ['', /empty file/],
      ['  \n', /empty file/],
      ['hello world', /not a PEM certificate$/],
      [rsaKey, /private key/],
      [leafCsr, /certificate request/],
      ['-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n', /not valid base64/],
      ['-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n', /malformed DER/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => parseCertificate(input),
        (e: Error) => e instanceof CertificateError && message.test(e.message),
      );
    }
  });

  it('counts whole days left, negative once expired', () => {
    const end = new Date(NOW.getTime() + 10 * DAY).toISOString();
    assert.equal(daysLeft(end, NOW), 10);
    assert.equal(daysLeft(end, new Date(NOW.getTime() + 1)), 9);
    assert.equal(daysLeft(end, new Date(NOW.getTime() + 10 * DAY)), 0);
    assert.equal(daysLeft(end, new Date(NOW.getTime() + 10 * DAY + 1000)), -1);
  });
});

describe('keyMatchesCertificate', () => {
  it('matches RSA and ECDSA keys with their certificates', () => {
    assert.equal(keyMatchesCertificate(rsaKey, leaf), true);
    assert.equal(keyMatchesCertificate(interKey, inter), true);
    assert.equal(keyMatchesCertificate(rootKey, root), true);
  });

  it('refuses another key of the same or another type', () => {
    assert.equal(keyMatchesCertificate(specKeys[1], leaf), false); // RSA vs RSA
    assert.equal(keyMatchesCertificate(otherKey, root), false); // P-256 vs P-256
    assert.equal(keyMatchesCertificate(rootKey, leaf), false); // EC vs RSA
    assert.equal(keyMatchesCertificate(rsaKey, inter), false); // RSA vs EC
  });

  it('reads the public half of PKCS#8, PKCS#1 and SEC1 keys the way OpenSSL does', () => {
    for (const pem of [rsaKey, interKey, rootKey, otherKey, ...specKeys]) {
      const key = createPrivateKey(pem);
      const expected = key.export({ format: 'jwk' });
      const traditional = key.export({ type: key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1', format: 'pem' }) as string;
      for (const form of [pem, traditional]) {
        const jwk = embeddedPublicKey(form);
        assert.ok(jwk, form.split('\n')[0]);
        for (const [member, value] of Object.entries(jwk)) assert.equal(value, expected[member as keyof typeof expected], member);
      }
    }
  });

  it('falls back to OpenSSL for a key without its public half, and still matches it', () => {
    // SEC1 with the optional public key left out, as `openssl ec -no_public` writes it.
    const sec1 = createPrivateKey(rootKey).export({ type: 'sec1', format: 'der' });
    const withoutPublic = Buffer.from(sec1.subarray(0, sec1.indexOf(Buffer.from([0xa1]), 7 + 32)));
    withoutPublic[1] = withoutPublic.length - 2;
    const pem = `-----BEGIN EC PRIVATE KEY-----\n${withoutPublic.toString('base64')}\n-----END EC PRIVATE KEY-----\n`;
    assert.equal(embeddedPublicKey(pem), undefined);
    assert.equal(keyMatchesCertificate(pem, root), true);
    assert.equal(keyMatchesCertificate(pem, leaf), false);
  });

  it('rejects a damaged key instead of trusting its public half', () => {
    const der = createPrivateKey(rsaKey).export({ type: 'pkcs1', format: 'der' });
    const truncated = `-----BEGIN RSA PRIVATE KEY-----\n${der.subarray(0, der.length - 20).toString('base64')}\n-----END RSA PRIVATE KEY-----\n`;
    assert.equal(embeddedPublicKey(truncated), undefined);
    assert.throws(() => keyMatchesCertificate(truncated, leaf), KeyError);
  });
});

describe('signCertificate', () => {
  it('gives every certificate a distinct random positive serial of 128 bits', async () => {
    const again = await signCertificate({ csrPem: leafCsr, caKeyPem: interKey, caCertPem: inter, validityDays: 90 });
    const [a, b] = [parseCertificate(leaf).serial, parseCertificate(again).serial];
    assert.notEqual(a, b);
    for (const serial of [a, b]) assert.ok(serial.length >= 30 && serial.length <= 34 && !serial.startsWith('00'), serial);
  });

  it('issues a server certificate: key identifiers, serverAuth, CA:FALSE, key usage per key type', async () => {
    const rsa = new px.X509Certificate(leaf);
    const ec = new px.X509Certificate(await issue(['ec.example.com'], { key: interKey, cert: inter }));
    const caKeyId = new px.X509Certificate(inter).getExtension(px.SubjectKeyIdentifierExtension)!.keyId;
    for (const cert of [rsa, ec]) {
      assert.equal(cert.getExtension(px.AuthorityKeyIdentifierExtension)?.keyId, caKeyId);
      assert.ok(cert.getExtension(px.SubjectKeyIdentifierExtension)?.keyId);
      assert.ok(cert.getExtension(px.ExtendedKeyUsageExtension)?.usages.includes(px.ExtendedKeyUsage.serverAuth));
      assert.equal(cert.getExtension(px.BasicConstraintsExtension)?.ca, false);
    }
    const usages = (c: px.X509Certificate) => c.getExtension(px.KeyUsagesExtension)!.usages;
    assert.equal(usages(rsa), px.KeyUsageFlags.digitalSignature | px.KeyUsageFlags.keyEncipherment);
    assert.equal(usages(ec), px.KeyUsageFlags.digitalSignature);
    assert.deepEqual(rsa.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } }, 'signed with the EC key of the CA');
  });

  it('signs with RSA PKCS#1 v1.5 and SHA-256 when the CA key is RSA', async () => {
    const cert = new px.X509Certificate(await issue(['rsa-ca.example.com'], { key: rsaCaKey, cert: rsaRoot }));
    assert.deepEqual(cert.signatureAlgorithm, { name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
  });

  it('backdates by five minutes and lasts the requested number of days', async () => {
    const info = parseCertificate(await issue(['t.example.com'], { key: interKey, cert: inter }, { now: NOW, days: 30 }));
    assert.equal(info.notBefore, new Date(NOW.getTime() - 5 * 60_000).toISOString());
    assert.equal(info.notAfter, new Date(NOW.getTime() + 30 * DAY).toISOString());
  });

  it('issues a name-constrained CA of path length 0 for a CA request', () => {
    const ca = new px.X509Certificate(inter);
    const bc = ca.getExtension(px.BasicConstraintsExtension)!;
    assert.deepEqual([bc.ca, bc.pathLength, bc.critical], [true, 0, true]);
    assert.equal(ca.getExtension(px.KeyUsagesExtension)!.usages, px.KeyUsageFlags.keyCertSign | px.KeyUsageFlags.cRLSign);
    const nc = AsnConvert.parse(ca.getExtension(id_ce_nameConstraints)!.value, NameConstraints);
    assert.deepEqual(
      Array.from(nc.permittedSubtrees!, (s) => s.base.dNSName),
      ['example.com', 'example.net'],
    );
  });

  it("refuses a tampered CSR, a CA key that is not the CA certificate's, and a sub-CA under a path length 0 CA", async () => {
    const der = Buffer.from(leafCsr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 1] ^= 1;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(signCertificate({ csrPem: tampered, caKeyPem: interKey, caCertPem: inter, validityDays: 1 }), {
      name: 'CsrError',
      message: /signature does not verify/,
    });
    await assert.rejects(signCertificate({ csrPem: leafCsr, caKeyPem: otherKey, caCertPem: root, validityDays: 1 }), {
      name: 'KeyError',
      message: /does not belong to the CA certificate 'Test Root'/,
    });
    const subCsr = await createCsr({ keyPem: ecLeafKey, commonName: 'sub.example.com', domains: [], isCa: true });
    await assert.rejects(signCertificate({ csrPem: subCsr, caKeyPem: interKey, caCertPem: inter, validityDays: 1 }), /path length 0/);
    await assert.rejects(signCertificate({ csrPem: leafCsr, caKeyPem: rsaKey, caCertPem: leaf, validityDays: 1 }), /not a CA certificate/);
  });

  it('refuses to make an unconstrained sub-CA', async () => {
    const { keys, signingAlgorithm } = await importSigningKeys(ecLeafKey);
    const request = await px.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=Anything CA',
      keys,
      signingAlgorithm,
      extensions: [new px.BasicConstraintsExtension(true, 0, true), new px.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.com' }])],
    });
    await assert.rejects(signCertificate({ csrPem: request.toString('pem'), caKeyPem: rootKey, caCertPem: root, validityDays: 1 }), {
      name: 'CsrError',
      message: /CA certificate without name constraints/,
    });
  });

  it('issues what openssl verify accepts, directly under a root and through the intermediate', async () => {
    const direct = await issue(['direct.example.org'], { key: rsaCaKey, cert: rsaRoot }, { key: rsaKey });
    const strict = ['verify', '-x509_strict', '-purpose', 'sslserver'];
    const r1 = openssl([...strict, '-CAfile', 'rsa-root.pem', 'direct.pem'], { 'rsa-root.pem': rsaRoot, 'direct.pem': direct });
    assert.ok(r1.ok, r1.output);
    const files = { 'root.pem': root, 'inter.pem': inter, 'leaf.pem': leaf };
    const r2 = openssl([...strict, '-CAfile', 'root.pem', '-untrusted', 'inter.pem', 'leaf.pem'], files);
    assert.ok(r2.ok, r2.output);
  });
});

describe('verifyChain', () => {
  it('accepts root → intermediate → leaf, in any order, as separate entries or one bundle', () => {
    assert.deepEqual(verifyChain(leaf, [inter, root], { at: NOW }), { ok: true });
    assert.deepEqual(verifyChain(leaf, [root, inter]), { ok: true });
    assert.deepEqual(verifyChain(leaf, [inter + root]), { ok: true });
  });

  it('accepts a path ending at a configured intermediate (servers deploy intermediates without the root)', () => {
    assert.deepEqual(verifyChain(leaf, [inter]), { ok: true });
  });

  it('rejects a leaf from another CA, naming the certificate', () => {
    assert.equal(reasonOf(verifyChain(leaf, [otherRoot])), "issuer of 'www.example.com' (CN=example.com) not found in the chain of trust");
    assert.match(reasonOf(verifyChain(inter, [impostorRoot])), /signature of 'example\.com' does not verify with the key of 'Test Root'/);
    // The configured intermediate is itself trusted: a useless extra certificate does not spoil it.
    assert.deepEqual(verifyChain(leaf, [inter, impostorRoot]), { ok: true });
  });

  it('rejects an expired intermediate, naming it and the date, unless checked at a time it was valid', async () => {
    const oldInter = await signCertificate({ csrPem: interCsr, caKeyPem: rootKey, caCertPem: root, validityDays: 30, now: ago(400) });
    const oldLeaf = await issue(['old.example.com'], { key: interKey, cert: oldInter }, { now: ago(390), days: 825 });
    const expiry = parseCertificate(oldInter).notAfter;
    assert.equal(reasonOf(verifyChain(oldLeaf, [oldInter, root])), `'example.com' expired on ${expiry}`);
    // The same root key and name, certified long ago, so the whole path was valid back then.
    const oldRoot = await createSelfSignedCa({ keyPem: rootKey, commonName: 'Test Root', validityDays: 3650, now: ago(500) });
    assert.deepEqual(verifyChain(oldLeaf, [oldInter, oldRoot], { at: ago(385) }), { ok: true });
    assert.match(reasonOf(verifyChain(oldLeaf, [oldInter, root], { at: ago(385) })), /^'Test Root' is not valid before /);
    // A renewed intermediate with the same key and name rescues the leaf.
    assert.deepEqual(verifyChain(oldLeaf, [oldInter, inter, root]), { ok: true });
  });

  it('rejects a leaf that is not yet valid', async () => {
    const future = await issue(['future.example.com'], { key: interKey, cert: inter }, { now: ago(-10) });
    assert.match(reasonOf(verifyChain(future, [inter, root])), /^'future\.example\.com' is not valid before /);
  });

  it('lets a name-constrained sub-CA vouch for its domains only', async () => {
    const ca = { key: interKey, cert: inter };
    for (const inside of [['shop.example.com'], ['x.example.net', 'deep.x.example.net'], ['example.com']]) {
      assert.deepEqual(verifyChain(await issue(inside, ca), [inter, root]), { ok: true }, inside.join());
    }
    for (const outside of ['www.other.org', 'notexample.com', 'example.com.evil.org']) {
      const mixed = await issue(['www.example.com', outside], ca);
      assert.equal(
        reasonOf(verifyChain(mixed, [inter, root])),
        `name constraints of 'example.com': '${outside}' is outside the permitted names (example.com, example.net)`,
      );
    }
    const strict = ['verify', '-CAfile', 'root.pem', '-untrusted', 'inter.pem', 'outside.pem'];
    const rejected = openssl(strict, { 'root.pem': root, 'inter.pem': inter, 'outside.pem': await issue(['www.other.org'], ca) });
    assert.equal(rejected.ok, false);
    assert.match(rejected.output, /subtree violation/);
  });

  it('honours excluded DNS subtrees', async () => {
    const excluded = new GeneralSubtrees([new GeneralSubtree({ base: new GeneralName({ dNSName: 'secret.example.com' }) })]);
    const value = AsnConvert.serialize(new NameConstraints({ excludedSubtrees: excluded }));
    const extensions = [new px.Extension(id_ce_nameConstraints, true, value)];
    const issuer = { key: rootKey, cert: root };
    const ca = { key: otherKey, cert: await forge({ cn: 'Excluding CA', key: otherKey, ca: true, issuer, extensions }) };
    assert.deepEqual(verifyChain(await issue(['ok.example.com'], ca), [ca.cert, root]), { ok: true });
    assert.equal(
      reasonOf(verifyChain(await issue(['a.secret.example.com'], ca), [ca.cert, root])),
      "name constraints of 'Excluding CA': 'a.secret.example.com' is in the excluded names (secret.example.com)",
    );
  });

  it('rejects an issuer that is not a CA, and a path longer than a CA allows', async () => {
    const underLeaf = await forge({ cn: 'x.example.com', san: ['x.example.com'], key: ecLeafKey, issuer: { key: rsaKey, cert: leaf } });
    assert.match(reasonOf(verifyChain(underLeaf, [leaf, inter, root])), /^'www\.example\.com' is not a CA certificate/);
    const subSub = await forge({ cn: 'Sub Sub CA', key: otherKey, ca: true, issuer: { key: interKey, cert: inter } });
    const deepLeaf = await issue(['deep.example.com'], { key: otherKey, cert: subSub });
    assert.equal(reasonOf(verifyChain(deepLeaf, [subSub, inter, root])), "'example.com' allows 0 intermediate CA(s) below it, the path has 1");
  });

  it('says when there is no chain or an entry is not a certificate', () => {
    assert.equal(reasonOf(verifyChain(leaf, [])), 'no chain of trust configured');
    assert.equal(reasonOf(verifyChain(leaf, [inter, 'garbage'])), 'chain of trust entry 2: not a PEM certificate');
  });
});
