// The validation of one environment: lib/validation's checks, told what only the platform knows (the
// Services and datasources that Helm charts create, the labels the chart's Prometheus selects, where the
// environment's folders sit in the deploy repo).
import * as fs from 'fs';
import * as path from 'path';
import { isHelmComponent } from './component';
import { Platform } from './platform';
import { formatViolations, ManifestFile, SchemaCache, validateManifests, ValidationOptions, Violation } from './validation';

export function validationOptions(platform: Platform): ValidationOptions {
  const { config } = platform;
  const helm = platform.components.filter(isHelmComponent);
  const folderNamespace = new Map(platform.components.map((c) => [c.name, c.targetNamespace]));
  return {
    defaultNamespace: (file) => folderNamespace.get(file.split('/')[0]) ?? config.argocd.namespace,
    externalServices: helm.flatMap((c) => c.services.map((s) => ({ namespace: s.namespace ?? c.targetNamespace, name: s.name, ports: [...s.ports] }))),
    knownDatasourceUids: helm.flatMap((c) => [...c.datasourceUids]),
    prometheusSelector: helm.find((c) => c.monitorSelector)?.monitorSelector,
    repoPathPrefix: `${config.deployRepo.path}/${config.environment}/`,
    repoURL: config.deployRepo.url,
  };
}

/** Every violation in the files of one environment (paths relative to gitops/<environment>/). */
export function validatePlatform(platform: Platform, files: readonly ManifestFile[], schemaCache?: SchemaCache): Violation[] {
  return validateManifests(files, { ...validationOptions(platform), schemaCache });
}

/**
 * A schema cache kept in a file between synths (dist/schema-cache.json): an unchanged object is not
 * checked against its schema again, which is most of the validation's cost on a warm run. It holds only
 * digests of objects that passed, from the last synth; the cross-reference checks always run.
 */
export class FileSchemaCache implements SchemaCache {
  private readonly known: Set<string>;
  private readonly seen = new Set<string>();

  constructor(private readonly file: string) {
    let keys: string[] = [];
    try {
      keys = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // No cache yet, or an unreadable one: validate everything.
    }
    this.known = new Set(Array.isArray(keys) ? keys : []);
  }

  has(key: string): boolean {
    if (!this.known.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  add(key: string): void {
    this.seen.add(key);
  }

  /** Keeps what this run validated or reused; written aside and renamed, so readers never see half a file. */
  save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const staged = `${this.file}.${process.pid}`;
    fs.writeFileSync(staged, JSON.stringify([...this.seen].sort()));
    fs.renameSync(staged, this.file);
  }
}

export class ValidationError extends Error {
  /** `folder`: where the environment's files are, or would be written. */
  constructor(readonly environment: string, readonly violations: readonly Violation[], folder = `gitops/${environment}/`) {
    super(`${folder} would be invalid: ${violations.length} problem${violations.length === 1 ? '' : 's'}\n${formatViolations(violations)}`);
    this.name = 'ValidationError';
  }
}
