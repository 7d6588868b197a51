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

/** A credential in a URL: the password of its user info, or the value of a credential in its query. */
export interface UrlCredential {
  /** Where the credential starts and ends in the text. */
  readonly start: number;
  readonly end: number;
  /** `userinfo`: `scheme://user:password@host`; `query`: `?access_token=...` (or `&`, `;`, `#`). */
  readonly where: 'userinfo' | 'query';
  /** The parameter's name, for `query` (it names a credential, it is none). */
  readonly name?: string;
}

/**
 * Passwords that only stand for one: `${PASS}`, `$(PASS)`, `$PASS`, `{{ .Values.pass }}`, `{token}`,
 * `<password>`, `%s`, `***`.
 */
const PLACEHOLDER = /^(\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|\{\{.*\}\}|\{[^{}]*\}|<[^>]*>|%[sv]|\*+)$/;

/**
 * Credentials in URLs: passwords in the user info (RFC 3986: `scheme://userinfo@host`, the user info ends
 * at the last "@" before the path), and credential parameters of the query or fragment
 * (`?access_token=...`, `&sig=...`). secretlint's basicauth rule only knows http(s) and ftp with a narrow
 * password alphabet; this is the URL grammar itself, so `ssh://`, `postgres://`, percent-encoded and
 * punctuated passwords are found too. A user name alone (`ssh://git@host`) is no credential.
 */
export function urlCredentials(text: string): UrlCredential[] {
  return [...userinfoCredentials(text), ...queryCredentials(text)];
}

function userinfoCredentials(text: string): UrlCredential[] {
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
    found.push({ start, end: start + password.length, where: 'userinfo' });
  }
  return found;
}

/**
 * Query (and fragment) parameters that hold a credential, by name: token, access_token, password, pwd,
 * secret, client_secret, key, api_key, auth, sig, signature, ... (compared in lower case without `-`, `_`
 * and `.`, so `X-Amz-Signature` and `private_token` count), minus pagination cursors (`page_token`).
 */
const QUERY_CREDENTIAL = /^(key|auth|sig|pass|passwd|pwd|pw|secret|credentials?|apikey|authkey|accesskey|secretkey|privatekey|signingkey|subscriptionkey|.*(token|password|passwd|secret|apikey|accesskey|secretkey|privatekey|signature|credential))$/;
const NOT_QUERY_CREDENTIAL = /^((next|prev|previous)?page|continuation|cursor|sync|resume|csrf|xsrf)token$/;
/** Values of such parameters that are no credential. */
const NOT_A_CREDENTIAL = /^(true|false|yes|no|on|off|null|none|0|1|basic|bearer|digest|required|optional)$/i;

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** True when a query parameter's name names a credential. */
function isCredentialParameter(name: string): boolean {
  const n = decode(name).toLowerCase().replace(/[-_.\s]/g, '');
  return QUERY_CREDENTIAL.test(n) && !NOT_QUERY_CREDENTIAL.test(n);
}

function queryCredentials(text: string): UrlCredential[] {
  if (!text.includes('=') || !(text.includes('?') || text.includes('#'))) return [];
  const found: UrlCredential[] = [];
  const param = /[?&;#]([A-Za-z0-9_.%-]{1,64})=([^&;#\s'"<>`]*)/g;
  // The run of text (up to a space, quote or bracket) the current parameter is in, and whether it is a URL's
  // query there; kept across parameters, so that the text is read once whatever it holds.
  let runStart = 0;
  let scanned = 0;
  let query = -1; // where the query of this run starts (its first `?` or `#`), -1 before there is one
  let url = false;
  for (let m = param.exec(text); m; m = param.exec(text)) {
    for (; scanned <= m.index; scanned++) {
      const c = text[scanned];
      if (BOUNDARY.test(c)) {
        runStart = scanned + 1;
        query = -1;
      } else if (query < 0 && (c === '?' || c === '#')) {
        query = scanned;
        url = query > runStart && /[/:.]/.test(text.slice(runStart, query));
      }
    }
    const value = m[2];
    if (value === '' || query < 0 || !url || !isCredentialParameter(m[1])) continue;
    const v = decode(value).trim();
    if (v === '' || PLACEHOLDER.test(v) || NOT_A_CREDENTIAL.test(v)) continue;
    const start = m.index + m[0].length - value.length;
    found.push({ start, end: start + value.length, where: 'query', name: m[1] });
  }
  return found;
}

/**
 * What ends a URL in text: a space, a quote or a bracket. A parameter is a URL's when the run it is in has a
 * `?` or `#` at or before it, and before that something a URL has (`scheme:`, `/path`, `host.domain`), as in
 * `https://host/x?token=`, `git@host:x.git?token=`, `host.io?key=`.
 */
const BOUNDARY = /[\s'"<>`]/;

/** An HTTP Authorization credential: `Basic <base64 of user:password>` or `Bearer <token>`. */
export interface AuthorizationCredential {
  readonly start: number;
  readonly end: number;
  readonly scheme: 'Basic' | 'Bearer';
}

const AUTHORIZATION = /\b(basic|bearer)[ \t]+([A-Za-z0-9\-._~+/]{8,}=*)(?![A-Za-z0-9\-._~+/=])/gi;

/** `user:password`, base64-encoded (standard or URL alphabet): printable, with a password after the colon. */
export function isBasicCredential(b64: string): boolean {
  if (!/^[A-Za-z0-9+/_-]{4,}=*$/.test(b64)) return false;
  const decoded = Buffer.from(b64, 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return /^[\x20-\x7e]+$/.test(decoded) && colon >= 0 && colon < decoded.length - 1;
}

/** A bearer token rather than a word: a digit, mixed case, or a JWT's dots. */
function isBearerToken(t: string): boolean {
  return !PLACEHOLDER.test(t) && (/[0-9]/.test(t) || (/[a-z]/.test(t) && /[A-Z]/.test(t.slice(1))) || /^[^.]+\.[^.]+\.[^.]+$/.test(t));
}

/**
 * HTTP Authorization credentials anywhere in `text` (`Authorization: Basic YWRtaW46...`, `-H "Authorization:
 * Bearer eyJ..."`). Conservative: a Basic credential must decode to `user:password`, a Bearer token must
 * not be a word (`Bearer tokens`, `basic auth` are prose), and references (`Bearer $TOKEN`) are none.
 */
export function authorizationCredentials(text: string): AuthorizationCredential[] {
  if (!/basic|bearer/i.test(text)) return [];
  const found: AuthorizationCredential[] = [];
  AUTHORIZATION.lastIndex = 0;
  for (let m = AUTHORIZATION.exec(text); m; m = AUTHORIZATION.exec(text)) {
    const basic = m[1].toLowerCase() === 'basic';
    const cred = m[2];
    if (basic ? !isBasicCredential(cred) : !isBearerToken(cred)) continue;
    const start = m.index + m[0].length - cred.length;
    found.push({ start, end: start + cred.length, scheme: basic ? 'Basic' : 'Bearer' });
  }
  return found;
}

/** What replaces a secret in a message. */
export const REDACTED = '<redacted>';

/**
 * `text` with every credential masked: what secretlint finds, URL credentials, Authorization credentials, and the given values (of at
 * least 4 characters, so that masking never garbles a message on a one-letter value). For messages that
 * may quote input, as a last line of defence; the messages themselves name fields, not values.
 */
export function redactSecrets(text: string, known: Iterable<string> = []): string {
  const ranges: [number, number][] = [...secretlint(text).map((f) => [f.start, f.end] as [number, number]),
    ...urlCredentials(text).map((c) => [c.start, c.end] as [number, number]),
    ...authorizationCredentials(text).map((c) => [c.start, c.end] as [number, number])];
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
