// Observability: Grafana datasources refer to each other by uid, and Prometheus selects monitors by label.
import * as yaml from 'js-yaml';
import { LRUCache } from 'lru-cache';
import { dashboardDatasourceUidRefs, datasourceUidRefs } from '../grafana';
import { fieldPath } from './schema';
import { Context, isObject, Json, KObject, list, Path, str } from './context';

const DATASOURCE_LABEL = 'grafana_datasource';
const DATASOURCE_LABEL_VALUE = '1';
const DASHBOARD_LABEL = 'grafana_dashboard';
/** Datasources every Grafana has: mixed queries, the built-in Grafana source, another panel's query. */
const GRAFANA_BUILT_IN_UIDS = new Set(['-- Mixed --', '-- Grafana --', '-- Dashboard --', 'grafana']);

/**
 * The datasource uids each dashboard names, by its text: the same dashboards (kube-prometheus-stack's ~30,
 * some of 100 KB) are parsed and walked once per process, not in every validation of the platform.
 */
const dashboardRefs = new LRUCache<string, ReturnType<typeof dashboardDatasourceUidRefs>>({ max: 1024 });

interface UidRef {
  readonly object: KObject;
  readonly uid: string;
  readonly at: Path;
}

/** datasource-uid */
export function datasourceUid(ctx: Context): void {
  const defined = new Map<string, { object: KObject; at: Path }>();
  const refs: UidRef[] = [];
  for (const cm of ctx.of('', 'ConfigMap')) {
    if (cm.manifest.metadata?.labels?.[DATASOURCE_LABEL] !== DATASOURCE_LABEL_VALUE) continue;
    const data = isObject(cm.manifest.data) ? cm.manifest.data : {};
    for (const [file, text] of Object.entries(data)) {
      const base: Path = ['data', file];
      let doc: Json;
      try {
        doc = yaml.load(String(text));
      } catch (e) {
        ctx.report('datasource-uid', cm, base, `is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
          'fix the YAML; Grafana skips a provisioning file it cannot read');
        continue;
      }
      list(doc?.datasources).forEach((ds, i) => {
        if (!isObject(ds)) return;
        const at: Path = [...base, 'datasources', i];
        const uid = str(ds.uid);
        if (uid) {
          const first = defined.get(uid);
          if (first) {
            ctx.report('datasource-uid', cm, [...at, 'uid'],
              `datasource uid "${uid}" is also defined by ${first.object.label} (${first.object.file})`,
              'give each datasource a uid of its own');
          } else {
            defined.set(uid, { object: cm, at: [...at, 'uid'] });
          }
        }
        if (ds.derivedFields !== undefined) {
          ctx.report('datasource-uid', cm, [...at, 'derivedFields'],
            'derivedFields is set on the datasource itself, where Grafana ignores it: it is a jsonData setting',
            `move it to ${fieldPath([...at, 'jsonData', 'derivedFields'])}`);
        }
        for (const f of datasourceUidRefs(ds.jsonData, [...at, 'jsonData'])) refs.push({ object: cm, uid: f.uid, at: f.at });
      });
    }
  }
  // Dashboards (ConfigMaps the dashboard sidecar picks up) name datasources by uid in panels and targets.
  for (const cm of ctx.of('', 'ConfigMap')) {
    if (cm.manifest.metadata?.labels?.[DASHBOARD_LABEL] === undefined) continue;
    const data = isObject(cm.manifest.data) ? cm.manifest.data : {};
    for (const [file, text] of Object.entries(data)) {
      if (!file.endsWith('.json')) continue;
      let found = dashboardRefs.get(String(text));
      if (!found) {
        let doc: Json;
        try {
          doc = JSON.parse(String(text));
        } catch (e) {
          ctx.report('datasource-uid', cm, ['data', file], `is not valid JSON: ${(e as Error).message.split('\n')[0]}`,
            'fix the dashboard JSON; Grafana skips a dashboard it cannot read');
          continue;
        }
        found = dashboardDatasourceUidRefs(doc);
        dashboardRefs.set(String(text), found);
      }
      for (const f of found) {
        // Template variables (${datasource}) are resolved by Grafana at view time.
        if (!f.uid.startsWith('$') && !GRAFANA_BUILT_IN_UIDS.has(f.uid)) refs.push({ object: cm, uid: f.uid, at: ['data', file, ...f.at] });
      }
    }
  }
  const known = new Set(defined.keys());
  for (const ref of refs) {
    if (known.has(ref.uid)) continue;
    ctx.report('datasource-uid', ref.object, ref.at,
      `refers to datasource uid "${ref.uid}", which no datasource ConfigMap (label ${DATASOURCE_LABEL}: "${DATASOURCE_LABEL_VALUE}") defines; ` +
      `the known uids are: ${[...known].sort().join(', ') || 'none'}`,
      `use the uid of a provisioned datasource (ours, or one the chart renders), or provision one with uid "${ref.uid}"`);
  }
}
