"""Traefik, Longhorn, Sealed Secrets, ARC and k3s helm-controller schemas."""
from dsl import *
import podspec

# ---------------------------------------------------------------- Traefik
def mw_ref():
    return O({'name': S(), 'namespace': S()}, required=['name'])

def sticky(v3):
    cookie = {'name': S(), 'secure': B(), 'httpOnly': B(), 'sameSite': S()}
    if v3:
        cookie.update({'maxAge': I(), 'path': S(), 'domain': S()})
    return O({'cookie': O(cookie)})

def lb_service(v3, with_health=True):
    props = {
        'name': S(),
        'namespace': S(),
        'kind': E('Service', 'TraefikService'),
        'port': IOS(),
        'scheme': S(),
        'strategy': S(),
        'passHostHeader': B(),
        'responseForwarding': O({'flushInterval': S()}),
        'serversTransport': S(),
        'sticky': sticky(v3),
        'weight': I(),
        'nativeLB': B(),
        'nodePortLB': B(),
    }
    if v3:
        # Traefik v3.x additions (strategy enum and the passive health check: v3.5+/v3.7).
        props['strategy'] = E('wrr', 'p2c', 'hrw', 'leasttime', 'RoundRobin')
        props['weight'] = I(minimum=0)
        props['middlewares'] = A(mw_ref())
        props['passiveHealthCheck'] = O({'failureWindow': IOS(), 'maxFailedAttempts': I()})
    if v3 and with_health:
        props['healthCheck'] = O({
            'scheme': S(), 'mode': S(), 'path': S(), 'method': S(), 'status': I(), 'port': I(),
            'interval': IOS(), 'unhealthyInterval': IOS(), 'timeout': IOS(), 'hostname': S(),
            'followRedirects': B(), 'headers': MS(),
        })
    return O(props, required=['name'])

def ingressroute(v3):
    route = {
        'match': S(),
        'kind': E('Rule'),
        'priority': I(),
        'middlewares': A(mw_ref()),
        'services': A(lb_service(v3)),
    }
    if v3:
        route['syntax'] = S()
        route['priority'] = I(maximum=9007199254740991)
        route['observability'] = O({'accessLogs': B(), 'metrics': B(), 'tracing': B(),
                                    'traceVerbosity': E('minimal', 'detailed')})
    ref = O({'name': S(), 'namespace': S()}, required=['name'])
    extra = {}
    if v3:
        extra = {'ingressClassName': S(), 'parentRefs': A(ref)}
    spec = O({
        **extra,
        'entryPoints': A(S()),
        'routes': A(O(route, required=['match'])),
        'tls': O({
            'secretName': S(),
            'options': ref,
            'store': ref,
            'certResolver': S(),
            'domains': A(O({'main': S(), 'sans': A(S())})),
        }),
    }, required=['routes'])
    return root(spec, required=['metadata', 'spec'])

def ip_strategy(v3):
    props = {'depth': I(), 'excludedIPs': A(S())}
    if v3:
        props['ipv6Subnet'] = I()
    return O(props)

def source_criterion(v3):
    return O({'ipStrategy': ip_strategy(v3), 'requestHeaderName': S(), 'requestHost': B()})

def cert_info():
    return {'commonName': B(), 'country': B(), 'domainComponent': B(), 'locality': B(),
            'organization': B(), 'province': B(), 'serialNumber': B()}

def client_tls(v3):
    props = {'caSecret': S(), 'certSecret': S(), 'insecureSkipVerify': B()}
    # caOptional was dropped in v3; the traefik.io group also serves Traefik v2.10/v2.11.
    props['caOptional'] = B()
    return O(props)

def middleware(v3):
    subject = cert_info()
    subject['organizationalUnit'] = B()
    allow = {'sourceRange': A(S()), 'ipStrategy': ip_strategy(v3)}
    allow_v3 = dict(allow, rejectStatusCode=I())
    compress = {'excludedContentTypes': A(S()), 'minResponseBodyBytes': I()}
    forward_auth = {
        'address': S(),
        'trustForwardHeader': B(),
        'authResponseHeaders': A(S()),
        'authResponseHeadersRegex': S(),
        'authRequestHeaders': A(S()),
        'tls': client_tls(v3),
    }
    headers = {
        'customRequestHeaders': MS(), 'customResponseHeaders': MS(),
        'accessControlAllowCredentials': B(), 'accessControlAllowHeaders': A(S()),
        'accessControlAllowMethods': A(S()), 'accessControlAllowOriginList': A(S()),
        'accessControlAllowOriginListRegex': A(S()), 'accessControlExposeHeaders': A(S()),
        'accessControlMaxAge': I('int64'), 'addVaryHeader': B(), 'allowedHosts': A(S()),
        'hostsProxyHeaders': A(S()), 'sslProxyHeaders': MS(), 'stsSeconds': I('int64'),
        'stsIncludeSubdomains': B(), 'stsPreload': B(), 'forceSTSHeader': B(), 'frameDeny': B(),
        'customFrameOptionsValue': S(), 'contentTypeNosniff': B(), 'browserXssFilter': B(),
        'customBrowserXSSValue': S(), 'contentSecurityPolicy': S(), 'publicKey': S(),
        'referrerPolicy': S(), 'permissionsPolicy': S(), 'isDevelopment': B(),
        # Deprecated v2 fields (removed in v3); kept because traefik.io also serves v2.10/v2.11.
        'featurePolicy': S(), 'sslRedirect': B(), 'sslTemporaryRedirect': B(), 'sslHost': S(),
        'sslForceHost': B(),
    }
    errors = {'status': A(S()), 'service': lb_service(v3), 'query': S()}
    rate_limit = {'average': I('int64'), 'period': IOS(), 'burst': I('int64'), 'sourceCriterion': source_criterion(v3)}
    retry = {'attempts': I(), 'initialInterval': IOS()}
    strip_prefix = {'prefixes': A(S()), 'forceSlash': B()}
    props = {
        'addPrefix': O({'prefix': S()}),
        'stripPrefix': O(strip_prefix),
        'stripPrefixRegex': O({'regex': A(S())}),
        'replacePath': O({'path': S()}),
        'replacePathRegex': O({'regex': S(), 'replacement': S()}),
        'chain': O({'middlewares': A(mw_ref())}),
        'ipWhiteList': O(allow),
        'headers': O(headers),
        'errors': O(errors),
        'rateLimit': O(rate_limit),
        'redirectRegex': O({'regex': S(), 'replacement': S(), 'permanent': B()}),
        'redirectScheme': O({'scheme': S(), 'port': S(), 'permanent': B()}),
        'basicAuth': O({'secret': S(), 'realm': S(), 'removeHeader': B(), 'headerField': S()}),
        'digestAuth': O({'secret': S(), 'removeHeader': B(), 'realm': S(), 'headerField': S()}),
        'forwardAuth': O(forward_auth),
        'inFlightReq': O({'amount': I('int64'), 'sourceCriterion': source_criterion(v3)}),
        'buffering': O({
            'maxRequestBodyBytes': I('int64'), 'memRequestBodyBytes': I('int64'),
            'maxResponseBodyBytes': I('int64'), 'memResponseBodyBytes': I('int64'),
            'retryExpression': S(),
        }),
        'circuitBreaker': O({
            'expression': S(), 'checkPeriod': IOS(), 'fallbackDuration': IOS(), 'recoveryDuration': IOS(),
        }),
        'compress': O(compress),
        'passTLSClientCert': O({
            'pem': B(),
            'info': O({
                'notAfter': B(), 'notBefore': B(), 'sans': B(), 'serialNumber': B(),
                'subject': O(subject), 'issuer': O(cert_info()),
            }),
        }),
        'retry': O(retry),
        'contentType': O({'autoDetect': B()}),
        'plugin': M(ANY('plugin configuration is plugin-defined: upstream preserves unknown fields')),
    }
    if v3:
        props['ipAllowList'] = O(allow_v3)
        props['grpcWeb'] = O({'allowOrigins': A(S())})
        compress.update({'includedContentTypes': A(S()), 'encodings': A(S()), 'defaultEncoding': S()})
        props['compress'] = O(compress)
        forward_auth.update({
            'addAuthCookiesToResponse': A(S()), 'headerField': S(), 'forwardBody': B(), 'maxBodySize': I('int64'),
            'preserveLocationHeader': B(), 'preserveRequestMethod': B(), 'maxResponseBodySize': I('int64'),
        })
        props['forwardAuth'] = O(forward_auth)
        errors['statusRewrites'] = M(I())
        props['errors'] = O(errors)
        rate_limit['redis'] = O({
            'endpoints': A(S()), 'secret': S(), 'db': I(), 'poolSize': I(), 'minIdleConns': I(),
            'maxActiveConns': I(), 'readTimeout': IOS(), 'writeTimeout': IOS(), 'dialTimeout': IOS(),
            'tls': O({'caSecret': S(), 'certSecret': S(), 'insecureSkipVerify': B()}),
        })
        rate_limit['average'] = I('int64', minimum=0)
        rate_limit['burst'] = I('int64', minimum=0)
        props['rateLimit'] = O(rate_limit)
        props['circuitBreaker']['properties']['responseCode'] = I(minimum=100, maximum=599)
        props['compress']['properties']['minResponseBodyBytes'] = I(minimum=0)
        retry['attempts'] = I(minimum=0)
        retry.update({'timeout': IOS(), 'disableRetryOnNetworkError': B(), 'retryNonIdempotentMethod': B(),
                      'status': A(S()), 'maxRequestBodyBytes': I('int64')})
        props['retry'] = O(retry)
    else:
        props['ipAllowList'] = O(allow)
    return root(O(props), required=['metadata', 'spec'])

# ---------------------------------------------------------------- Longhorn
def recurringjob():
    spec = O({
        'name': S(),
        'task': E('snapshot', 'snapshot-force-create', 'snapshot-cleanup', 'snapshot-delete', 'backup',
                  'backup-force-create', 'filesystem-trim', 'system-backup'),
        'cron': S(),
        'groups': A(S()),
        'retain': I(),
        'retainAge': S(),
        'retentionPolicy': E('count-based', 'age-based'),
        'concurrency': I(),
        'activeDeadlineSeconds': I('int64', minimum=0),
        'labels': MS(),
        'parameters': MS(),
    })
    status = O({'ownerID': S(), 'executionCount': I()})
    return root(spec, status=status)

# ---------------------------------------------------------------- Sealed Secrets
def sealedsecret():
    spec = O({
        'encryptedData': dict(M(S()), **{
            '#': 'upstream marks encryptedData x-kubernetes-preserve-unknown-fields (values stay strings)',
            'x-kubernetes-preserve-unknown-fields': True}),
        'template': O({
            'type': S(),
            'immutable': B(),
            'metadata': OPEN('metadata of the Secret to create: upstream preserves unknown fields here'),
            'data': dict(MS(), nullable=True),
        }),
        'data': S(format='byte'),
    }, required=['encryptedData'])
    status = O({
        'observedGeneration': I('int64'),
        'conditions': A(O({
            'type': S(), 'status': S(), 'reason': S(), 'message': S(),
            'lastTransitionTime': S(format='date-time'), 'lastUpdateTime': S(format='date-time'),
        }, required=['status', 'type'])),
    })
    return root(spec, status=status, required=['spec'])

# ---------------------------------------------------------------- ARC
def autoscalingrunnerset():
    pts = podspec.pod_template_spec('v1.37.0')
    pts['#'] = ('core/v1 PodTemplateSpec, inlined from the Kubernetes 1.37 OpenAPI schema (PyPI kubernetes-validate\n'
                '1.37.0, Apache-2.0), descriptions dropped, written as one JSON flow line to keep the file small;\n'
                'upstream ARC embeds the same type (controller-gen), Quantity as int-or-string with its pattern.')
    pts['##flow'] = True
    resource_meta = O({'labels': MS(), 'annotations': MS()})
    proxy_server = O({
        'url': S(),
        'credentialSecretRef': S(),
        'tls': O({'clientCertSecretRef': S(), 'caCertSecretRef': S(), 'caCertConfigMapRef': S(),
                  'insecureSkipVerify': B()}),
    })
    proxy = O({'http': proxy_server, 'https': proxy_server, 'noProxy': A(S())})
    spec = O({
        'githubConfigUrl': S(),
        'githubConfigSecret': S(),
        'runnerGroup': S(),
        'runnerScaleSetName': S(),
        'runnerScaleSetLabels': A(S()),
        'proxy': proxy,
        'githubServerTLS': O({'certificateFrom': O({'configMapKeyRef': O({
            'name': S(), 'key': S(), 'optional': B()}, required=['key'])})}),
        'vaultConfig': O({
            'type': S(),
            'azureKeyVault': O({'url': S(), 'tenantId': S(), 'clientId': S(), 'certificatePath': S()},
                               required=['certificatePath', 'clientId', 'tenantId', 'url']),
            'proxy': proxy,
        }),
        'template': pts,
        'listenerTemplate': pts,
        'listenerMetrics': O({
            'counters': M(O({'labels': A(S())}, required=['labels'])),
            'gauges': M(O({'labels': A(S())}, required=['labels'])),
            'histograms': M(O({'labels': A(S()), 'buckets': A(N())}, required=['labels'])),
        }),
        'autoscalingListener': resource_meta,
        'listenerServiceAccountMetadata': resource_meta,
        'listenerRoleMetadata': resource_meta,
        'listenerRoleBindingMetadata': resource_meta,
        'listenerConfigSecretMetadata': resource_meta,
        'ephemeralRunnerSetMetadata': resource_meta,
        'ephemeralRunnerMetadata': resource_meta,
        'ephemeralRunnerConfigSecretMetadata': resource_meta,
        'maxRunners': I(minimum=0),
        'minRunners': I(minimum=0),
    })
    status = O({
        'currentRunners': I(),
        'phase': S(),
        'pendingEphemeralRunners': I(),
        'runningEphemeralRunners': I(),
        'failedEphemeralRunners': I(),
    })
    return root(spec, status=status)

# ---------------------------------------------------------------- k3s helm-controller
def helmchartconfig():
    spec = O({
        'valuesContent': S(),
        'values': ANY('chart values: upstream preserves unknown fields (any structured YAML)'),
        'valuesSecrets': A(O({'name': S(), 'keys': A(S()), 'ignoreUpdates': B()})),
        'failurePolicy': E('abort', 'reinstall', 'retry'),
        'forceConflicts': B(),
    })
    return root(spec)
