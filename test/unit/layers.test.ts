// The layering rules a reviewer would otherwise have to remember: plugins never import Temporal (what they need of
// the activity arrives in their context), and workflow code imports nothing that does I/O.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const SRC = path.resolve(__dirname, '../../../src');

function sources(folder: string): string[] {
  return readdirSync(path.join(SRC, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(folder, f));
}

/** Every module a file imports or requires, with whether the import is of types only (erased at build). */
function importsOf(file: string): { from: string; typeOnly: boolean }[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  const found = [...text.matchAll(/^import (type )?[\s\S]*?from '([^']+)';/gm)].map((m) => ({ from: m[2], typeOnly: m[1] !== undefined }));
  const required = [...text.matchAll(/require(?:\.resolve)?\('([^']+)'\)/g)].map((m) => ({ from: m[1], typeOnly: false }));
  return [...found, ...required];
}

/** Where a relative import of `file` lands, as a path under src ('blueprint/load'); undefined for a package. */
function target(file: string, from: string): string | undefined {
  if (!from.startsWith('.')) return undefined;
  return path
    .relative(SRC, path.resolve(SRC, path.dirname(file), from))
    .split(path.sep)
    .join('/');
}

// What plugins may know of the blueprint layer: the catalog interface they describe themselves in and the types
// of what a blueprint holds; never the loader's internals.
const BLUEPRINT_INTERFACE = ['blueprint/catalog', 'blueprint/types', 'blueprint/credentials', 'blueprint/errors'];

describe('layers', () => {
  it('the blueprint layer imports no plugin, catalog or higher layer', () => {
    const above = ['plugins', 'catalog', 'activities', 'inspect', 'workflows', 'worker', 'client'];
    const offenders = sources('blueprint').flatMap((f) =>
      importsOf(f)
        .filter((i) => above.some((layer) => target(f, i.from)?.startsWith(`${layer}/`) || target(f, i.from) === layer))
        .map((i) => `${f}: ${i.from}`),
    );
    assert.deepEqual(offenders, []);
  });

  it('plugins import of the blueprint layer only its declared interface, and nothing of the catalog', () => {
    const offenders = sources('plugins').flatMap((f) =>
      importsOf(f)
        .filter((i) => {
          const to = target(f, i.from);
          return (
            to !== undefined && ((to.startsWith('blueprint/') && !BLUEPRINT_INTERFACE.includes(to)) || to === 'catalog' || to.startsWith('catalog/'))
          );
        })
        .map((i) => `${f}: ${i.from}`),
    );
    assert.deepEqual(offenders, []);
  });

  it('no plugin imports or requires a Temporal module', () => {
    const offenders = sources('plugins').flatMap((f) =>
      importsOf(f)
        .filter((i) => i.from.startsWith('@temporalio'))
        .map((i) => `${f}: ${i.from}`),
    );
    assert.deepEqual(offenders, []);
  });

  it('workflow code imports only the workflow SDK and pure modules (types of the rest)', () => {
    const allowed = (from: string) =>
      from === '@temporalio/workflow' || from === '@temporalio/common' || from.startsWith('./') || from === '../errors';
    const offenders = sources('workflows').flatMap((f) =>
      importsOf(f)
        .filter((i) => !i.typeOnly && !allowed(i.from))
        .map((i) => `${f}: ${i.from}`),
    );
    assert.deepEqual(offenders, []);
  });

  it('the error classification, which workflows and plugins share, imports nothing', () => {
    assert.deepEqual(importsOf('errors.ts'), []);
  });
});
