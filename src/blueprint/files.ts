// Reading blueprint files: the files a `--blueprint` names (a folder searched recursively), their text (refused
// when it cannot be a blueprint), parsed into position-keeping trees. Validation is load.ts's.
import { readFile, stat as statCallback } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseYaml, type Issues, type TNode } from './tree';
export async function blueprintFiles(issues: Issues, target: string, config: string | undefined): Promise<string[]> {
  try {
    if (!(await stat(target)).isDirectory()) return [target];
  } catch (e) {
    issues.inFile(target, readProblem(e));
    return [];
  }
  const found: string[] = [];
  await walk(issues, target, found);
  const skip = config === undefined ? undefined : path.resolve(config);
  const files = found.filter((f) => path.resolve(f) !== skip).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) issues.inFile(target, 'no blueprint: no *.yaml or *.yml file in this folder or below');
  return files;
}

async function walk(issues: Issues, dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    issues.inFile(dir, readProblem(e));
    return;
  }
  for (const entry of entries) {
    // Hidden entries (.git of a blueprint repository, editor files) are not blueprints.
    if (entry.name.startsWith('.')) continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await walk(issues, file, out);
    else if (/\.ya?ml$/i.test(entry.name)) out.push(file);
  }
}

export async function parseFile(issues: Issues, file: string): Promise<TNode | undefined> {
  return parseText(issues, file, (await readAll([file]))[0]);
}

export function parseText(issues: Issues, file: string, text: string | Error): TNode | undefined {
  if (text instanceof Error) {
    issues.inFile(file, readProblem(text));
    return undefined;
  }
  return parseYaml(text, file, issues);
}

// The callback readFile, promisified: several times faster than fs.promises.readFile on small files.
const readText = promisify(readFile);
const statFile = promisify(statCallback);

// A blueprint is a few kilobytes. Anything far larger (a log, an image, /dev/zero) is refused before it is read:
// parsing it would take seconds and memory, and print thousands of errors.
const MAX_BLUEPRINT_BYTES = 1024 * 1024;

async function readBlueprintText(file: string): Promise<string | Error> {
  const st = await statFile(file).catch((e: Error) => e);
  if (st instanceof Error) return st;
  if (!st.isFile()) return new Error('not a regular file');
  if (st.size > MAX_BLUEPRINT_BYTES) return new Error(`${(st.size / 1024 / 1024).toFixed(1)} MiB; a blueprint is at most 1 MiB`);
  return readText(file, 'utf8').catch((e: Error) => e);
}

/** File contents in order, read a few dozen at a time: one by one, a thousand blueprints wait mostly on I/O. */
export async function readAll(files: string[]): Promise<(string | Error)[]> {
  const texts: (string | Error)[] = new Array(files.length);
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < files.length; i = next++) texts[i] = await readBlueprintText(files[i]);
  };
  await Promise.all(Array.from({ length: Math.min(32, files.length) }, reader));
  return texts;
}

function readProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === undefined && e instanceof Error) return e.message;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EISDIR') return 'is a folder; expected a YAML file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return `cannot read (${code ?? 'unknown error'})`;
}
