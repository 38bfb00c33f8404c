// Artifacts as files `<path>/<name>.<kind>` in a folder on the worker's machine; CA files by their exact names.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactKind } from '../../../blueprint/types';
import { PluginConfigError, fsError } from '../../errors';
import { artifactMode, assertFileName, createFileExclusive, readFileIfExists, writeFileAtomic } from '../../fs-atomic';
import type { StorageFactory, StoragePlugin } from '../../types';

export const createLocalStorage: StorageFactory = (spec) => {
  const folder = spec.parameters.path;
  if (typeof folder !== 'string' || folder === '') throw new PluginConfigError('local storage', "needs a 'path'");
  const subject = `storage local:${folder}`;
  const kinds = spec.data?.length ? new Set(spec.data) : undefined;
  const file = (name: string, kind: ArtifactKind): string => {
    assertFileName(name, 'artifact name', subject);
    return path.join(folder, `${name}.${kind}`);
  };
  const named = (name: string): string => {
    assertFileName(name, 'file name', subject);
    return path.join(folder, name);
  };

  const storage: StoragePlugin = {
    stores: (kind) => !kinds || kinds.has(kind),
    get: async (name, kind) => readFileIfExists(subject, file(name, kind)),
    put: async (name, kind, content) => writeFileAtomic(subject, file(name, kind), content, artifactMode(kind)),
    create: async (name, kind, content) => createFileExclusive(subject, file(name, kind), content, artifactMode(kind)),
    getFile: async (name) => readFileIfExists(subject, named(name)),
    createFile: async (name, kind, content) => createFileExclusive(subject, named(name), content, artifactMode(kind)),
    remove: async (name, kind) => {
      const target = file(name, kind);
      await rm(target, { force: true }).catch((err) => {
        throw fsError(subject, `cannot remove ${target}`, err);
      });
    },
    locate: (name, kind) => `local:${file(name, kind)}`,
    close: async () => {},
  };
  return storage;
};
