// secretlint (its recommended rule preset) as a synchronous function. secretlint's packages are ES modules
// with an asynchronous API, while the leak scan runs inside synchronous code (synth's render, `npm run
// validate`, the cdk8s plugin) and under jest, which cannot load ES modules. So the rules run in one worker
// thread, kept for the life of the process, and the caller blocks on an Atomics flag until the worker
// has answered. The worker is only started when some text is not in the leak cache (lib/leaks.ts).
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'worker_threads';

/** One credential secretlint found: where it is in the text, and which rule and message say so. */
export interface SecretlintFinding {
  readonly start: number;
  readonly end: number;
  /** The rule's short name, e.g. `github` for @secretlint/secretlint-rule-github. */
  readonly rule: string;
  /** secretlint's message id, e.g. GITHUB_TOKEN, IncomingWebhook, BasicAuth, PrivateKey. */
  readonly messageId: string;
}

/** Package versions of the scanner, for cache keys: other versions may find other things. */
export function secretlintVersion(): string {
  return PACKAGES.map((p) => `${p}@${(require(resolve(`${p}/package.json`)) as { version: string }).version}`).join(' ');
}

const PACKAGES = ['@secretlint/core', '@secretlint/secretlint-rule-preset-recommend'] as const;

/** Resolved from here: the project's node_modules, also from dist/main.js. */
function resolve(id: string): string {
  try {
    return require.resolve(id);
  } catch {
    throw new Error(`cannot load ${id.replace(/\/package\.json$/, '')}, which the leak scan needs (a dependency); run \`npm ci\``);
  }
}

/**
 * The worker: loads secretlint once and lints each text it is sent. The rules are the preset's, minus
 * filter-comments (a `secretlint-disable` comment inside a scanned value would otherwise switch the scan off
 * for what follows), with the AWS rule's access key id scan turned on. Messages are masked by secretlint
 * and never leave the worker: only positions, rule and message id do.
 */
const WORKER = `
const { workerData } = require('worker_threads');
const { pathToFileURL } = require('url');
const { port, signal, core, preset } = workerData;
const flag = new Int32Array(signal);
const OPTIONS = { '@secretlint/secretlint-rule-aws': { enableIDScanRule: true } };
const SKIP = new Set(['@secretlint/secretlint-rule-filter-comments']);
const ready = (async () => {
  const { lintSource } = await import(pathToFileURL(core).href);
  const p = await import(pathToFileURL(preset).href);
  const rules = p.rules.filter((r) => !SKIP.has(r.meta.id)).map((r) => ({ id: r.meta.id, rule: r, options: OPTIONS[r.meta.id] || {} }));
  return { lintSource, config: { rules } };
})();
ready.catch(() => undefined);
function reply(message) {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
port.on('message', async ({ text }) => {
  try {
    const { lintSource, config } = await ready;
    const result = await lintSource({
      source: { filePath: 'gitops', content: text, ext: '', contentType: 'text' },
      options: { config, maskSecrets: true, noPhysicFilePath: true },
    });
    reply({ findings: result.messages.map((m) => ({
      start: m.range[0], end: m.range[1], rule: String(m.ruleId).replace('@secretlint/secretlint-rule-', ''), messageId: String(m.messageId || m.ruleId),
    })) });
  } catch (e) {
    reply({ error: String((e && e.message) || e).split('\\n')[0] });
  }
});
`;

interface Scanner {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly flag: Int32Array;
}

let scanner: Scanner | undefined;

/** Starts the worker, which loads secretlint in the background; `secretlint()` waits for it. */
export function startSecretlint(): void {
  start();
}

function start(): Scanner {
  if (scanner) return scanner;
  const { port1, port2 } = new MessageChannel();
  const signal = new SharedArrayBuffer(4);
  const core = resolve('@secretlint/core');
  const preset = resolve('@secretlint/secretlint-rule-preset-recommend');
  const worker = new Worker(WORKER, { eval: true, workerData: { port: port2, signal, core, preset }, transferList: [port2] });
  // The process may end while the worker idles; an unexpected exit is seen as a timeout below.
  worker.unref();
  worker.on('error', () => undefined);
  worker.on('exit', () => { if (scanner?.worker === worker) scanner = undefined; });
  scanner = { worker, port: port1, flag: new Int32Array(signal) };
  return scanner;
}

/** How long one scan may take before the worker is given up (a 2 MB text takes about 0.1 s). */
const TIMEOUT_MS = 120_000;

/** Every credential secretlint's recommended rules find in `text`. Synchronous; throws if secretlint cannot run. */
export function secretlint(text: string): SecretlintFinding[] {
  if (text.length === 0) return [];
  const s = start();
  Atomics.store(s.flag, 0, 0);
  s.port.postMessage({ text });
  const waited = Atomics.wait(s.flag, 0, 0, TIMEOUT_MS);
  const received = receiveMessageOnPort(s.port);
  if (!received) {
    void s.worker.terminate();
    scanner = undefined;
    throw new Error(`the secret scan (secretlint) did not answer${waited === 'timed-out' ? ` within ${TIMEOUT_MS / 1000} s` : ''}; nothing was written`);
  }
  const answer = received.message as { findings?: SecretlintFinding[]; error?: string };
  if (answer.error !== undefined || !answer.findings) {
    throw new Error(`the secret scan (secretlint) failed: ${answer.error ?? 'no answer'}; run \`npm ci\` if a package is missing`);
  }
  return answer.findings;
}

/** A credential in the user info of a URL: `scheme://user:password@host`. */
export interface UrlCredential {
  /** Where the password starts and ends in the text. */
  readonly start: number;
  readonly end: number;
}

/** Passwords that only stand for one: `${PASS}`, `$(PASS)`, `$PASS`, `{{ .Values.pass }}`, `<password>`, `%s`. */
const PLACEHOLDER = /^(\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|<[^>]*>|%[sv]|\*+)$/;

/**
 * Passwords in the user info of URLs (RFC 3986: `scheme://userinfo@host`, the user info ends at the last
 * "@" before the path). secretlint's basicauth rule only knows http(s) and ftp with a narrow password
 * alphabet; this is the URL grammar itself, so `ssh://`, `postgres://`, percent-encoded and punctuated
 * passwords are found too. A user name alone (`ssh://git@host`) is no credential.
 */
export function urlCredentials(text: string): UrlCredential[] {
  if (!text.includes('://')) return [];
  const found: UrlCredential[] = [];
  const url = /[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s/?#'"<>`]*)@/g;
  for (let m = url.exec(text); m; m = url.exec(text)) {
    const userinfo = m[1];
    const colon = userinfo.indexOf(':');
    if (colon < 0) continue;
    const password = userinfo.slice(colon + 1);
    if (password === '' || PLACEHOLDER.test(password)) continue;
    const start = m.index + m[0].length - 1 - password.length;
    found.push({ start, end: start + password.length });
  }
  return found;
}

/** What replaces a secret in a message. */
export const REDACTED = '<redacted>';

/**
 * `text` with every credential masked: what secretlint finds, URL passwords, and the given values (of at
 * least 4 characters, so that masking never garbles a message on a one-letter value). For messages that
 * may quote input, as a last line of defence; the messages themselves name fields, not values.
 */
export function redactSecrets(text: string, known: Iterable<string> = []): string {
  const ranges: [number, number][] = [...secretlint(text).map((f) => [f.start, f.end] as [number, number]),
    ...urlCredentials(text).map((c) => [c.start, c.end] as [number, number])];
  let out = '';
  let at = 0;
  for (const [s, e] of ranges.sort((a, b) => a[0] - b[0])) {
    if (e <= at) continue;
    out += text.slice(at, Math.max(at, s)) + REDACTED;
    at = e;
  }
  out += text.slice(at);
  for (const k of [...known].filter((k) => k.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(k).join(REDACTED);
  return out;
}
