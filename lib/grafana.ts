// Grafana provisioning as typed children of the component that owns the data: a datasource or a dashboard
// is a ConfigMap the Grafana sidecars discover by label, in Grafana's namespace. The datasource uids that
// datasources and dashboards link to are found by the one walk below and checked against the whole cluster
// state by the validator (datasource-uid in lib/validation/rules-observability.ts), which synth runs and
// which also sees hand edits of gitops/.
import * as yaml from 'js-yaml';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';

/** The Grafana that the sidecars provision: where provisioning ConfigMaps go and how they are labelled. */
export interface GrafanaProvisioning {
  readonly namespace: string;
  readonly datasourceLabels: Readonly<Record<string, string>>;
  readonly dashboardLabels: Readonly<Record<string, string>>;
  /** The annotation that puts a dashboard ConfigMap into a Grafana folder of that name. */
  readonly folderAnnotation: string;
  /** The uids of the datasources Grafana has without us (the chart's Prometheus, Alertmanager). */
  readonly datasourceUid: { readonly prometheus: string; readonly alertmanager: string };
}

export interface GrafanaDatasourceProps {
  readonly grafana: GrafanaProvisioning;
  /** The ConfigMap's name; the file in it is `<name>.yaml`. */
  readonly name: string;
  /** Grafana's datasource provisioning file (apiVersion, datasources, ...). */
  readonly file: { readonly datasources: readonly ({ readonly uid: string } & Record<string, unknown>)[] } & Record<string, unknown>;
}

/** A datasource provisioning file, as a ConfigMap. */
export class GrafanaDatasource extends Construct {
  public readonly configMap: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: GrafanaDatasourceProps) {
    super(scope, id);
    this.configMap = new k8s.KubeConfigMap(this, 'configmap', {
      metadata: { name: props.name, namespace: props.grafana.namespace, labels: { ...props.grafana.datasourceLabels } },
      // Grafana expands $VAR and ${VAR} from its environment in provisioning files: a literal $ (a derived
      // field's ${__value.raw}, a metric query's $__tags) is written $$.
      data: { [`${props.name}.yaml`]: yaml.dump(escapeDollars(props.file), { lineWidth: -1, noRefs: true }) },
    });
  }
}

export interface GrafanaDashboardProps {
  readonly grafana: GrafanaProvisioning;
  /** The ConfigMap's name. */
  readonly name: string;
  /** The dashboard's file name inside the ConfigMap, e.g. loki-overview.json. */
  readonly file: string;
  /** The dashboard JSON. */
  readonly dashboard: object;
  /** @default - Grafana's General folder */
  readonly folder?: string;
}

/** A dashboard, as a ConfigMap. */
export class GrafanaDashboard extends Construct {
  public readonly configMap: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: GrafanaDashboardProps) {
    super(scope, id);
    this.configMap = new k8s.KubeConfigMap(this, 'configmap', {
      metadata: {
        name: props.name,
        namespace: props.grafana.namespace,
        labels: { ...props.grafana.dashboardLabels },
        ...(props.folder ? { annotations: { [props.grafana.folderAnnotation]: props.folder } } : {}),
      },
      data: { [props.file]: JSON.stringify(props.dashboard, null, 2) },
    });
  }
}

/** The value with every `$` in its strings doubled, as Grafana's provisioning reads a literal `$`. */
export function escapeDollars<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\$/g, '$$$$') as T;
  if (Array.isArray(value)) return value.map(escapeDollars) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)])) as T;
  }
  return value;
}

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
  // One path, grown and shrunk as the walk goes (a dashboard has thousands of nodes), copied at each find.
  const found: UidRef[] = [];
  const path = [...at];
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      n.forEach((v, i) => { path.push(i); walk(v); path.pop(); });
      return;
    }
    for (const [k, v] of Object.entries(n)) {
      if (k === 'datasource' && v && typeof v === 'object' && typeof (v as { uid?: unknown }).uid === 'string') {
        found.push({ uid: (v as { uid: string }).uid, at: [...path, k, 'uid'] });
      } else {
        path.push(k);
        walk(v);
        path.pop();
      }
    }
  };
  walk(node);
  return found;
}

/** The uids of `datasourceUidRefs`. */
export function linkedDatasourceUids(node: unknown): string[] {
  return datasourceUidRefs(node).map((r) => r.uid);
}

/** The uids of `dashboardDatasourceUidRefs`. */
export function dashboardDatasourceUids(node: unknown): string[] {
  return dashboardDatasourceUidRefs(node).map((r) => r.uid);
}
