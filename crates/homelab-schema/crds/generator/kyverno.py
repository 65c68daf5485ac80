"""Kyverno kyverno.io schemas (ClusterPolicy/Policy v1 + v2beta1, PolicyException v2 + v2beta1).
Field names/types follow kyverno/kyverno api/kyverno/{v1,v2beta1,v2} and config/crds (1.13 .. main)."""
from dsl import *

def label_selector():
    return O({
        'matchLabels': MS(),
        'matchExpressions': A(O({
            'key': S(),
            'operator': S(),
            'values': A(S()),
        }, required=['key', 'operator'])),
    })

OPS_V1 = ['Equals', 'NotEquals', 'In', 'AnyIn', 'AllIn', 'NotIn', 'AnyNotIn', 'AllNotIn',
          'GreaterThanOrEquals', 'GreaterThan', 'LessThanOrEquals', 'LessThan',
          'DurationGreaterThanOrEquals', 'DurationGreaterThan', 'DurationLessThanOrEquals', 'DurationLessThan']
OPS_V2 = [o for o in OPS_V1 if o not in ('In', 'NotIn')]

def condition(ops):
    return O({
        'key': ANY('JMESPath expression or literal: any JSON value (upstream: apiextensions JSON)'),
        'operator': E(*ops),
        'value': ANY('any JSON value (upstream: apiextensions JSON)'),
        'message': S(),
    })

def any_all(ops):
    return O({'any': A(condition(ops)), 'all': A(condition(ops))})

def any_all_open(ops):
    """foreach preconditions: upstream types any/all but also keeps unknown fields (legacy list form)."""
    d = any_all(ops)
    d['#'] = 'upstream: typed any/all plus x-kubernetes-preserve-unknown-fields (legacy forms stay accepted)'
    d['x-kubernetes-preserve-unknown-fields'] = True
    return d

def subject():
    return O({'kind': S(), 'apiGroup': S(), 'name': S(), 'namespace': S()}, required=['kind', 'name'])

def resource_description():
    d = O({
        'kinds': A(S()),
        'name': S(),
        'names': A(S()),
        'namespaces': A(S()),
        'annotations': MS(),
        'selector': label_selector(),
        'namespaceSelector': label_selector(),
        'operations': A(E('CREATE', 'CONNECT', 'UPDATE', 'DELETE')),
    })
    d['not'] = {'required': ['name', 'names']}
    return d

def resource_filter():
    return O({
        'resources': resource_description(),
        'subjects': A(subject()),
        'roles': A(S()),
        'clusterRoles': A(S()),
    })

def match_v1():
    d = O({
        'any': A(resource_filter()),
        'all': A(resource_filter()),
        'resources': resource_description(),
        'subjects': A(subject()),
        'roles': A(S()),
        'clusterRoles': A(S()),
    })
    d['not'] = {'required': ['any', 'all']}
    return d

def match_v2():
    d = O({'any': A(resource_filter()), 'all': A(resource_filter())})
    d['not'] = {'required': ['any', 'all']}
    return d

def registry_credentials():
    return O({
        'allowInsecureRegistry': B(),
        'providers': A(E('default', 'amazon', 'azure', 'google', 'github')),
        'secrets': A(S()),
    })

def context_entry():
    d = O({
        'name': S(),
        'configMap': O({'name': S(), 'namespace': S()}, required=['name']),
        'apiCall': O({
            'urlPath': S(),
            'method': E('GET', 'POST'),
            'data': A(O({'key': S(), 'value': ANY('POST body value: any JSON')}, required=['key', 'value'])),
            'service': O({
                'url': S(),
                'caBundle': S(),
                'headers': A(O({'key': S(), 'value': S()}, required=['key', 'value'])),
            }, required=['url']),
            'jmesPath': S(),
            'default': ANY('fallback value: any JSON'),
        }),
        'globalReference': O({'name': S(), 'jmesPath': S()}, required=['name']),
        'imageRegistry': O({
            'reference': S(),
            'jmesPath': S(),
            'imageRegistryCredentials': registry_credentials(),
        }, required=['reference']),
        'variable': O({
            'value': ANY('inline value: any JSON'),
            'jmesPath': S(),
            'default': ANY('fallback value: any JSON'),
        }),
    }, required=['name'])
    d['oneOf'] = [{'required': [k]} for k in ('configMap', 'apiCall', 'imageRegistry', 'variable', 'globalReference')]
    return d

def cel_match_condition():
    return O({'name': S(), 'expression': S()}, required=['expression', 'name'])

PATTERN = 'overlay pattern over an arbitrary resource: upstream is apiextensions JSON (preserve-unknown)'
CONDITIONS_RAW = 'conditions: any/all object or legacy list; upstream is apiextensions JSON (preserve-unknown)'

def pod_security_standard():
    return O({
        'controlName': E('HostProcess', 'Host Namespaces', 'Privileged Containers', 'Capabilities',
                         'HostPath Volumes', 'Host Ports', 'AppArmor', 'SELinux', '/proc Mount Type',
                         'Seccomp', 'Sysctls', 'Volume Types', 'Privilege Escalation', 'Running as Non-root',
                         'Running as Non-root user', 'Host Probes / Lifecycle Hooks'),
        'images': A(S()),
        'restrictedField': S(),
        'values': A(S()),
    }, required=['controlName'])

def pod_security():
    return O({
        'level': E('privileged', 'baseline', 'restricted'),
        'version': E(*['v1.%d' % n for n in range(19, 33)], 'latest'),
        'exclude': A(pod_security_standard()),
    })

def cel():
    return O({
        'expressions': A(O({
            'expression': S(),
            'message': S(),
            'messageExpression': S(),
            'reason': S(),
        }, required=['expression'])),
        'auditAnnotations': A(O({'key': S(), 'valueExpression': S()}, required=['key', 'valueExpression'])),
        'variables': A(O({'name': S(), 'expression': S()}, required=['expression', 'name'])),
        'paramKind': O({'apiVersion': S(), 'kind': S()}),
        'paramRef': O({
            'name': S(),
            'namespace': S(),
            'selector': label_selector(),
            'parameterNotFoundAction': S(),
        }),
        'generate': B(),
    })

def ctlog():
    return O({'ignoreSCT': B(), 'pubkey': S(), 'tsaCertChain': S()})

def rekor():
    return O({'url': S(), 'pubkey': S(), 'ignoreTlog': B()})

def attestor_sets():
    attestor = O({
        'keys': O({
            'publicKeys': S(),
            'kms': S(),
            'secret': O({'name': S(), 'namespace': S()}, required=['name', 'namespace']),
            'signatureAlgorithm': S(),
            'rekor': rekor(),
            'ctlog': ctlog(),
        }),
        'certificates': O({'cert': S(), 'certChain': S(), 'rekor': rekor(), 'ctlog': ctlog()}),
        'keyless': O({
            'issuer': S(),
            'issuerRegExp': S(),
            'subject': S(),
            'subjectRegExp': S(),
            'roots': S(),
            'additionalExtensions': MS(),
            'rekor': rekor(),
            'ctlog': ctlog(),
        }),
        'attestor': ANY('nested attestor set; upstream is apiextensions JSON (preserve-unknown)'),
        'annotations': MS(),
        'repository': S(),
        'signatureAlgorithm': S(),
    })
    return A(O({'count': I(minimum=1), 'entries': A(attestor)}))

def failure_action_overrides():
    return A(O({
        'action': E('audit', 'enforce', 'Audit', 'Enforce'),
        'namespaces': A(S()),
        'namespaceSelector': label_selector(),
    }))

def manifests():
    return O({
        'attestors': attestor_sets(),
        'annotationDomain': S(),
        'ignoreFields': A(O({
            'objects': A(O({'group': S(), 'version': S(), 'kind': S(), 'namespace': S(), 'name': S()})),
            'fields': A(S()),
        })),
        'dryRun': O({'enable': B(), 'namespace': S()}),
        'repository': S(),
    })

def foreach_validation():
    return O({
        'list': S(),
        'elementScope': B(),
        'context': A(context_entry()),
        'preconditions': any_all_open(OPS_V1),
        'pattern': ANY(PATTERN),
        'anyPattern': ANY(PATTERN),
        'deny': O({'conditions': ANY(CONDITIONS_RAW)}),
        'foreach': ANY('nested foreach; upstream is apiextensions JSON (preserve-unknown)'),
    })

def validation_v1():
    return O({
        'message': S(),
        'failureAction': E('Audit', 'Enforce'),
        'failureActionOverrides': failure_action_overrides(),
        'allowExistingViolations': B(),
        'pattern': ANY(PATTERN),
        'anyPattern': ANY(PATTERN),
        'deny': O({'conditions': ANY(CONDITIONS_RAW)}),
        'foreach': A(foreach_validation()),
        'podSecurity': pod_security(),
        'cel': cel(),
        'manifests': manifests(),
        'assert': ANY('kyverno-json assertion tree; upstream is apiextensions JSON (preserve-unknown)'),
    })

def validation_v2beta1():
    return O({
        'message': S(),
        'failureAction': E('Audit', 'Enforce'),
        'failureActionOverrides': failure_action_overrides(),
        'allowExistingViolations': B(),
        'pattern': ANY(PATTERN),
        'anyPattern': ANY(PATTERN),
        'deny': O({'conditions': any_all(OPS_V2)}),
        'foreach': A(foreach_validation()),
        'podSecurity': pod_security(),
        'cel': cel(),
        'manifests': manifests(),
        'assert': ANY('kyverno-json assertion tree; upstream is apiextensions JSON (preserve-unknown)'),
    })

def mutation():
    return O({
        'mutateExistingOnPolicyUpdate': B(),
        'targets': A(O({
            'apiVersion': S(),
            'kind': S(),
            'name': S(),
            'namespace': S(),
            'uid': S(),
            'selector': label_selector(),
            'context': A(context_entry()),
            'preconditions': ANY(CONDITIONS_RAW),
        })),
        'patchStrategicMerge': ANY('strategic merge patch over an arbitrary resource: upstream is apiextensions JSON'),
        'patchesJson6902': S(),
        'foreach': A(O({
            'list': S(),
            'order': E('Ascending', 'Descending'),
            'context': A(context_entry()),
            'preconditions': any_all_open(OPS_V1),
            'patchStrategicMerge': ANY('strategic merge patch: upstream is apiextensions JSON'),
            'patchesJson6902': S(),
            'foreach': ANY('nested foreach; upstream is apiextensions JSON (preserve-unknown)'),
        })),
    })

def clone_list():
    return O({'namespace': S(), 'kinds': A(S()), 'selector': label_selector()})

def generation():
    data = ANY('resource body to generate: upstream is apiextensions JSON (preserve-unknown)')
    return O({
        'apiVersion': S(),
        'kind': S(),
        'name': S(),
        'namespace': S(),
        'uid': S(),
        'synchronize': B(),
        'orphanDownstreamOnPolicyDelete': B(),
        'generateExisting': B(),
        'data': data,
        'clone': O({'namespace': S(), 'name': S()}),
        'cloneList': clone_list(),
        'foreach': A(O({
            'list': S(),
            'context': A(context_entry()),
            'preconditions': any_all_open(OPS_V1),
            'apiVersion': S(),
            'kind': S(),
            'name': S(),
            'namespace': S(),
            'uid': S(),
            'data': data,
            'clone': O({'namespace': S(), 'name': S()}),
            'cloneList': clone_list(),
        })),
    })

def attestations():
    return A(O({
        'type': S(),
        'predicateType': S(),
        'name': S(),
        'attestors': attestor_sets(),
        'conditions': A(any_all(OPS_V1)),
    }))

def image_verification_common():
    return {
        'type': E('Cosign', 'SigstoreBundle', 'Notary'),
        'imageReferences': A(S()),
        'skipImageReferences': A(S()),
        'attestors': attestor_sets(),
        'attestations': attestations(),
        'repository': S(),
        'mutateDigest': B(),
        'verifyDigest': B(),
        'required': B(),
        'useCache': B(),
        'cosignOCI11': B(),
        'failureAction': E('Audit', 'Enforce'),
        'imageRegistryCredentials': registry_credentials(),
        'validate': O({'message': S(), 'deny': O({'conditions': ANY(CONDITIONS_RAW)})}),
    }

def image_verification_v1():
    props = image_verification_common()
    props.update({
        'image': S(),
        'key': S(),
        'roots': S(),
        'subject': S(),
        'issuer': S(),
        'additionalExtensions': MS(),
        'annotations': MS(),
    })
    return O(props)

def image_verification_v2beta1():
    props = image_verification_common()
    props['validationFailureAction'] = E('audit', 'enforce', 'Audit', 'Enforce')
    return O(props)

def image_extractors():
    return M(A(O({'path': S(), 'name': S(), 'key': S(), 'value': S(), 'jmesPath': S()}, required=['path'])))

def rule(version):
    v1 = version == 'v1'
    return O({
        'name': S(maxLength=63),
        'match': match_v1() if v1 else match_v2(),
        'exclude': match_v1() if v1 else match_v2(),
        'context': A(context_entry()),
        'preconditions': ANY(CONDITIONS_RAW) if v1 else any_all(OPS_V2),
        'celPreconditions': A(cel_match_condition()),
        'validate': validation_v1() if v1 else validation_v2beta1(),
        'mutate': mutation(),
        'generate': generation(),
        'verifyImages': A(image_verification_v1() if v1 else image_verification_v2beta1()),
        'imageExtractors': image_extractors(),
        'skipBackgroundRequests': B(),
        'reportProperties': MS(),
    }, required=['name', 'match'])

def policy_spec(version):
    return O({
        'rules': A(rule(version)),
        'validationFailureAction': E('audit', 'enforce', 'Audit', 'Enforce'),
        'validationFailureActionOverrides': failure_action_overrides(),
        'background': B(),
        'admission': B(),
        'emitWarning': B(),
        'applyRules': E('All', 'One'),
        'failurePolicy': E('Ignore', 'Fail'),
        'webhookTimeoutSeconds': I('int32'),
        'webhookConfiguration': O({
            'failurePolicy': E('Ignore', 'Fail'),
            'timeoutSeconds': I('int32'),
            'matchConditions': A(cel_match_condition()),
        }),
        'mutateExistingOnPolicyUpdate': B(),
        'generateExisting': B(),
        'generateExistingOnPolicyUpdate': B(),
        'useServerSideApply': B(),
        'schemaValidation': B(),
    })

STATUS = 'status is written by the Kyverno controller, never authored in Git'

def policy(version):
    return root(policy_spec(version), status=OPEN(STATUS), required=['spec'])

def exception(version):
    spec = O({
        'exceptions': A(O({'policyName': S(), 'ruleNames': A(S())}, required=['policyName', 'ruleNames'])),
        'match': match_v2(),
        'conditions': any_all(OPS_V2),
        'background': B(),
        'podSecurity': A(pod_security_standard()),
    }, required=['exceptions', 'match'])
    return root(spec, required=['spec'])
