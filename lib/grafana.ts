// Grafana's links between datasources, read the one way: the chart that provisions datasources and
// dashboards (charts/monitoring.ts) refuses a link to a uid it does not provision, and the validator's
// datasource-uid rule finds the same links in gitops/ as it is on disk (a hand edit).

export type UidPath = (string | number)[];

/** A datasource uid one object refers to, and where: the path below the node walked. */
export interface UidRef {
  readonly uid: string;
  readonly at: UidPath;
}

/**
 * Every `datasourceUid` anywhere in a datasource's jsonData (serviceMap, tracesToLogsV2, derivedFields[],
 * ...), with its path below `at`. An empty uid counts: it links to no datasource.
 */
export function datasourceUidRefs(node: unknown, at: UidPath = []): UidRef[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => datasourceUidRefs(n, [...at, i]));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => (k === 'datasourceUid' && typeof v === 'string'
    ? [{ uid: v, at: [...at, k] }]
    : datasourceUidRefs(v, [...at, k])));
}

/** Every `datasource.uid` in a dashboard (panels, targets, template variables), with its path below `at`. */
export function dashboardDatasourceUidRefs(node: unknown, at: UidPath = []): UidRef[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => dashboardDatasourceUidRefs(n, [...at, i]));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => {
    if (k === 'datasource' && v && typeof v === 'object' && typeof (v as { uid?: unknown }).uid === 'string') {
      return [{ uid: (v as { uid: string }).uid, at: [...at, k, 'uid'] }];
    }
    return dashboardDatasourceUidRefs(v, [...at, k]);
  });
}

/** The uids of `datasourceUidRefs`. */
export function linkedDatasourceUids(node: unknown): string[] {
  return datasourceUidRefs(node).map((r) => r.uid);
}

/** The uids of `dashboardDatasourceUidRefs`. */
export function dashboardDatasourceUids(node: unknown): string[] {
  return dashboardDatasourceUidRefs(node).map((r) => r.uid);
}
