// The validation of one environment: lib/validation's checks, told what only the platform knows (the
// Services and datasources that Helm charts create, the labels the chart's Prometheus selects, where the
// environment's folders sit in the deploy repo).
import { isHelmComponent } from './component';
import { Platform } from './platform';
import { formatViolations, ManifestFile, validateManifests, ValidationOptions, Violation } from './validation';

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
export function validatePlatform(platform: Platform, files: readonly ManifestFile[]): Violation[] {
  return validateManifests(files, validationOptions(platform));
}

export class ValidationError extends Error {
  constructor(readonly environment: string, readonly violations: readonly Violation[]) {
    super(`gitops/${environment}/ would be invalid: ${violations.length} problem${violations.length === 1 ? '' : 's'}\n${formatViolations(violations)}`);
    this.name = 'ValidationError';
  }
}
