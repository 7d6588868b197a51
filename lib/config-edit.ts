// Editing one field of a config file in place, for the commands that change config (set-image, promote):
// every byte but the field's span is kept (comments, quoting, layout, line endings, bytes that are not
// UTF-8), a field shared through a YAML anchor is refused, and the edited file is parsed again as synth
// would parse it: it must be a valid config in which the one field, and nothing else, changed.
// Writing the result whole or not at all, through symbolic links and keeping the file's mode, is here too.
import * as fs from 'fs';
import * as path from 'path';
import { Alias, Document, isAlias, isMap, isNode, isPair, isScalar, isSeq, Node, Pair, parse, parseDocument, Scalar, visit, YAMLMap } from 'yaml';
import { writeFileAtomic } from './atomic-write';
import { parseConfig, PlatformConfig } from './config';

/** An edit that cannot be made safely; the message names the file, the field and the fix. */
export class ConfigEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigEditError';
  }
}

/** Who edits: the field the messages name, and the command to run again after a fix by hand. */
export interface EditContext {
  readonly file: string;
  /** The dotted field, e.g. apps.workloads.nginx.image.tag. */
  readonly field: string;
  /** The command's name for messages, e.g. set-image. */
  readonly command: string;
}

/** One field's new value (a string), or its removal (undefined), at a path of mapping keys. */
export interface FieldChange {
  readonly keys: readonly string[];
  readonly value: string | undefined;
}

export interface ConfigEdit {
  /** The config file's new content: the original bytes with one span replaced. */
  readonly bytes: Buffer;
  /** `bytes` decoded as UTF-8. */
  readonly text: string;
  /** The parsed config after the edit. */
  readonly config: PlatformConfig;
  /** What happened to the field's line: its value replaced, a line added, or a line removed. */
  readonly kind: 'replaced' | 'added' | 'removed';
  /** The 1-based line of the change: in the new file (replaced, added), in the old one (removed). */
  readonly line: number;
  /** The whole line before (replaced, removed) and after (replaced, added), without its line break. */
  readonly oldLine?: string;
  readonly newLine?: string;
  /** A comment on the line just above a removed line, which stays (it may have been about the field). */
  readonly commentAbove?: string;
}

/**
 * The config with one field changed: its value replaced when the file has it, a `key: value` line added to
 * its mapping when it has not (after the mapping's first line), or its line removed. Pure: `config` is the
 * file as parsed before. Throws a ConfigEditError when the edit would touch anything else, or leaves a file
 * that synth would refuse.
 */
export function editConfigField(content: string | Uint8Array, config: PlatformConfig, change: FieldChange, ctx: EditContext): ConfigEdit {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  // The Document API finds the node; the new text is spliced into the original bytes at the node's source
  // range, because re-printing the document would re-space comments and flow lists elsewhere. The text the
  // parser sees maps every character back to its byte offset, whatever the bytes are.
  const source = decodeWithOffsets(bytes);
  const doc = parseDocument(source.text);
  if (doc.errors.length > 0) {
    throw new ConfigEditError(`${ctx.file}: ${ctx.field}: the YAML editor cannot read the file (${doc.errors[0].code} at line ${doc.errors[0].linePos?.[0].line ?? '?'}); edit it by hand`);
  }
  const parentKeys = change.keys.slice(0, -1);
  const key = change.keys[change.keys.length - 1];
  const parent = findNode(doc, parentKeys, ctx);
  if (!isMap(parent)) throw new ConfigEditError(`${ctx.file}: ${ctx.field}: expected a mapping at ${parentKeys.join('.') || 'the top'}; edit the file by hand`);
  const present = parent.items.some((p) => isScalar(p.key) && String(p.key.value) === key);

  let splice: Splice;
  let kind: ConfigEdit['kind'];
  if (present) {
    const node = findNode(doc, change.keys, ctx);
    if (change.value === undefined) {
      splice = removePairSplice(source.text, parent, key, ctx);
      kind = 'removed';
    } else {
      if (!isScalar(node) || !node.range) throw new ConfigEditError(`${ctx.file}: ${ctx.field}: expected a plain value to replace; edit the file by hand`);
      const [start, end] = node.range;
      splice = { start, end, replacement: scalarSource(change.value, node.type, source.text.slice(start, end)) };
      kind = 'replaced';
    }
  } else {
    if (change.value === undefined) throw new ConfigEditError(`${ctx.file}: ${ctx.field}: is not in the file, so there is nothing to remove`);
    splice = addPairSplice(source.text, parent, key, change.value, ctx);
    kind = 'added';
  }

  const next = Buffer.concat([bytes.subarray(0, source.offsets[splice.start]), Buffer.from(splice.replacement, 'utf8'), bytes.subarray(source.offsets[splice.end])]);
  const text = next.toString('utf8');
  let after: PlatformConfig;
  try {
    after = parseConfig(text, ctx.file);
  } catch (e) {
    const problems = (e as Error).message.split('\n').slice(1).join(' ').trim() || (e as Error).message;
    throw new ConfigEditError(`${ctx.file}: ${ctx.field}: the edited file would not be a valid config (${problems}); nothing was changed`);
  }
  if (valueAt(after, change.keys) !== change.value) {
    throw new ConfigEditError(`${ctx.file}: ${ctx.field}: the edited file does not read back as ${change.value === undefined ? 'without the field' : `"${change.value}"`}; edit it by hand`);
  }
  // Nothing but the one field may change: a shared value the checks above missed is refused here.
  const expected = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  setValueAt(expected, change.keys, change.value);
  const others = changedFields(expected, JSON.parse(JSON.stringify(after)));
  if (others.length > 0) {
    throw new ConfigEditError(`${ctx.file}: ${ctx.field}: changing it would also change ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}; edit the file by hand`);
  }

  const lineOf = (t: string, offset: number) => t.slice(0, offset).split('\n').length;
  const lineText = (t: string, n: number) => t.split('\n')[n - 1].replace(/\r$/, '');
  const newText = source.text.slice(0, splice.start) + splice.replacement + source.text.slice(splice.end);
  if (kind === 'removed') {
    const line = lineOf(source.text, splice.start);
    const above = line > 1 ? lineText(source.text, line - 1) : '';
    const indent = /^ */.exec(lineText(source.text, line))![0];
    const commentAbove = above.startsWith(`${indent}#`) ? above.trim() : undefined;
    return { bytes: next, text, config: after, kind, line, oldLine: lineText(source.text, line), commentAbove };
  }
  // An added line that ends a file without a final line break starts with one.
  const line = lineOf(newText, splice.start + (kind === 'added' ? /^\r?\n/.exec(splice.replacement)?.[0].length ?? 0 : 0));
  return {
    bytes: next, text, config: after, kind, line,
    oldLine: kind === 'replaced' ? lineText(source.text, line) : undefined,
    newLine: lineText(newText, line),
  };
}

/** A replacement of the text between two offsets of the decoded file. */
interface Splice {
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
}

/** Where a pair's line starts and ends (after its line break), for a pair written on one line of a block mapping. */
function pairLine(text: string, pair: Pair, ctx: EditContext, what: string): { start: number; end: number; indent: string; newline: string } {
  const keyNode = pair.key as Node | null;
  const value = pair.value as Node | null;
  if (!isNode(keyNode) || !keyNode.range || !isScalar(value) || !value.range) {
    throw new ConfigEditError(`${ctx.file}: ${ctx.field}: ${what} is not a plain "key: value" line; edit the file by hand`);
  }
  const start = text.lastIndexOf('\n', keyNode.range[0] - 1) + 1;
  const indent = text.slice(start, keyNode.range[0]);
  const eol = text.indexOf('\n', value.range[1]);
  const end = eol === -1 ? text.length : eol + 1;
  const rest = text.slice(value.range[1], eol === -1 ? text.length : eol);
  if (!/^ *$/.test(indent) || text.slice(keyNode.range[0], value.range[1]).includes('\n') || !/^[ \t]*(#.*)?\r?$/.test(rest)) {
    throw new ConfigEditError(`${ctx.file}: ${ctx.field}: ${what} is not on a line of its own; edit the file by hand`);
  }
  return { start, end, indent, newline: eol === -1 ? '' : text[eol - 1] === '\r' ? '\r\n' : '\n' };
}

/**
 * A `key: value` line added to a block mapping, right after its first line (a component's first line is its
 * namespace): there it cannot fall between a comment and the key the comment is about.
 */
function addPairSplice(text: string, map: YAMLMap, key: string, value: string, ctx: EditContext): Splice {
  if (map.flow || map.items.length === 0) throw new ConfigEditError(`${ctx.file}: ${ctx.field}: its mapping is written in flow style ({ ... }); add the field by hand`);
  const first = pairLine(text, map.items[0] as Pair, ctx, `the first line of its mapping ("${String((map.items[0].key as Scalar)?.value)}")`);
  const newline = first.newline || (/\r\n/.test(text) ? '\r\n' : '\n');
  const line = `${first.indent}${key}: ${scalarSource(value, Scalar.PLAIN, '')}`;
  // A first line that ends the file has no line break: the new line starts with one.
  return first.newline
    ? { start: first.end, end: first.end, replacement: `${line}${newline}` }
    : { start: first.end, end: first.end, replacement: `${newline}${line}` };
}

/** The removal of a `key: value` line (with its comment) from a block mapping. */
function removePairSplice(text: string, map: YAMLMap, key: string, ctx: EditContext): Splice {
  if (map.flow) throw new ConfigEditError(`${ctx.file}: ${ctx.field}: its mapping is written in flow style ({ ... }); remove the field by hand`);
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as Pair;
  const line = pairLine(text, pair, ctx, 'the field');
  return { start: line.start, end: line.end, replacement: '' };
}

/**
 * The node at `keys`, reached key by key from the document's root. Refuses a path that goes through an
 * alias, or through a node whose anchor an alias elsewhere refers to: the edit would change every place
 * that shares it.
 */
function findNode(doc: Document, keys: readonly string[], ctx: EditContext): unknown {
  const { file, field } = ctx;
  const shared: { anchor: string; node: Node; via?: Alias }[] = [];
  const anchored = (n: unknown) => {
    if (isNode(n) && !isAlias(n) && n.anchor) shared.push({ anchor: n.anchor, node: n });
  };
  let node: unknown = doc.contents;
  const resolve = (n: unknown): unknown => {
    if (!isAlias(n)) return n;
    const target = n.resolve(doc);
    if (target) shared.push({ anchor: n.source, node: target, via: n });
    return target;
  };
  node = resolve(node);
  anchored(node);
  for (const key of keys) {
    if (!isMap(node)) throw new ConfigEditError(`${file}: ${field}: expected a mapping at "${key}"; edit the file by hand`);
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (!pair) throw new ConfigEditError(`${file}: ${field}: "${key}" is not written out in the file (a merge key, or a section filled in by default?); edit the file by hand`);
    node = resolve(pair.value);
    anchored(node);
  }

  // Who else reads each anchored node on the path: the aliases that resolve to it, and its definition.
  const users = new Map<Node, string[][]>();
  const addUser = (target: Node, at: string[]) => users.set(target, [...(users.get(target) ?? []), at]);
  visit(doc, {
    Alias(_, alias, ancestors) {
      const target = alias.resolve(doc);
      if (target && shared.some((s) => s.node === target)) addUser(target, keyPath(ancestors, alias));
    },
    Node(_, n, ancestors) {
      if (!isAlias(n) && shared.some((s) => s.node === n)) addUser(n, keyPath(ancestors, n));
    },
  });
  const ours = (at: readonly string[]) => at.every((k, i) => keys[i] === k);
  for (const s of shared) {
    const others = (users.get(s.node) ?? []).filter((at) => !ours(at));
    if (others.length === 0) continue;
    const names = [...new Set(others.map(describePlace))];
    throw new ConfigEditError(`${file}: ${field}: the value is shared through the YAML anchor &${s.anchor} with ${names.join(', ')}; ` +
      `changing it would change ${names.length > 1 ? 'them' : 'it'} too. Give each workload its own value (write it out where *${s.anchor} stands), then run ${ctx.command} again`);
  }
  return node;
}

/** The mapping keys and sequence indexes from the root to `node`. */
function keyPath(ancestors: readonly unknown[], node: unknown): string[] {
  const chain = [...ancestors, node];
  const out: string[] = [];
  chain.forEach((a, i) => {
    if (isPair(a)) out.push(String(isScalar(a.key) ? a.key.value : a.key));
    else if (isSeq(a)) out.push(String(a.items.indexOf(chain[i + 1] as never)));
  });
  return out;
}

/** A place in the config for messages: `workload "nginx"` for a workload's field, else the dotted path. */
function describePlace(at: readonly string[]): string {
  return at[0] === 'apps' && at[1] === 'workloads' && at.length > 2 ? `workload "${at[2]}"` : at.join('.') || 'the whole file';
}

function valueAt(root: unknown, keys: readonly string[]): unknown {
  return keys.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, k) ? (v as Record<string, unknown>)[k] : undefined), root);
}

function setValueAt(root: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let node = root;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/** The dotted paths where two parsed configs differ. */
export function changedFields(a: unknown, b: unknown, at = ''): string[] {
  if (a === b) return [];
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return [at || '(top level)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => changedFields((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
}

/**
 * Bytes as text for the YAML parser, with the byte offset of every UTF-16 unit (and of the end): valid
 * UTF-8 decodes as usual, each other byte as U+FFFD, so offsets stay exact where Buffer's decoder would
 * merge bytes.
 */
function decodeWithOffsets(bytes: Uint8Array): { text: string; offsets: number[] } {
  const units: number[] = [];
  const offsets: number[] = [];
  const cont = (i: number) => i < bytes.length && (bytes[i] & 0xc0) === 0x80;
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    let cp = -1;
    let len = 1;
    if (b < 0x80) {
      cp = b;
    } else if (b >= 0xc2 && b <= 0xdf && cont(i + 1)) {
      cp = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
      len = 2;
    } else if (b >= 0xe0 && b <= 0xef && cont(i + 1) && cont(i + 2)) {
      cp = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
      len = 3;
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) cp = -1;
    } else if (b >= 0xf0 && b <= 0xf4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      cp = ((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
      len = 4;
      if (cp < 0x10000 || cp > 0x10ffff) cp = -1;
    }
    if (cp < 0) {
      cp = 0xfffd;
      len = 1;
    }
    if (cp > 0xffff) {
      units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
      offsets.push(i, i);
    } else {
      units.push(cp);
      offsets.push(i);
    }
    i += len;
  }
  offsets.push(bytes.length);
  let text = '';
  for (let k = 0; k < units.length; k += 8192) text += String.fromCharCode(...units.slice(k, k + 8192));
  return { text, offsets };
}

/**
 * The YAML source of a value: in the node's quotes if it had any; plain only if it reads back as a string
 * in YAML 1.2 and 1.1 (42, 1.10 or yes would not). A block scalar (`|` or `>`) becomes a quoted value on
 * its key's line, keeping the header's comment and the line break that ended the block. The values written
 * (image tags, chart versions) cannot hold quotes or backslashes, so no escaping.
 */
function scalarSource(value: string, style: Scalar['type'], replaced: string): string {
  if (style === Scalar.BLOCK_LITERAL || style === Scalar.BLOCK_FOLDED) {
    const header = replaced.split(/\r?\n/)[0];
    const comment = /\s#.*$/.exec(header)?.[0].trim();
    const newline = /\r\n$/.test(replaced) ? '\r\n' : /\n$/.test(replaced) ? '\n' : '';
    return `"${value}"${comment ? ` ${comment}` : ''}${newline}`;
  }
  if (style === Scalar.QUOTE_SINGLE) return `'${value}'`;
  if (style === Scalar.QUOTE_DOUBLE || typeof parse(value) !== 'string' || typeof parse(value, { version: '1.1' }) !== 'string') return `"${value}"`;
  return value;
}

/** Where a config file's content really goes, and what it must keep: see `writeConfigPreservingFile`. */
export interface ConfigFileTarget {
  /** The file the path names after following every symbolic link: it is replaced, the links are kept. */
  readonly path: string;
  /** The permission bits to give the new content (the old file's), when the file exists. */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

/**
 * The file a write to `file` must replace: through symbolic links (also a link to a file that does not
 * exist yet), with the existing file's mode and owner.
 */
export function configWriteTarget(file: string): ConfigFileTarget {
  let target = path.resolve(file);
  for (let hops = 0; ; hops++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { path: target };
      throw e;
    }
    if (!st.isSymbolicLink()) return { path: target, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    if (hops >= 40) throw new ConfigEditError(`${file}: too many levels of symbolic links; point --config at the file itself`);
    target = path.resolve(path.dirname(target), fs.readlinkSync(target));
  }
}

/**
 * Replaces a config file's content whole or not at all: written aside in the real file's folder (a hidden
 * `.<name>.new-*` that configFiles ignores), synced, given the old file's mode (and owner, where allowed),
 * and renamed over the file a symbolic link points to, so the link stays a link.
 */
export function writeConfigPreservingFile(file: string, content: string | Uint8Array): void {
  const target = configWriteTarget(file);
  writeFileAtomic(target.path, content, { mode: target.mode, uid: target.uid, gid: target.gid, durable: true });
}
