#!/usr/bin/env bash
# Regenerates the typed bindings in imports/ with `cdk8s import`, offline, from pinned CRD files (and
# imports/k8s.ts from the pinned Kubernetes 1.28 definitions, with scripts/import-k8s.js), then trims them
# to the kinds the platform uses (scripts/trim-imports.js lists them).
#   npm run import                      from ../shared/crds (the pinned copies next to this repo)
#   npm run import -- <folder>          from another folder of *.crds.yaml files
#   npm run import -- --download        fetch the pinned upstream files listed below first (needs internet)
# The output is committed; synth and tests never import or download anything.
set -euo pipefail
cd "$(dirname "$0")/.."
export CDK8S_CHECK_UPGRADE=false

# module file <- upstream files (raw GitHub URLs at pinned tags), one line per source file.
UPSTREAM=(
  "cert-manager https://raw.githubusercontent.com/cert-manager/cert-manager/v1.21.1/deploy/crds/cert-manager.io_certificates.yaml"
  "cert-manager https://raw.githubusercontent.com/cert-manager/cert-manager/v1.21.1/deploy/crds/cert-manager.io_clusterissuers.yaml"
  "cert-manager https://raw.githubusercontent.com/cert-manager/cert-manager/v1.21.1/deploy/crds/cert-manager.io_issuers.yaml"
  "prometheus-operator https://raw.githubusercontent.com/prometheus-community/helm-charts/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack/charts/crds/crds/crd-podmonitors.yaml"
  "prometheus-operator https://raw.githubusercontent.com/prometheus-community/helm-charts/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack/charts/crds/crds/crd-servicemonitors.yaml"
  "prometheus-operator https://raw.githubusercontent.com/prometheus-community/helm-charts/kube-prometheus-stack-88.5.3/charts/kube-prometheus-stack/charts/crds/crds/crd-prometheusrules.yaml"
  "istio https://raw.githubusercontent.com/istio/istio/1.24.2/manifests/charts/base/files/crd-all.gen.yaml"
  "istio-operator https://raw.githubusercontent.com/istio/istio/1.23.6/manifests/charts/istio-operator/crds/crd-operator.yaml"
  "argo-cd https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.4/manifests/crds/application-crd.yaml"
  "argo-cd https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.4/manifests/crds/appproject-crd.yaml"
  "argo-cd https://raw.githubusercontent.com/argoproj/argo-cd/v3.4.4/manifests/crds/applicationset-crd.yaml"
  "keda https://raw.githubusercontent.com/kedacore/keda/v2.20.2/config/crd/bases/keda.sh_scaledobjects.yaml"
  "external-secrets https://raw.githubusercontent.com/external-secrets/external-secrets/helm-chart-2.9.0/deploy/crds/bundle.yaml"
  "sealed-secrets https://raw.githubusercontent.com/bitnami-labs/sealed-secrets/v0.36.6/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml"
)

case "${1:-}" in
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) [ "$1" = "--download" ] || { echo "error: unknown option $1 (see --help)" >&2; exit 2; } ;;
esac
src="${1:-../shared/crds}"
if [ "$src" = "--download" ]; then
  src="$(mktemp -d)"
  trap 'rm -rf "$src"' EXIT
  for line in "${UPSTREAM[@]}"; do
    set -- $line
    echo "fetching $2"
    { curl -fsSL "$2"; echo; echo "---"; } >> "$src/$1.crds.yaml"
  done
fi
[ -d "$src" ] || { echo "error: no CRD folder $src; pass one, or --download" >&2; exit 2; }

for f in "$src"/*.crds.yaml; do
  case "$(basename "$f")" in argo-rollouts.*) continue ;; esac   # not used by the platform
  echo "importing $f"
  npx cdk8s import "$f" --language typescript --output imports --no-save
done

# Upstream doc comments show a PEM private key block as an example (with "<private-key>" as its body);
# secret scanners (gitleaks, the repo's checks) flag the markers, so the example is reworded.
sed -i 's/-----BEGIN PRIVATE[ ]KEY-----\\n<private-key>\\n-----END PRIVATE[ ]KEY-----\\n/<PEM-encoded private key>/g' imports/*.ts

# The Kubernetes API itself, from ../shared/k8s-schema (there is no upstream file to download here:
# cdk8s publishes it in its own repo; pass the file to scripts/import-k8s.js to use another copy).
node scripts/import-k8s.js

# Only the kinds the platform uses, with what they reach (scripts/trim-imports.js: KEEP); other modules go.
node scripts/trim-imports.js
