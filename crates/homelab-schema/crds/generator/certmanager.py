"""cert-manager (cert-manager.io/v1) schemas: Certificate, Issuer, ClusterIssuer."""
from dsl import *

KEY_USAGES = (
    'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement',
    'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any',
    'server auth', 'client auth', 'code signing', 'email protection', 's/mime',
    'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing',
    'microsoft sgc', 'netscape sgc',
)

def secret_key_ref():
    return O({'name': S(), 'key': S()}, required=['name'])

def name_list():
    return O({'dnsDomains': A(S()), 'ipRanges': A(S()), 'emailAddresses': A(S()), 'uriDomains': A(S())})

def keystore(extra):
    props = {
        'create': B(),
        'passwordSecretRef': secret_key_ref(),
        # literal `password` is newer (v1.18+); accepted for every listed version
        'password': S(),
    }
    props.update(extra)
    return O(props, required=['create'])

def conditions():
    return A(O({
        'type': S(), 'status': E('True', 'False', 'Unknown'), 'reason': S(), 'message': S(),
        'lastTransitionTime': S(format='date-time'), 'observedGeneration': I('int64'),
    }, required=['status', 'type']))

def certificate():
    spec = O({
        'secretName': S(),
        'secretTemplate': O({'annotations': MS(), 'labels': MS()}),
        'commonName': S(),
        'literalSubject': S(),
        'subject': O({
            'organizations': A(S()), 'countries': A(S()), 'organizationalUnits': A(S()),
            'localities': A(S()), 'provinces': A(S()), 'streetAddresses': A(S()),
            'postalCodes': A(S()), 'serialNumber': S(),
        }),
        'dnsNames': A(S()),
        'ipAddresses': A(S()),
        'uris': A(S()),
        'emailAddresses': A(S()),
        'otherNames': A(O({'oid': S(), 'utf8Value': S()})),
        'duration': S(),
        'renewBefore': S(),
        'renewBeforePercentage': I('int32'),
        'isCA': B(),
        'usages': A(E(*KEY_USAGES)),
        'encodeUsagesInRequest': B(),
        'privateKey': O({
            'algorithm': E('RSA', 'ECDSA', 'Ed25519'),
            'encoding': E('PKCS1', 'PKCS8'),
            'size': I(),
            'rotationPolicy': E('Never', 'Always'),
        }),
        # signatureAlgorithm is newer than v1.16 (v1.19); accepted for every listed version
        'signatureAlgorithm': E('SHA256WithRSA', 'SHA384WithRSA', 'SHA512WithRSA',
                                'ECDSAWithSHA256', 'ECDSAWithSHA384', 'ECDSAWithSHA512', 'PureEd25519'),
        'issuerRef': O({'name': S(), 'kind': S(), 'group': S()}, required=['name']),
        'keystores': O({
            'jks': keystore({'alias': S()}),
            'pkcs12': keystore({'profile': E('LegacyRC2', 'LegacyDES', 'Modern2023')}),
        }),
        'revisionHistoryLimit': I('int32'),
        'additionalOutputFormats': A(O({'type': E('DER', 'CombinedPEM')}, required=['type'])),
        'nameConstraints': O({'critical': B(), 'permitted': name_list(), 'excluded': name_list()}),
    }, required=['issuerRef', 'secretName'])
    status = OPEN('status: written by the controller, never authored in Git (encoded in detail upstream)')
    return root(spec, status=status)

def issuer():
    # acme, vault and venafi are large (ACME solvers embed a pod template and a dozen DNS
    # providers) and unused by the platform, which only renders selfSigned and ca issuers:
    # their top-level required fields are checked, the rest is kept as written.
    big = 'large and unused by the platform: top-level required fields only, the rest preserved'
    acme = O({
        'server': S(), 'email': S(), 'privateKeySecretRef': secret_key_ref(),
    }, required=['privateKeySecretRef', 'server'], comment=big,
        **{'x-kubernetes-preserve-unknown-fields': True})
    vault = O({
        'server': S(), 'path': S(), 'auth': OPEN('auth method (appRole, kubernetes, clientCertificate, tokenSecretRef): preserved'),
    }, required=['auth', 'path', 'server'], comment=big,
        **{'x-kubernetes-preserve-unknown-fields': True})
    venafi = O({'zone': S()}, required=['zone'], comment=big,
               **{'x-kubernetes-preserve-unknown-fields': True})
    spec = O({
        'acme': acme,
        'ca': O({
            'secretName': S(),
            'crlDistributionPoints': A(S()),
            'ocspServers': A(S()),
            'issuingCertificateURLs': A(S()),
        }, required=['secretName']),
        'vault': vault,
        'selfSigned': O({'crlDistributionPoints': A(S())}),
        'venafi': venafi,
    }, comment='exactly one issuer type: the cert-manager webhook rejects none or several')
    spec['oneOf'] = [{'required': [k]} for k in ('acme', 'ca', 'vault', 'selfSigned', 'venafi')]
    status = O({
        'acme': O({'uri': S(), 'lastRegisteredEmail': S(), 'lastPrivateKeyHash': S()}),
        'conditions': conditions(),
    })
    return root(spec, status=status, required=['spec'])
