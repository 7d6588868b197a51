// `npm run set-image -- <workload> <tag>`: the image bump CI makes after pushing an image, in place of the
// guide's `sed -i s/nginx:.*/nginx:${BUILD_NUMBER}/g`. It changes one field of config/<environment>.yaml
// (apps.workloads.<workload>.image.tag), keeping the file's comments and layout, and re-synthesizes that
// environment, so the commit shows the config line and the one image line in gitops/ it produced.
// A bad workload or tag changes nothing.
import * as fs from 'fs';
import * as path from 'path';
import { runCommandAsync } from './cli';
import { isScalar, parse, parseDocument, Scalar } from 'yaml';
import { ConfigError, FLOATING_TAG, IMAGE_TAG, parseConfig } from './config';
import { synth } from './synth';

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
  /** The config file's new text. */
  readonly text: string;
  readonly previousTag: string;
  readonly repository: string;
}

/** Checks a tag against docker's grammar and refuses floating tags; returns a message, or undefined if fine. */
export function tagProblem(tag: string): string | undefined {
  if (!IMAGE_TAG.test(tag)) {
    return `tag "${tag}" is not a docker tag: use letters, digits, "_", "." and "-", at most 128 characters, not starting with "." or "-" (e.g. 42 or 1.4.2)`;
  }
  if (FLOATING_TAG.test(tag)) {
    return `tag "${tag}" floats (it names whatever was pushed last); use the exact tag the build pushed, e.g. the build number`;
  }
  return undefined;
}

/**
 * The config text with the workload's tag replaced. Pure: validates the file, the workload and the tag,
 * and the resulting config as synth would.
 */
export function bumpImage(text: string, file: string, workload: string, tag: string): ImageBump {
  const config = parseConfig(text, file);
  const workloads = Object.keys(config.apps.workloads).sort();
  const current = config.apps.workloads[workload];
  if (!Object.prototype.hasOwnProperty.call(config.apps.workloads, workload) || !current) {
    throw new SetImageError(`${file}: apps.workloads: no workload "${workload}"; configured: ${workloads.join(', ')}`);
  }
  const problem = tagProblem(tag);
  if (problem) throw new SetImageError(`${file}: apps.workloads.${workload}.image.tag: ${problem}`);

  // The Document API finds the node; the new value is spliced into the original text at the node's
  // source range, because re-printing the document would re-space comments and flow lists elsewhere.
  const doc = parseDocument(text);
  const node = doc.getIn(['apps', 'workloads', workload, 'image', 'tag'], true);
  if (!isScalar(node) || !node.range) throw new SetImageError(`${file}: apps.workloads.${workload}.image.tag: expected a plain value to replace`);
  const [start, end] = node.range;
  const next = `${text.slice(0, start)}${scalarSource(tag, node.type)}${text.slice(end)}`;
  const after = parseConfig(next, file);
  if (after.apps.workloads[workload]?.image.tag !== tag) {
    throw new SetImageError(`${file}: apps.workloads.${workload}.image.tag: the edited file does not read back as "${tag}"; edit it by hand`);
  }
  return { text: next, previousTag: current.image.tag, repository: current.image.repository };
}

/**
 * The YAML source of a tag: in the node's quotes if it had any; plain only if it reads back as a string
 * (42 or 1.10 would read back as numbers). Tags cannot hold quotes or backslashes, so no escaping.
 */
function scalarSource(tag: string, style: Scalar['type']): string {
  if (style === Scalar.QUOTE_SINGLE) return `'${tag}'`;
  if (style === Scalar.QUOTE_DOUBLE || typeof parse(tag) !== 'string') return `"${tag}"`;
  return tag;
}

export interface SetImageOptions {
  readonly configFile: string;
  readonly workload: string;
  readonly tag: string;
  readonly outdir: string;
  readonly log: (line: string) => void;
}

/** Bumps the tag in the file and re-synthesizes its environment; on any failure the file is restored. */
export async function setImage(options: SetImageOptions): Promise<ImageBump> {
  const file = options.configFile;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read the file (${(e as NodeJS.ErrnoException).code}); pass an existing config file with --config`]);
  }
  const bump = bumpImage(text, file, options.workload, options.tag);
  writeAtomically(file, bump.text);
  try {
    await synth({ configs: [file], outdir: options.outdir, log: options.log });
  } catch (e) {
    writeAtomically(file, text);
    throw e;
  }
  options.log(`${options.workload}: ${bump.repository}:${bump.previousTag} -> ${bump.repository}:${options.tag} (${file})`);
  return bump;
}

function writeAtomically(file: string, text: string): void {
  const staged = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}`);
  fs.writeFileSync(staged, text);
  fs.renameSync(staged, file);
}

export function setImageMain(argv: string[]): Promise<number> {
  return runCommandAsync(argv, {
    help: SET_IMAGE_HELP,
    options: {
      config: { type: 'string', short: 'c', default: 'config/lab.yaml' },
      outdir: { type: 'string', short: 'o', default: 'gitops' },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
    positionals: ['workload', 'tag'],
    failure: 'set-image failed; nothing was changed.',
    run: async (v, [workload, tag]) => {
      await setImage({
        configFile: v.config!,
        workload,
        tag,
        outdir: v.outdir!,
        log: (line) => { if (!v.quiet) process.stdout.write(`${line}\n`); },
      });
      return 0;
    },
  });
}
