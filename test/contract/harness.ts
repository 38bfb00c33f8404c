// What the contract suites share: implementations are opened the way the worker opens them, from a small
// blueprint loaded by the real loader (so parameters are checked and in-house modules resolved), and real
// services are started once per test file, on first use.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import type { PluginEnvironment } from '../../src/catalog/open';
import { makeTempDir, writeBlueprint } from '../helpers/pki';

/** The in-house plugin modules of the tests and the example one, by absolute path (a blueprint `type`). */
export const FIXTURE_PLUGINS = path.resolve(__dirname, '../../../test/fixtures/plugins');
export const EXAMPLE_PLUGINS = path.resolve(__dirname, '../../../examples/plugins');

/** The certificate every contract blueprint is for; servers and CAs are checked with its names. */
export const CONTRACT_DOMAIN = 'contract.example.test';
export const CONTRACT_DOMAINS = [CONTRACT_DOMAIN, `www.${CONTRACT_DOMAIN}`];

export interface Opened {
  blueprint: Blueprint;
  /** Resolves the blueprint's credentials from `credentialEnv` only (NAME_FIELD variables). */
  env: PluginEnvironment;
  /** The folder the blueprint was written to: a fresh one per call, for the implementation's files. */
  dir: string;
  /** Removes `dir`. */
  teardown(): Promise<void>;
}

/**
 * Writes a blueprint of `sections` (YAML top-level keys; a certificate for CONTRACT_DOMAINS from a manual CA
 * unless given) into a new temporary folder, loads it and returns it with a plugin environment. `sections` may
 * be a function of that folder, for paths inside it.
 */
export async function openBlueprint(
  sections: Record<string, unknown> | ((dir: string) => Record<string, unknown>),
  credentialEnv: Record<string, string> = {},
): Promise<Opened> {
  const dir = await makeTempDir('autossl-contract-');
  const file = await writeBlueprint(dir, {
    name: CONTRACT_DOMAIN,
    certificate: { type: 'DV', certificate_authority: 'Manual', common_name: CONTRACT_DOMAIN, san: CONTRACT_DOMAINS.slice(1) },
    certificate_authorities: [{ name: 'Manual', key: 'Manual' }],
    ...(typeof sections === 'function' ? sections(dir) : sections),
  });
  const [blueprint] = await loadBlueprints({ blueprint: file, env: {} });
  return {
    blueprint,
    env: { staging: false, credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: credentialEnv }) },
    dir,
    teardown: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** A service started by the first `get()` and stopped after the test file; setups of several implementations share it. */
export function sharedService<T>(start: () => Promise<T>, stop: (service: T) => Promise<void>): { get(): Promise<T> } {
  let started: Promise<T> | undefined;
  after(async () => {
    if (started) await stop(await started);
  });
  return { get: () => (started ??= start()) };
}

/** Checks an implementation is known to fail, by title, with the reason: reported as todo so the suite stays green. */
export type Todo = Record<string, string>;

/**
 * The `it` of a suite: each check gets a fresh target from `setup` (with the options `options()` gives when it
 * runs), and the target is closed and torn down whatever the check did.
 */
export function contractCheck<O, T extends { teardown(): Promise<void> }>(
  setup: (options: O) => Promise<T>,
  close: (target: T) => Promise<void>,
  todo: Todo,
) {
  // node:test runs what `it` registers; its promise is the runner's, as for a bare `it`.
  return (title: string, fn: (target: T) => Promise<void>, options: () => O = () => ({}) as O): void =>
    void it(title, { todo: todo[title] }, async () => {
      const target = await setup(options());
      try {
        await fn(target);
      } finally {
        await close(target);
        await target.teardown();
      }
    });
}

/** A file's text, or null when it does not exist: what a setup reads its target with. */
export const readIfExists = (file: string): Promise<string | null> =>
  fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/** The PEM blocks of a text, without the line ends between them: to compare bundles however they are joined. */
export const pemBlocks = (text: string): string[] => text.match(PEM_BLOCK) ?? [];
