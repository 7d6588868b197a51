// `npm run set-image -- <workload> <tag>`: the image bump CI makes after pushing an image, in place of the
// guide's `sed -i s/nginx:.*/nginx:${BUILD_NUMBER}/g`. It changes one field of config/<environment>.yaml
// (apps.workloads.<workload>.image.tag), keeping the file's comments and layout, and re-synthesizes that
// environment, so the commit shows the config line and the one image line in gitops/ it produced.
// A bad workload or tag changes nothing.
import { runCommandAsync } from './cli';
import { failureLine, recover } from './transaction';
import { acquireLock } from './lock';
import { projectRoot } from './helm';
import { ConfigEdit, ConfigEditError, editConfigField } from './config-edit';
import { floatingTagReason, IMAGE_TAG, parseConfig, readConfigBytes } from './config';
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
  /** The line that changed, for messages. */
  readonly edit: ConfigEdit;
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
 * the one field (lib/config-edit.ts). `command` names the command in messages (promote bumps this way too).
 */
export function bumpImage(content: string | Uint8Array, file: string, workload: string, tag: string, command = 'set-image'): ImageBump {
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
  let edit: ConfigEdit;
  try {
    edit = editConfigField(bytes, config, { keys: ['apps', 'workloads', workload, 'image', 'tag'], value: tag }, { file, field, command });
  } catch (e) {
    throw e instanceof ConfigEditError ? new SetImageError(e.message) : e;
  }
  return { text: edit.text, bytes: edit.bytes, previousTag: current.image.tag, repository: current.image.repository, edit };
}

/** Where a config file's content really goes (lib/config-edit.ts, kept here for set-image's callers). */
export { configWriteTarget, writeConfigPreservingFile } from './config-edit';
export type { ConfigFileTarget } from './config-edit';

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
