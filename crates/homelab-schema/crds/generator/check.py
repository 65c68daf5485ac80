"""Self-check of crds/: YAML parses, header fields, structural-schema rules; converts to JSON Schema."""
import sys, os, glob, yaml, copy

ALLOWED = {'type', 'properties', 'additionalProperties', 'items', 'required', 'enum', 'format', 'pattern',
           'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minItems', 'maxItems', 'minLength',
           'maxLength', 'minProperties', 'maxProperties', 'uniqueItems', 'multipleOf', 'nullable',
           'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource',
           'anyOf', 'oneOf', 'allOf', 'not', 'default'}
JUNCTOR_ALLOWED = {'required', 'enum', 'format', 'pattern', 'minimum', 'maximum', 'minItems', 'maxItems',
                   'minLength', 'maxLength', 'properties', 'items', 'type', 'anyOf', 'oneOf', 'allOf', 'not'}
TYPES = {'object', 'array', 'string', 'integer', 'number', 'boolean'}

def err(errs, path, msg):
    errs.append(f'{path}: {msg}')

def check(node, path, errs, in_junctor=False):
    if not isinstance(node, dict):
        err(errs, path, 'schema node is not a mapping'); return
    for k in node:
        if k not in ALLOWED:
            err(errs, path, f'key {k!r} not allowed')
    if in_junctor:
        ios_branch = set(node) == {'type'} and node['type'] in ('integer', 'string')
        for k in node:
            if k not in JUNCTOR_ALLOWED:
                err(errs, path, f'{k!r} not allowed inside a junctor')
        if 'type' in node and not ios_branch:
            err(errs, path, 'type inside junctor')
        for k in ('properties', 'items'):
            pass
        return
    t = node.get('type')
    ios = node.get('x-kubernetes-int-or-string')
    pres = node.get('x-kubernetes-preserve-unknown-fields')
    if t is None and not ios and not pres:
        err(errs, path, 'missing type (only int-or-string / preserve-unknown nodes may omit it)')
    if t is not None and t not in TYPES:
        err(errs, path, f'bad type {t!r}')
    if ios:
        if t is not None:
            err(errs, path, 'int-or-string with type')
        if node.get('anyOf') not in (None, [{'type': 'integer'}, {'type': 'string'}]):
            err(errs, path, 'int-or-string anyOf must be integer|string')
    if 'properties' in node and 'additionalProperties' in node:
        err(errs, path, 'properties and additionalProperties together')
    if ('properties' in node or 'additionalProperties' in node) and t != 'object':
        err(errs, path, 'properties on non-object')
    if t == 'array' and 'items' not in node:
        err(errs, path, 'array without items')
    if 'items' in node and t != 'array':
        err(errs, path, 'items on non-array')
    if 'enum' in node and t not in ('string', 'integer', 'number'):
        err(errs, path, 'enum on non-scalar')
    for r in node.get('required', []):
        if r not in node.get('properties', {}):
            err(errs, path, f'required {r!r} not a property')
    for k, v in node.get('properties', {}).items():
        check(v, f'{path}/properties/{k}', errs)
    if isinstance(node.get('additionalProperties'), dict):
        check(node['additionalProperties'], f'{path}/additionalProperties', errs)
    if 'items' in node:
        check(node['items'], f'{path}/items', errs)
    for j in ('anyOf', 'oneOf', 'allOf'):
        for i, b in enumerate(node.get(j, [])):
            check(b, f'{path}/{j}/{i}', errs, in_junctor=True)
            for r in b.get('required', []):
                if r not in node.get('properties', {}):
                    err(errs, path, f'{j} requires unknown {r!r}')
    if 'not' in node:
        check(node['not'], f'{path}/not', errs, in_junctor=True)

def to_jsonschema(node, root=True):
    """Our validator's semantics: objects with properties are closed unless preserve-unknown."""
    if root:
        out = to_jsonschema(node, False)
        out['properties']['metadata'] = {'type': 'object'}
        return out
    out = {}
    pres = node.get('x-kubernetes-preserve-unknown-fields')
    if node.get('x-kubernetes-int-or-string'):
        out['anyOf'] = [{'type': 'integer'}, {'type': 'string'}]
    elif 'type' in node:
        out['type'] = [node['type'], 'null'] if node.get('nullable') else node['type']
    for k in ('enum', 'format', 'pattern', 'minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'required'):
        if k in node:
            out[k] = node[k]
    if 'pattern' in out and node.get('x-kubernetes-int-or-string'):
        out['anyOf'] = [{'type': 'integer'}, {'type': 'string', 'pattern': out.pop('pattern')}]
    if 'properties' in node:
        out['properties'] = {k: to_jsonschema(v, False) for k, v in node['properties'].items()}
        if not pres:
            out['additionalProperties'] = False
    elif 'additionalProperties' in node:
        out['additionalProperties'] = to_jsonschema(node['additionalProperties'], False)
    elif node.get('type') == 'object' and not pres:
        out['additionalProperties'] = False
    if 'items' in node:
        out['items'] = to_jsonschema(node['items'], False)
    for j in ('oneOf', 'anyOf', 'allOf'):
        if j in node and not node.get('x-kubernetes-int-or-string'):
            out[j] = [to_jsonschema_junctor(b) for b in node[j]]
    if 'not' in node:
        out['not'] = to_jsonschema_junctor(node['not'])
    return out

def to_jsonschema_junctor(b):
    return {k: v for k, v in b.items()}

def load_all(root):
    docs = {}
    for path in sorted(glob.glob(os.path.join(root, '*', '*.yaml'))):
        with open(path) as f:
            d = yaml.safe_load(f)
        docs[path] = d
    return docs

if __name__ == '__main__':
    root = sys.argv[1]
    bad = 0
    for path, d in load_all(root).items():
        errs = []
        for k in ('group', 'version', 'kind', 'scope', 'schema'):
            if k not in d:
                errs.append(f'missing {k}')
        if set(d) - {'group', 'version', 'kind', 'scope', 'schema'}:
            errs.append(f'extra top-level keys {set(d)}')
        if d.get('scope') not in ('Namespaced', 'Cluster'):
            errs.append('bad scope')
        base = os.path.basename(path)
        if base != f"{d['kind'].lower()}_{d['version']}.yaml" or os.path.basename(os.path.dirname(path)) != d['group']:
            errs.append('file name does not match group/kind/version')
        check(d['schema'], '', errs)
        if d['schema']['properties'].get('metadata') != {'type': 'object'}:
            errs.append('root metadata must be {type: object}')
        print(('OK  ' if not errs else 'BAD ') + path)
        for e in errs[:20]:
            print('    ' + e)
        bad += bool(errs)
    sys.exit(1 if bad else 0)
