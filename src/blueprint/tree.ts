// YAML text → a small tree of plain values that remembers where each came from. Aliases and `<<` merge keys are
// resolved here, so validation deals with mappings, lists and scalars only and still reports file, line, column.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { BlueprintIssue } from './errors';

export interface Source {
  file: string;
  lines: LineCounter;
}

export interface Pos {
  src: Source;
  offset: number;
}

export interface TEntry {
  keyPos: Pos;
  value: TNode;
}

export interface TMap {
  kind: 'map';
  pos: Pos;
  entries: Map<string, TEntry>;
}

export interface TSeq {
  kind: 'seq';
  pos: Pos;
  items: TNode[];
}

export interface TScalar {
  kind: 'scalar';
  pos: Pos;
  value: string | number | boolean | null;
}

export type TNode = TMap | TSeq | TScalar;

/** Collects issues once each: a global config section shared by many blueprints is checked with each of them. */
export class Issues {
  readonly list: BlueprintIssue[] = [];
  private readonly seen = new Set<string>();

  inFile(file: string, message: string, line?: number, column?: number): void {
    const key = `${file}\0${line}\0${column}\0${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push({ file, ...(line !== undefined && { line, column }), message });
  }

  at(pos: Pos, message: string): void {
    const { line, col } = pos.src.lines.linePos(pos.offset);
    this.inFile(pos.src.file, message, Math.max(line, 1), col);
  }
}

/** YAML errors that an over-indented line causes (both are reported for the same line). */
const OVER_INDENTED = new Set(['BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY']);

// A document of a few kilobytes needs a handful of aliases; far more means an alias bomb.
const MAX_ALIASES = 1000;
const MAX_YAML_PROBLEMS = 10;
const MAX_MESSAGE = 120;

/** Parses one YAML document; `undefined` when the text is not valid YAML (the reasons are in `issues`). */
export function parseYaml(text: string, file: string, issues: Issues): TNode | undefined {
  const src: Source = { file, lines: new LineCounter() };
  const doc = parseDocument(text, { lineCounter: src.lines, prettyErrors: false, merge: true });
  const problems = [...doc.errors, ...doc.warnings];
  // A file that is not YAML at all (a binary, a swapped file) yields an error per line: the first few say it.
  for (const e of problems.slice(0, MAX_YAML_PROBLEMS)) {
    if (OVER_INDENTED.has(e.code)) {
      // The parser blames the key above; the line to fix is the over-indented one below it.
      const next = text.indexOf('\n', e.pos[0]);
      const offset = next < 0 ? e.pos[0] : next + 1 + (text.slice(next + 1).match(/^[ \t]*/)?.[0].length ?? 0);
      issues.at({ src, offset }, 'invalid YAML: this line is indented more than the key above it');
    } else {
      // The parser quotes the offending text, which may be a whole line of binary: the start is enough.
      const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE)}...` : e.message;
      issues.at({ src, offset: e.pos[0] }, `invalid YAML: ${message}`);
    }
  }
  if (problems.length > MAX_YAML_PROBLEMS) {
    issues.inFile(file, `invalid YAML: ${problems.length - MAX_YAML_PROBLEMS} more problem(s) not shown; is this a YAML file?`);
  }
  if (problems.length > 0) return undefined;
  const before = issues.list.length;
  const tree = new Converter(doc, src, issues).convert(doc.contents, 0);
  return issues.list.length === before ? tree : undefined;
}

class Converter {
  private aliases = 0;
  private readonly open = new Set<Node>();

  constructor(
    private readonly doc: Document,
    private readonly src: Source,
    private readonly issues: Issues,
  ) {}

  convert(node: Node | null | undefined, fallback: number): TNode {
    const pos: Pos = { src: this.src, offset: node?.range?.[0] ?? fallback };
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      // Said once: the document is refused anyway.
      if (++this.aliases > MAX_ALIASES) {
        return this.aliases === MAX_ALIASES + 1 ? this.fail(pos, `more than ${MAX_ALIASES} aliases`) : { kind: 'scalar', pos, value: null };
      }
      if (!target) return this.fail(pos, `alias *${node.source} has no anchor before it`);
      if (this.open.has(target)) return this.fail(pos, `alias *${node.source} refers to itself`);
      return this.convert(target, pos.offset);
    }
    if (isMap(node) || isSeq(node)) {
      this.open.add(node);
      try {
        if (isMap(node)) return this.mapping(node.items, pos);
        return { kind: 'seq', pos, items: node.items.map((n) => this.convert(n as Node, pos.offset)) };
      } finally {
        this.open.delete(node);
      }
    }
    if (node == null) return { kind: 'scalar', pos, value: null };
    const value = isScalar(node) ? node.value : undefined;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
      return { kind: 'scalar', pos, value: value as TScalar['value'] };
    }
    return this.fail(pos, 'unsupported value: use text, a number, true/false, a list or a mapping');
  }

  private mapping(pairs: { key: unknown; value: unknown }[], pos: Pos): TMap {
    const entries = new Map<string, TEntry>();
    const merges: TNode[] = [];
    for (const pair of pairs) {
      const key = pair.key as Node | null;
      const keyPos: Pos = { src: this.src, offset: key?.range?.[0] ?? pos.offset };
      const value = this.convert(pair.value as Node | null, keyPos.offset);
      const name = isScalar(key) ? key.value : undefined;
      if (typeof name === 'symbol') merges.push(value);
      else if (typeof name === 'string' || typeof name === 'number' || typeof name === 'boolean') entries.set(String(name), { keyPos, value });
      else this.issues.at(keyPos, 'a key must be plain text');
    }
    // `<<` fills in only keys the mapping does not set itself; earlier merge sources win over later ones.
    for (const source of merges.flatMap((m) => (m.kind === 'seq' ? m.items : [m]))) {
      if (source.kind !== 'map') {
        this.issues.at(source.pos, '<< merges mappings only');
        continue;
      }
      for (const [name, entry] of source.entries) if (!entries.has(name)) entries.set(name, entry);
    }
    return { kind: 'map', pos, entries };
  }

  private fail(pos: Pos, message: string): TScalar {
    this.issues.at(pos, message);
    return { kind: 'scalar', pos, value: null };
  }
}

/** The plain JavaScript value of a subtree (for free-form mappings handed on as they are). */
export function toPlain(node: TNode): unknown {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'seq') return node.items.map(toPlain);
  // fromEntries defines own properties, so a key named `__proto__` stays data.
  return Object.fromEntries([...node.entries].map(([k, e]) => [k, toPlain(e.value)]));
}

export const isNull = (node: TNode | undefined): boolean => node === undefined || (node.kind === 'scalar' && node.value === null);
