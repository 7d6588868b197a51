// Argo CD: every Application that syncs a folder of this repo points at a folder that holds manifests,
// and every Application that installs a Helm chart pins its exact version.
import * as path from 'path';
import { EXACT_CHART_VERSION } from '../config';
import { Context, isObject, Json, KObject, list, Path, str } from './context';


function trimSlashes(p: string): string {
  return p.replace(/^\.\//, '').replace(/^\/+|\/+$/g, '');
}

function sameRepo(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, '').replace(/\.git$/, '').toLowerCase();
  return norm(a) === norm(b);
}

/** Folders of the output that no Application syncs, on purpose: applied by hand once. */
const BY_HAND = new Set(['bootstrap']);

/** application-path */
export function applicationPath(ctx: Context, allFiles: readonly string[]): void {
  // Our files only: what charts render is not in the repo.
  const rendered = new Set(ctx.objects.filter((o) => o.rendered).map((o) => o.file));
  const files = allFiles.filter((f) => !rendered.has(f));
  const folders = new Map<string, number>(); // folder -> number of files directly in it
  const synced = new Set<string>();
  for (const f of files) {
    const dir = path.posix.dirname(f) === '.' ? '' : path.posix.dirname(f);
    folders.set(dir, (folders.get(dir) ?? 0) + 1);
  }
  const topFolders = [...new Set([...folders.keys()].map((f) => f.split('/')[0]).filter((f) => f !== ''))].sort();

  const folderOf = (source: { readonly repoURL?: string; readonly path: string }, app: KObject, at: Path): string | undefined => {
    const { repoPathPrefix, repoURL } = ctx.options;
    if (repoPathPrefix === undefined) return undefined;
    if (repoURL && source.repoURL && !sameRepo(repoURL, source.repoURL)) return undefined;
    const prefix = trimSlashes(repoPathPrefix);
    const p = trimSlashes(source.path);
    if (p === prefix) return '';
    if (p.startsWith(`${prefix}/`)) return p.slice(prefix.length + 1);
    ctx.report('application-path', app, [...at, 'path'],
      `path "${source.path}" is outside ${prefix}/, the folder these manifests are written to`,
      `use a path under ${prefix}/ (its folders: ${topFolders.join(', ')}), or, if the Application syncs another repo, give that repoURL`);
    return undefined;
  };

  for (const app of ctx.of('argoproj.io', 'Application')) {
    const spec = app.manifest.spec ?? {};
    const sources: [Json, Path][] = [];
    if (isObject(spec.source)) sources.push([spec.source, ['spec', 'source']]);
    list(spec.sources).forEach((s, i) => { if (isObject(s)) sources.push([s, ['spec', 'sources', i]]); });
    for (const [source, at] of sources) {
      if (str(source.chart)) {
        const rev = source.targetRevision;
        const revText = typeof rev === 'string' ? rev.trim() : rev === undefined ? '' : String(rev);
        if (!EXACT_CHART_VERSION.test(revText)) {
          ctx.report('application-path', app, [...at, 'targetRevision'],
            revText === ''
              ? `chart ${source.chart} has no targetRevision, so Argo CD installs whatever version is newest`
              : `chart ${source.chart} has targetRevision "${revText}", which is not an exact version (ranges, wildcards and "latest" move; build metadata "+..." names no single archive)`,
            `pin the exact chart version, e.g. targetRevision: 1.2.3`);
        }
        continue;
      }
      const p = str(source.path);
      if (p === undefined) continue;
      const folder = folderOf({ repoURL: str(source.repoURL), path: p }, app, at);
      if (folder === undefined) continue;
      synced.add(folder.split('/')[0]);
      const recurse = source.directory?.recurse === true;
      const holds = recurse
        ? [...folders.keys()].some((f) => folder === '' || f === folder || f.startsWith(`${folder}/`))
        : (folders.get(folder) ?? 0) > 0;
      if (holds) continue;
      const nested = !recurse && [...folders.keys()].some((f) => f.startsWith(`${folder}/`));
      ctx.report('application-path', app, [...at, 'path'],
        `path "${p}" names folder ${folder || '.'}/ of the manifests, which holds no manifest` +
        (nested ? ' directly (only in subfolders, and directory.recurse is not set)' : '') +
        '; Argo CD would sync nothing or fail with "app path does not exist"',
        nested
          ? 'set spec.source.directory.recurse: true, or point the path at the subfolder'
          : `point it at a folder that holds manifests (${topFolders.join(', ')}), or make the component write its manifests to ${folder}/`);
    }
  }
  // The other way round: a folder no Application syncs is never applied (a second install path beside
  // the charts, such as an IstioOperator for istioctl, or a leftover of a removed component).
  // Only for a whole environment: one whose apps/ folder the root Application syncs.
  if (!synced.has('apps')) return;
  for (const top of topFolders) {
    if (synced.has(top) || BY_HAND.has(top)) continue;
    const first = ctx.objects.find((o) => !o.rendered && o.file.startsWith(`${top}/`));
    if (!first) continue;
    ctx.report('application-path', first, '',
      `is in folder ${top}/, which no Application syncs: Argo CD never applies it, and anyone who applies it by hand installs something beside what the Applications manage`,
      `remove ${top}/ (the component that writes it), or give it an Application`);
  }
}
