// `npm run set-image -- <workload> <tag>`: the image bump CI makes after pushing an image, in place of the
// guide's `sed -i s/nginx:.*/nginx:${BUILD_NUMBER}/g`. It changes one field of config/<environment>.yaml
// (apps.workloads.<workload>.image.tag), keeping the file's comments and layout, and re-synthesizes that
// environment, so the commit shows the config line and the one image line in gitops/ it produced.
// A bad workload or tag changes nothing.
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from './atomic-write';
import { runCommandAsync } from './cli';
import { failureLine, recover } from './transaction';
import { acquireLock } from './lock';
import { projectRoot } from './helm';
import { Alias, Document, isAlias, isMap, isNode, isPair, isScalar, isSeq, Node, parse, parseDocument, Scalar, visit } from 'yaml';
import { floatingTagReason, IMAGE_TAG, parseConfig, PlatformConfig, readConfigBytes } from './config';
import { configFolders, synth } from './synth';
import type { Compose } from './platform';

export const SET_IMAGE_HELP = `Usage: npm run set-image -- <workload> <tag> [options]

Sets apps.workloads.<workload>.image.tag in the environment's config file (comments and layout are kept)
and synthesizes that environment again, so the only change in gitops/<environment>/ is the image line.
A workload that is not configured, or a tag that is not an exact docker tag, changes nothing.

Arguments:
  <workload>            a workload of apps.workloads, e.g. nginx
  <tag>                 the image tag to run, e.g. 42 (docker tag grammar; "latest" and other floating tags are refused)

Options:
  -c, --config <file>   the environment's config file (default: config/lab.yaml)
  -o, --outdir <dir>    where the environment folders go (default: gitops)
  -q, --quiet           print nothing but errors
  -h, --help            show this help
`;

/** A request that cannot be carried out; the message names the field and what is allowed. */
export class SetImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetImageError';
  }
}

export interface ImageBump {
  /** The config file's new text (decoded as UTF-8; write `bytes` to keep bytes that are not UTF-8). */
  readonly text: string;
  /** The config file's new content: the original bytes with only the tag's span replaced. */
  readonly bytes: Buffer;
  readonly previousTag: string;
  readonly repository: string;
}

/** Checks a tag against docker's grammar and refuses floating tags; returns a message, or undefined if fine. */
export function tagProblem(tag: string): string | undefined {
  if (!IMAGE_TAG.test(tag)) {
    return `tag "${tag}" is not a docker tag: use letters, digits, "_", "." and "-", at most 128 characters, not starting with "." or "-" (e.g. 42 or 1.4.2)`;
  }
  const reason = floatingTagReason(tag);
  if (reason) {
    return `tag "${tag}" floats (it ${reason}); use the exact tag the build pushed, e.g. the build number`;
  }
  return undefined;
}

/**
 * The config with the workload's tag replaced. Pure: validates the file, the workload and the tag, and
 * the resulting config as synth would. Given the file's bytes, every byte but the tag's span is kept, also
 * bytes that are not UTF-8 (in a comment, say). A tag that other workloads share through a YAML anchor
 * and alias is refused, naming the anchor and the workloads, as is any edit that would change more than
 * the one field.
 */
export function bumpImage(content: string | Uint8Array, file: string, workload: string, tag: string): ImageBump {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  const config = parseConfig(bytes.toString('utf8'), file);
  const field = `apps.workloads.${workload}.image.tag`;
  const workloads = Object.keys(config.apps.workloads).sort();
  const current = config.apps.workloads[workload];
  if (!Object.prototype.hasOwnProperty.call(config.apps.workloads, workload) || !current) {
    throw new SetImageError(`${file}: apps.workloads: no workload "${workload}"; configured: ${workloads.join(', ')}`);
  }
  const problem = tagProblem(tag);
  if (problem) throw new SetImageError(`${file}: ${field}: ${problem}`);

  // The Document API finds the node; the new value is spliced into the original bytes at the node's
  // source range, because re-printing the document would re-space comments and flow lists elsewhere. The
  // text the parser sees maps every character back to its byte offset, whatever the bytes are.
  const source = decodeWithOffsets(bytes);
  const doc = parseDocument(source.text);
  if (doc.errors.length > 0) {
    throw new SetImageError(`${file}: ${field}: the YAML editor cannot read the file (${doc.errors[0].code} at line ${doc.errors[0].linePos?.[0].line ?? '?'}); edit the tag by hand`);
  }
  const node = findTagNode(doc, ['apps', 'workloads', workload, 'image', 'tag'], file, field);
  const [start, end] = node.range!;
  const replaced = source.text.slice(start, end);
  const replacement = scalarSource(tag, node.type, replaced);
  const next = Buffer.concat([bytes.subarray(0, source.offsets[start]), Buffer.from(replacement, 'utf8'), bytes.subarray(source.offsets[end])]);
  const text = next.toString('utf8');

  let after: PlatformConfig;
  try {
    after = parseConfig(text, file);
  } catch (e) {
    throw new SetImageError(`${file}: ${field}: the edited file would not be a valid config (${(e as Error).message.split('\n').slice(1).join(' ').trim()}); edit the tag by hand`);
  }
  if (after.apps.workloads[workload]?.image.tag !== tag) {
    throw new SetImageError(`${file}: ${field}: the edited file does not read back as "${tag}"; edit it by hand`);
  }
  // Nothing but the one field may change: a shared value the checks above missed is refused here.
  const expected = JSON.parse(JSON.stringify(config)) as { apps: { workloads: Record<string, { image: { tag: string } }> } };
  expected.apps.workloads[workload].image.tag = tag;
  const others = changedFields(expected, JSON.parse(JSON.stringify(after)));
  if (others.length > 0) {
    throw new SetImageError(`${file}: ${field}: changing it would also change ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}; edit the file by hand`);
  }
  return { text, bytes: next, previousTag: current.image.tag, repository: current.image.repository };
}

/**
 * The tag's scalar node, reached key by key from the document's root. Refuses a path that goes through
 * an alias, or through a node whose anchor an alias elsewhere refers to: the edit would change every
 * place that shares it.
 */
function findTagNode(doc: Document, keys: readonly string[], file: string, field: string): Scalar {
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
    if (!isMap(node)) throw new SetImageError(`${file}: ${field}: expected a mapping at "${key}"; edit the file by hand`);
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (!pair) throw new SetImageError(`${file}: ${field}: "${key}" is not written out in the file (a merge key?); edit the file by hand`);
    node = resolve(pair.value);
    anchored(node);
  }
  if (!isScalar(node) || !node.range) throw new SetImageError(`${file}: ${field}: expected a plain value to replace`);

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
    throw new SetImageError(`${file}: ${field}: the value is shared through the YAML anchor &${s.anchor} with ${names.join(', ')}; ` +
      `changing it would change ${names.length > 1 ? 'them' : 'it'} too. Give each workload its own value (write it out where *${s.anchor} stands), then run set-image again`);
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

/** The dotted paths where two parsed configs differ. */
function changedFields(a: unknown, b: unknown, at = ''): string[] {
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
 * The YAML source of a tag: in the node's quotes if it had any; plain only if it reads back as a string
 * in YAML 1.2 and 1.1 (42, 1.10 or yes would not). A block scalar (`|` or `>`) becomes a quoted value on
 * its key's line, keeping the header's comment and the line break that ended the block. Tags cannot hold
 * quotes or backslashes, so no escaping.
 */
function scalarSource(tag: string, style: Scalar['type'], replaced: string): string {
  if (style === Scalar.BLOCK_LITERAL || style === Scalar.BLOCK_FOLDED) {
    const header = replaced.split(/\r?\n/)[0];
    const comment = /\s#.*$/.exec(header)?.[0].trim();
    const newline = /\r\n$/.test(replaced) ? '\r\n' : /\n$/.test(replaced) ? '\n' : '';
    return `"${tag}"${comment ? ` ${comment}` : ''}${newline}`;
  }
  if (style === Scalar.QUOTE_SINGLE) return `'${tag}'`;
  if (style === Scalar.QUOTE_DOUBLE || typeof parse(tag) !== 'string' || typeof parse(tag, { version: '1.1' }) !== 'string') return `"${tag}"`;
  return tag;
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
    if (hops >= 40) throw new SetImageError(`${file}: too many levels of symbolic links; point --config at the file itself`);
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

export interface SetImageOptions {
  /** Builds an environment's components from its config (charts/platform.ts). */
  readonly compose: Compose;
  readonly configFile: string;
  readonly workload: string;
  readonly tag: string;
  readonly outdir: string;
  readonly log: (line: string) => void;
}

/**
 * Bumps the tag in the file and re-synthesizes its environment: the config file and the environment's
 * folder are written in one transaction (lib/transaction.ts), so both change or neither does.
 */
export async function setImage(options: SetImageOptions): Promise<ImageBump> {
  const file = options.configFile;
  // Finish what a crashed command left before reading the file: it may be mid-swap.
  for (const line of recover([options.outdir, ...configFolders(file)])) options.log(line);
  const bump = bumpImage(readConfigBytes(file), file, options.workload, options.tag);
  // The bytes, not the decoded text: a comment that is not UTF-8 stays as it was.
  await synth({ compose: options.compose, configs: [file], outdir: options.outdir, log: options.log, configTexts: new Map([[file, bump.bytes]]) });
  options.log(`${options.workload}: ${bump.repository}:${bump.previousTag} -> ${bump.repository}:${options.tag} (${file})`);
  return bump;
}

export function setImageMain(argv: string[], compose: Compose): Promise<number> {
  return runCommandAsync(argv, {
    help: SET_IMAGE_HELP,
    options: {
      config: { type: 'string', short: 'c', default: 'config/lab.yaml' },
      outdir: { type: 'string', short: 'o', default: 'gitops' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
    positionals: ['workload', 'tag'],
    failure: (_, e) => failureLine('set-image', 'nothing was changed.', e),
    run: async (v, [workload, tag]) => {
      // Read, bump and write under the lock: two bumps at once must not both start from the same file.
      const lock = acquireLock(projectRoot(), 'npm run set-image', (line) => process.stderr.write(`${line}\n`));
      try {
        await setImage({
          compose,
          configFile: v.config!,
          workload,
          tag,
          outdir: v.outdir!,
          log: (line) => { if (!v.quiet) process.stdout.write(`${line}\n`); },
        });
      } finally {
        lock.release();
      }
      return 0;
    },
  });
}
