// The Kubernetes CEL library functions that the rules of our CRDs use, for @bufbuild/cel (which implements
// cel-spec's standard library and cel-go's strings extension). Each follows the Kubernetes documentation
// ("CEL in Kubernetes", k8s.io/apiserver/pkg/cel/library):
// - URLs: isURL(string), url(string), and on a URL getScheme(), getHost(), getHostname(), getPort(),
//   getEscapedPath(), getQuery() (url.go: Go's url.ParseRequestURI, "an absolute URI or an absolute path");
// - IPs: isIP(string) (ip.go: IPv4 or IPv6; no IPv4 octet with a leading zero, no IPv4-mapped IPv6 address,
//   no zone);
// - lists: isSorted() (lists.go).
// A function outside this set (and outside the standard library and strings extension) is unknown: a rule
// that calls it is reported as not evaluated (lib/validation/cel.ts), never passed.
import { celFunc, celMap, CelMap, celMethod, CelScalar, isCelMap, listType, mapType } from '@bufbuild/cel';
import type { CelFunc, CelList, CelValue } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import * as net from 'net';

/**
 * A URL is a CEL map with this key set: @bufbuild/cel types objects by protobuf descriptor, and a URL has
 * none. The URL methods refuse any other map, so `{}.getScheme()` fails as it does in Kubernetes.
 */
const URL_MARK = '\u0000k8s.URL';

interface ParsedUrl {
  readonly scheme: string;
  readonly host: string;
  readonly hostname: string;
  readonly port: string;
  readonly escapedPath: string;
  readonly rawQuery: string;
}

/** Characters Go's url package allows unescaped in a host (shouldEscape(c, encodeHost) is false). */
const HOST_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]<>"%\u0080-\uffff]*$/;

/**
 * Go's url.ParseRequestURI, as far as the Kubernetes URL library relies on it: an absolute URI (scheme,
 * then an authority or an opaque part) or an absolute path; undefined when Go would return an error.
 */
export function parseRequestUri(raw: string): ParsedUrl | undefined {
  // Control characters (stringContainsCTLByte) and a leading scheme-less colon are errors.
  if (/[\u0000-\u001f\u007f]/.test(raw)) return undefined;
  if (raw === '') return undefined;
  let rest = raw;
  let scheme = '';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (m) {
    scheme = m[1].toLowerCase();
    rest = rest.slice(m[0].length);
  } else if (/^[A-Za-z0-9+.-]*:/.test(rest) && !rest.startsWith('/')) {
    // getScheme: a colon before any '/' with an invalid scheme ("missing protocol scheme", "first path
    // segment in URL cannot contain colon").
    return undefined;
  }
  let rawQuery = '';
  // ParseRequestURI keeps a '#' in the path (it does not split off a fragment); '?' starts the query.
  const q = rest.indexOf('?');
  if (q >= 0) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (!rest.startsWith('/')) {
    // An opaque URI (mailto:x) needs a scheme; a request URI without one must be an absolute path.
    if (scheme === '') return undefined;
    return { scheme, host: '', hostname: '', port: '', escapedPath: '', rawQuery };
  }
  let host = '';
  if (scheme !== '' && rest.startsWith('//')) {
    const afterSlashes = rest.slice(2);
    const end = afterSlashes.indexOf('/');
    let authority = end < 0 ? afterSlashes : afterSlashes.slice(0, end);
    rest = end < 0 ? '' : afterSlashes.slice(end);
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(authority.slice(0, at))) return undefined;
      authority = authority.slice(at + 1);
    }
    host = authority;
  }
  let hostname = host;
  let port = '';
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return undefined;
    const after = host.slice(close + 1);
    if (after !== '' && !/^:\d*$/.test(after)) return undefined;
    hostname = host.slice(1, close);
    port = after.slice(1);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      const p = host.slice(colon + 1);
      if (!/^\d*$/.test(p)) return undefined;
      hostname = host.slice(0, colon);
      port = p;
    }
    if (!HOST_CHARS.test(hostname) || /%(?![0-9A-Fa-f]{2})/.test(hostname)) return undefined;
  }
  if (/%(?![0-9A-Fa-f]{2})/.test(rest)) return undefined;
  return { scheme, host, hostname, port, escapedPath: rest, rawQuery };
}

/** Whether `s` is an IP address as the Kubernetes library's isIP() takes one. */
export function isKubernetesIp(s: string): boolean {
  if (s.includes('%')) return false; // a zone
  if (net.isIPv4(s)) return !s.split('.').some((o) => o.length > 1 && o.startsWith('0'));
  if (!net.isIPv6(s)) return false;
  // An IPv4-mapped IPv6 address (::ffff:1.2.3.4, or its hex form) is refused.
  return !isIpv4Mapped(s);
}

function isIpv4Mapped(v6: string): boolean {
  const lower = v6.toLowerCase();
  let words: string[];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  const body = dotted ? `${lower.slice(0, -dotted[1].length)}0:0` : lower;
  if (body.includes('::')) {
    const [head, tail] = body.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  } else {
    words = body.split(':');
  }
  const n = words.map((w) => parseInt(w, 16));
  return n.slice(0, 5).every((w) => w === 0) && n[5] === 0xffff;
}

function urlOf(map: CelMap): ParsedUrl {
  if (!map.has(URL_MARK)) throw new Error('no such overload: the URL methods take a url() value');
  return {
    scheme: map.get('scheme') as string, host: map.get('host') as string, hostname: map.get('hostname') as string,
    port: map.get('port') as string, escapedPath: map.get('escapedPath') as string, rawQuery: map.get('rawQuery') as string,
  };
}

const URL_TYPE = mapType(CelScalar.STRING, CelScalar.DYN);

/** Ascending order of two CEL values of one comparable type. */
function lessOrEqual(a: CelValue, b: CelValue): boolean {
  if (typeof a === 'bigint' || typeof a === 'number') return (a as number) <= (b as number);
  if (typeof a === 'string' || typeof a === 'boolean') return a <= (b as typeof a);
  throw new Error(`no such overload: isSorted() of a list of ${typeof a}`);
}

/** The functions added to @bufbuild/cel's standard library: the strings extension and Kubernetes' own. */
export const KUBERNETES_FUNCTIONS: readonly CelFunc[] = [
  ...strings,
  celFunc('isURL', [CelScalar.STRING], CelScalar.BOOL, (s) => parseRequestUri(s) !== undefined),
  celFunc('url', [CelScalar.STRING], URL_TYPE, (s) => {
    const u = parseRequestUri(s);
    if (!u) throw new Error(`URL parse error during conversion from string: ${JSON.stringify(s)}`);
    return celMap(new Map<string, string | boolean>([[URL_MARK, true], ...Object.entries(u)]));
  }),
  celMethod('getScheme', URL_TYPE, [], CelScalar.STRING, function () { return urlOf(this).scheme; }),
  celMethod('getHost', URL_TYPE, [], CelScalar.STRING, function () { return urlOf(this).host; }),
  celMethod('getHostname', URL_TYPE, [], CelScalar.STRING, function () { return urlOf(this).hostname; }),
  celMethod('getPort', URL_TYPE, [], CelScalar.STRING, function () { return urlOf(this).port; }),
  celMethod('getEscapedPath', URL_TYPE, [], CelScalar.STRING, function () { return urlOf(this).escapedPath; }),
  celMethod('getQuery', URL_TYPE, [], mapType(CelScalar.STRING, listType(CelScalar.STRING)), function () {
    const out = new Map<string, string[]>();
    for (const part of urlOf(this).rawQuery.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
      const key = decodeURIComponent(k.replace(/\+/g, ' '));
      out.set(key, [...(out.get(key) ?? []), decodeURIComponent(v.replace(/\+/g, ' '))]);
    }
    return out;
  }),
  celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (s) => isKubernetesIp(s)),
  celMethod('isSorted', listType(CelScalar.DYN), [], CelScalar.BOOL, function () {
    const items = [...(this as CelList)];
    for (let i = 1; i < items.length; i++) if (!lessOrEqual(items[i - 1], items[i])) return false;
    return true;
  }),
];

/** Whether a CEL value is a url() value (for tests and messages). */
export function isCelUrl(v: unknown): boolean {
  return isCelMap(v) && v.has(URL_MARK);
}
