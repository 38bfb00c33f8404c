// Files a blueprint names in a CA storage: local-ca's `ca_private_key` and `ca_certificate`, an ACME CA's
// `storage.name` (its account key). AutoSSL reads the file of exactly that name (`autossl_ca.key`); this project
// long appended the kind to a base name (`internal-ca` → `internal-ca.key`). Both keep working, by one rule:
//  - reading: the file named exactly, else `<name>.<kind>`; when both exist, the exact one wins;
//  - creating (nothing under either name): a name ending in a key or certificate extension is created as
//    written, any other as `<name>.<kind>`, so one bare name still gives a CA its `.key` and its `.crt`.
import type { ArtifactKind } from '../../blueprint/types';
import type { StoragePlugin } from '../types';

/** Extensions that say a name is a whole file name already. */
const FILE_EXTENSION = /\.(key|pem|crt|cer)$/i;

export interface NamedFile {
  /** The file's name in the storage. */
  file: string;
  content: string;
}

/** The file names `name` stands for, in the order they are read. */
export const namedFileCandidates = (name: string, kind: ArtifactKind): [string, string] => [name, `${name}.${kind}`];

/** The file created for `name` when neither candidate exists. */
export const createdFileName = (name: string, kind: ArtifactKind): string => (FILE_EXTENSION.test(name) ? name : `${name}.${kind}`);

/** The file `name` stands for, `null` when neither candidate exists. */
export async function readNamedFile(storage: StoragePlugin, name: string, kind: ArtifactKind): Promise<NamedFile | null> {
  for (const file of namedFileCandidates(name, kind)) {
    const content = await storage.getFile(file, kind);
    if (content !== null) return { file, content };
  }
  return null;
}

/**
 * Creates the file for `name` unless another writer just did (atomic in the storage); returns what is stored
 * there afterwards and whether it is `content`.
 */
export async function createNamedFile(
  storage: StoragePlugin,
  name: string,
  kind: ArtifactKind,
  content: string,
  message: string,
): Promise<NamedFile & { created: boolean }> {
  const file = createdFileName(name, kind);
  const stored = await storage.createFile(file, kind, content, message);
  return { file, content: stored, created: stored === content };
}
