"""Writes crds/<group>/<kind>_<version>.yaml from the schema definitions in kyverno.py, argo.py,
others.py and certmanager.py. The YAML files are generated: edit the definitions and re-run
`KUBERNETES_VALIDATE_WHEEL=... python3 gen.py` (then `python3 check.py ..`)."""
import os, sys
from dsl import emit, strip_comments
import kyverno, argo, others, certmanager

# Default output: the crds/ folder this generator lives in.
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FILES = [
    ('argoproj.io', 'v1alpha1', 'Application', 'Namespaced', argo.application,
     'Argo CD manifests/crds/application-crd.yaml (v2.10 .. v3.x)'),
    ('argoproj.io', 'v1alpha1', 'AppProject', 'Namespaced', argo.appproject,
     'Argo CD manifests/crds/appproject-crd.yaml (v2.10 .. v3.x)'),
    ('kyverno.io', 'v1', 'ClusterPolicy', 'Cluster', lambda: kyverno.policy('v1'),
     'Kyverno config/crds/kyverno/kyverno.io_clusterpolicies.yaml, api/kyverno/v1 (1.12 .. 1.16)'),
    ('kyverno.io', 'v2beta1', 'ClusterPolicy', 'Cluster', lambda: kyverno.policy('v2beta1'),
     'Kyverno api/kyverno/v2beta1 (1.12 .. 1.16)'),
    ('kyverno.io', 'v1', 'Policy', 'Namespaced', lambda: kyverno.policy('v1'),
     'Kyverno config/crds/kyverno/kyverno.io_policies.yaml, api/kyverno/v1 (1.12 .. 1.16)'),
    ('kyverno.io', 'v2beta1', 'Policy', 'Namespaced', lambda: kyverno.policy('v2beta1'),
     'Kyverno api/kyverno/v2beta1 (1.12 .. 1.16)'),
    ('kyverno.io', 'v2', 'PolicyException', 'Namespaced', lambda: kyverno.exception('v2'),
     'Kyverno config/crds/kyverno/kyverno.io_policyexceptions.yaml (1.12 .. 1.16)'),
    ('kyverno.io', 'v2beta1', 'PolicyException', 'Namespaced', lambda: kyverno.exception('v2beta1'),
     'Kyverno config/crds/kyverno/kyverno.io_policyexceptions.yaml (1.12 .. 1.16)'),
    ('longhorn.io', 'v1beta2', 'RecurringJob', 'Namespaced', others.recurringjob,
     'longhorn-manager k8s/pkg/apis/longhorn/v1beta2/recurringjob.go (1.6 .. 1.10)'),
    ('bitnami.com', 'v1alpha1', 'SealedSecret', 'Namespaced', others.sealedsecret,
     'sealed-secrets helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml (0.27+)'),
    ('actions.github.com', 'v1alpha1', 'AutoscalingRunnerSet', 'Namespaced', others.autoscalingrunnerset,
     'actions-runner-controller apis/actions.github.com/v1alpha1/autoscalingrunnerset_types.go (gha-runner-scale-set 0.9 .. 0.13)'),
    ('traefik.io', 'v1alpha1', 'IngressRoute', 'Namespaced', lambda: others.ingressroute(True),
     'Traefik traefik.io_ingressroutes.yaml and pkg/provider/kubernetes/crd/traefikio/v1alpha1 (v2.10 .. v3.7)'),
    ('traefik.io', 'v1alpha1', 'Middleware', 'Namespaced', lambda: others.middleware(True),
     'Traefik traefik.io_middlewares.yaml and pkg/provider/kubernetes/crd/traefikio/v1alpha1 (v2.10 .. v3.7)'),
    ('traefik.containo.us', 'v1alpha1', 'IngressRoute', 'Namespaced', lambda: others.ingressroute(False),
     'Traefik v2 docs/content/reference/dynamic-configuration/traefik.containo.us_ingressroutes.yaml (v2.x)'),
    ('traefik.containo.us', 'v1alpha1', 'Middleware', 'Namespaced', lambda: others.middleware(False),
     'Traefik v2 docs/content/reference/dynamic-configuration/traefik.containo.us_middlewares.yaml (v2.x)'),
    ('helm.cattle.io', 'v1', 'HelmChartConfig', 'Namespaced', others.helmchartconfig,
     'k3s-io/helm-controller pkg/crds/yaml/generated/helm.cattle.io_helmchartconfigs.yaml (v0.15 .. v0.16)'),
    ('cert-manager.io', 'v1', 'Certificate', 'Namespaced', certmanager.certificate,
     'cert-manager deploy/crds/crd-certificates.yaml, pkg/apis/certmanager/v1 (v1.15 .. v1.19)'),
    ('cert-manager.io', 'v1', 'Issuer', 'Namespaced', certmanager.issuer,
     'cert-manager deploy/crds/crd-issuers.yaml, pkg/apis/certmanager/v1 (v1.15 .. v1.19)'),
    ('cert-manager.io', 'v1', 'ClusterIssuer', 'Cluster', certmanager.issuer,
     'cert-manager deploy/crds/crd-clusterissuers.yaml, pkg/apis/certmanager/v1 (v1.15 .. v1.19)'),
]

def main():
    written = []
    for group, version, kind, scope, fn, src in FILES:
        schema = fn()
        lines = [
            f'# {group}/{version} {kind}: hand-encoded structural schema (see ../README.md).',
            f'# Follows: {src}.',
            '# Field names and types are facts of the upstream API; no descriptions.',
            f'group: {group}',
            f'version: {version}',
            f'kind: {kind}',
            f'scope: {scope}',
            'schema:',
        ]
        lines += emit(schema, 2)
        path = os.path.join(OUT, group, f'{kind.lower()}_{version}.yaml')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        written.append((path, strip_comments(schema)))
    return written

if __name__ == '__main__':
    for p, _ in main():
        print(p, os.path.getsize(p))
