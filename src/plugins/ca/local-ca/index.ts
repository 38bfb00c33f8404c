// AutoSSL's LocalCa: an internal CA whose key and certificate live in the CA storage, under the names
// `ca_private_key` and `ca_certificate` give (as files named exactly, or base names: storage/named-file.ts). With
// `create_if_missing` it bootstraps itself (EC P-256 key, 10-year self-signed root), so an example blueprint works
// on a fresh clone.
import type { ArtifactKind, CertificateAuthoritySpec } from '../../../blueprint/types';
import { X509Error, createSelfSignedCa, generatePrivateKey, signCertificate, verifyChain } from '../../../x509';
import { PluginConfigError } from '../../errors';
import { createNamedFile, createdFileName, namedFileCandidates, readNamedFile } from '../../storage/named-file';
import type { CaFactory, StoragePlugin } from '../../types';
import type { LocalCaParameters } from './spec';

const CA_VALIDITY_DAYS = 3650;

interface LocalCaSettings {
  keyName: string;
  certificateName: string;
  validityDays: number;
  createIfMissing: boolean;
  commonName: string;
}

export const createLocalCa: CaFactory<LocalCaParameters> = async (spec, ctx) => {
  const subject = `certificate authority '${spec.name}' (local-ca)`;
  const settings = readSettings(spec, subject);
  if (!spec.storage) throw new PluginConfigError(subject, 'has no storage: the CA key and certificate are read from it');
  const storagePath = spec.storage.parameters.path;
  const where = `the CA storage (${spec.storage.type}${typeof storagePath === 'string' ? `:${storagePath}` : ''})`;
  const storage = await ctx.openStorage(spec.storage);
  return {
    async issue({ csr }) {
      const ca = await loadCa(storage, settings, subject, where);
      try {
        const certificate = await signCertificate({
          csrPem: csr,
          caKeyPem: ca.key,
          caCertPem: ca.certificate,
          validityDays: settings.validityDays,
        });
        // An expired CA, or a name-constrained one asked for another domain, signs fine but helps nobody.
        const verdict = verifyChain(certificate, [ca.certificate]);
        if (!verdict.ok) throw new X509Error(`issued a certificate that does not verify: ${verdict.reason}`);
        return { certificate, chain: [ca.certificate] };
      } catch (err) {
        // Unusable CA files or CSR: retrying cannot help, and the message must say which CA.
        if (err instanceof X509Error) throw new PluginConfigError(subject, err.message, { cause: err });
        throw err;
      }
    },
    close: () => storage.close(),
  };
};

/** Reads the CA pair, creating what is missing when allowed; never replaces anything that exists. */
async function loadCa(storage: StoragePlugin, s: LocalCaSettings, subject: string, where: string): Promise<{ key: string; certificate: string }> {
  const [storedKey, storedCertificate] = await Promise.all([
    readNamedFile(storage, s.keyName, 'key'),
    readNamedFile(storage, s.certificateName, 'crt'),
  ]);
  if (storedKey !== null && storedCertificate !== null) return { key: storedKey.content, certificate: storedCertificate.content };
  const looked = (name: string, kind: ArtifactKind) =>
    namedFileCandidates(name, kind)
      .map((f) => `'${f}'`)
      .join(' or ');
  const keyFile = `key ${looked(s.keyName, 'key')}`;
  const missing: string[] = [];
  if (storedKey === null) missing.push(keyFile);
  if (storedCertificate === null) missing.push(`certificate ${looked(s.certificateName, 'crt')}`);
  if (!s.createIfMissing) {
    throw new PluginConfigError(
      subject,
      `CA ${missing.join(' and ')} not found in ${where}; ` + 'provide the CA files there, or set create_if_missing: true to create a new CA',
    );
  }
  if (storedKey === null && storedCertificate !== null) {
    throw new PluginConfigError(
      subject,
      `CA ${keyFile} not found in ${where} while its certificate exists; restore the key (a new one would not match)`,
    );
  }
  // Key first: if storing the certificate fails, the next attempt certifies the same key instead of replacing it.
  // Created only if absent: lifecycles started together bootstrap one CA, and each uses what the first stored.
  const key =
    storedKey?.content ??
    (await createNamedFile(storage, s.keyName, 'key', await generatePrivateKey({ type: 'ec', curve: 'P-256' }), `${subject}: new CA private key`))
      .content;
  const ownCertificate = await createSelfSignedCa({ keyPem: key, commonName: s.commonName, validityDays: CA_VALIDITY_DAYS });
  const certificate = (await createNamedFile(storage, s.certificateName, 'crt', ownCertificate, `${subject}: new CA certificate`)).content;
  return { key, certificate };
}

function readSettings(spec: CertificateAuthoritySpec & { parameters: LocalCaParameters }, subject: string): LocalCaSettings {
  const p = spec.parameters;
  // A bare name gives two files (`.key`, `.crt`); a whole file name given twice would be read as both.
  if (createdFileName(p.ca_private_key, 'key') === createdFileName(p.ca_certificate, 'crt')) {
    throw new PluginConfigError(subject, `ca_private_key and ca_certificate both name the file '${p.ca_private_key}'; give each its own file`);
  }
  return {
    keyName: p.ca_private_key,
    certificateName: p.ca_certificate,
    validityDays: p.certificate_validity_days,
    createIfMissing: p.create_if_missing,
    commonName: p.ca_common_name ?? `${spec.name} Local CA`,
  };
}
