"""Argo CD argoproj.io/v1alpha1 Application and AppProject (argo-cd manifests/crds, v2.13 .. v3.x)."""
from dsl import *

def jsonnet_var():
    return O({'name': S(), 'value': S(), 'code': B()}, required=['name', 'value'])

def directory():
    return O({
        'recurse': B(),
        'include': S(),
        'exclude': S(),
        'jsonnet': O({'extVars': A(jsonnet_var()), 'tlas': A(jsonnet_var()), 'libs': A(S())}),
    })

def helm():
    return O({
        'releaseName': S(),
        'namespace': S(),
        'version': S(),
        'valueFiles': A(S()),
        'ignoreMissingValueFiles': B(),
        'values': S(),
        'valuesObject': OPEN('Helm values map: upstream keeps unknown fields (x-kubernetes-preserve-unknown-fields)'),
        'parameters': A(O({'name': S(), 'value': S(), 'forceString': B()})),
        'fileParameters': A(O({'name': S(), 'path': S()})),
        'passCredentials': B(),
        'skipCrds': B(),
        'skipTests': B(),
        'skipSchemaValidation': B(),
        'kubeVersion': S(),
        'apiVersions': A(S()),
    })

def kustomize():
    return O({
        'namePrefix': S(),
        'nameSuffix': S(),
        'namespace': S(),
        'images': A(S()),
        'commonLabels': MS(),
        'commonAnnotations': MS(),
        'commonAnnotationsEnvsubst': B(),
        'forceCommonLabels': B(),
        'forceCommonAnnotations': B(),
        'labelWithoutSelector': B(),
        'labelIncludeTemplates': B(),
        'components': A(S()),
        'ignoreMissingComponents': B(),
        'replicas': A(O({'name': S(), 'count': IOS()}, required=['count', 'name'])),
        'patches': A(O({
            'path': S(),
            'patch': S(),
            'target': O({
                'group': S(), 'version': S(), 'kind': S(), 'name': S(), 'namespace': S(),
                'labelSelector': S(), 'annotationSelector': S(),
            }),
            'options': M(B()),
        })),
        'version': S(),
        'kubeVersion': S(),
        'apiVersions': A(S()),
    })

def plugin():
    return O({
        'name': S(),
        'env': A(O({'name': S(), 'value': S()}, required=['name', 'value'])),
        'parameters': A(O({'name': S(), 'string': S(), 'array': A(S()), 'map': MS()})),
    })

def source():
    return O({
        'repoURL': S(),
        'path': S(),
        'targetRevision': S(),
        'chart': S(),
        'ref': S(),
        'name': S(),
        'helm': helm(),
        'kustomize': kustomize(),
        'directory': directory(),
        'plugin': plugin(),
    }, required=['repoURL'])

def destination():
    return O({'server': S(), 'name': S(), 'namespace': S()})

def backoff_retry():
    return O({
        'limit': I('int64'),
        'refresh': B(),
        'backoff': O({'duration': S(), 'factor': I('int64'), 'maxDuration': S()}),
    })

def application_spec():
    return O({
        'project': S(),
        'source': source(),
        'sources': A(source()),
        'sourceHydrator': O({
            'drySource': O({
                'repoURL': S(), 'targetRevision': S(), 'path': S(),
                'helm': helm(), 'kustomize': kustomize(), 'directory': directory(), 'plugin': plugin(),
            }, required=['path', 'repoURL', 'targetRevision']),
            'syncSource': O({'targetBranch': S(), 'path': S(minLength=1, pattern='^.{2,}|[^./]$')},
                            required=['path', 'targetBranch']),
            'hydrateTo': O({'targetBranch': S()}, required=['targetBranch']),
        }, required=['drySource', 'syncSource']),
        'destination': destination(),
        'syncPolicy': O({
            'automated': O({'enabled': B(), 'prune': B(), 'selfHeal': B(), 'allowEmpty': B()}),
            'syncOptions': A(S()),
            'retry': backoff_retry(),
            'managedNamespaceMetadata': O({'labels': MS(), 'annotations': MS()}),
        }),
        'ignoreDifferences': A(O({
            'group': S(), 'kind': S(), 'name': S(), 'namespace': S(),
            'jsonPointers': A(S()), 'jqPathExpressions': A(S()), 'managedFieldsManagers': A(S()),
        }, required=['kind'])),
        'info': A(O({'name': S(), 'value': S()}, required=['name', 'value'])),
        'revisionHistoryLimit': I('int64'),
    }, required=['destination', 'project'])

def operation():
    strategy_force = O({'force': B()})
    return O({
        'sync': O({
            'revision': S(),
            'revisions': A(S()),
            'prune': B(),
            'dryRun': B(),
            'autoHealAttemptsCount': I('int64'),
            'manifests': A(S()),
            'syncOptions': A(S()),
            'source': source(),
            'sources': A(source()),
            'resources': A(O({'group': S(), 'kind': S(), 'name': S(), 'namespace': S()}, required=['kind', 'name'])),
            'syncStrategy': O({'apply': strategy_force, 'hook': strategy_force}),
        }),
        'initiatedBy': O({'username': S(), 'automated': B()}),
        'info': A(O({'name': S(), 'value': S()}, required=['name', 'value'])),
        'retry': backoff_retry(),
    })

def application():
    status = OPEN('status is written by the application controller, never authored in Git')
    d = root(application_spec(), status=status, required=['metadata', 'spec'])
    d['properties']['operation'] = operation()
    return d

def appproject():
    group_kind = O({'group': S(), 'kind': S()}, required=['group', 'kind'])
    cluster_item = O({'group': S(), 'kind': S(), 'name': S()}, required=['group', 'kind'])
    spec = O({
        'description': S(maxLength=255),
        'sourceRepos': A(S()),
        'sourceNamespaces': A(S()),
        'destinations': A(destination()),
        'destinationServiceAccounts': A(O({
            'server': S(), 'namespace': S(), 'defaultServiceAccount': S(),
        }, required=['defaultServiceAccount', 'server'])),
        'clusterResourceWhitelist': A(cluster_item),
        'clusterResourceBlacklist': A(cluster_item),
        'namespaceResourceWhitelist': A(group_kind),
        'namespaceResourceBlacklist': A(group_kind),
        'roles': A(O({
            'name': S(),
            'description': S(),
            'policies': A(S()),
            'groups': A(S()),
            'jwtTokens': A(O({'iat': I('int64'), 'exp': I('int64'), 'id': S()}, required=['iat'])),
        }, required=['name'])),
        'syncWindows': A(O({
            'kind': S(),
            'schedule': S(),
            'duration': S(),
            'timeZone': S(),
            'applications': A(S()),
            'namespaces': A(S()),
            'clusters': A(S()),
            'manualSync': B(),
            'andOperator': B(),
            'description': S(),
            'syncOverrun': B(),
        })),
        'orphanedResources': O({
            'warn': B(),
            'ignore': A(O({'group': S(), 'kind': S(), 'name': S()})),
        }),
        'signatureKeys': A(O({'keyID': S()}, required=['keyID'])),
        'sourceIntegrity': O({
            'git': O({
                'policies': A(O({
                    'repos': A(O({'url': S()}, required=['url'])),
                    'gpg': O({'mode': S(), 'keys': A(S())}, required=['keys', 'mode']),
                }, required=['gpg', 'repos'])),
            }, required=['policies']),
        }, required=['git']),
        'permitOnlyProjectScopedClusters': B(),
    })
    status = O({
        'jwtTokensByRole': M(O({'items': A(O({'iat': I('int64'), 'exp': I('int64'), 'id': S()}, required=['iat']))})),
    })
    return root(spec, status=status, required=['metadata', 'spec'])
