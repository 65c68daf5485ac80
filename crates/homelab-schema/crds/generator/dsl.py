"""Tiny DSL for writing structural CRD schemas, and a YAML emitter that keeps comments."""
import copy, json, re

def S(**kw):
    return dict(type='string', **kw)

def E(*values):
    return dict(type='string', enum=list(values))

def I(fmt=None, **kw):
    d = dict(type='integer')
    if fmt:
        d['format'] = fmt
    d.update(kw)
    return d

def N():
    return dict(type='number')

def B():
    return dict(type='boolean')

def A(items, **kw):
    return dict(type='array', items=copy.deepcopy(items), **kw)

def O(props, required=None, comment=None, **kw):
    d = {}
    if comment:
        d['#'] = comment
    d['type'] = 'object'
    if required:
        d['required'] = list(required)
    d['properties'] = copy.deepcopy(props)
    d.update(kw)
    return d

def M(values):
    return dict(type='object', additionalProperties=copy.deepcopy(values))

def MS():
    return M(S())

def IOS():
    return {'anyOf': [{'type': 'integer'}, {'type': 'string'}], 'x-kubernetes-int-or-string': True}

def ANY(comment):
    """Any JSON value (object, list, scalar) kept as is: upstream uses apiextensions JSON here."""
    return {'#': comment, 'x-kubernetes-preserve-unknown-fields': True}

def OPEN(comment, props=None):
    d = {'#': comment, 'type': 'object'}
    if props:
        d['properties'] = copy.deepcopy(props)
    d['x-kubernetes-preserve-unknown-fields'] = True
    return d

def root(spec, status=None, required=None):
    props = {
        'apiVersion': S(),
        'kind': S(),
        'metadata': {'type': 'object'},
        'spec': spec,
    }
    if status is not None:
        props['status'] = status
    return O(props, required=required)

PLAIN = re.compile(r'^[A-Za-z_/$][A-Za-z0-9_./$-]*$')
AMBIGUOUS = {'y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null', '~'}

def scalar(v):
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    if v is None:
        return 'null'
    if isinstance(v, (int, float)):
        return repr(v)
    if PLAIN.match(v) and v.lower() not in AMBIGUOUS:
        return v
    return json.dumps(v)

def emit(node, indent=0, out=None):
    out = [] if out is None else out
    pad = ' ' * indent
    if isinstance(node, dict):
        if not node:
            out.append(pad + '{}')
            return out
        for k, v in node.items():
            if k == '#':
                for line in v.split('\n'):
                    out.append(pad + '# ' + line)
                continue
            key = scalar(k)
            if isinstance(v, dict) and v.get('##flow'):
                if '#' in v:
                    for line in v['#'].split('\n'):
                        out.append(pad + '# ' + line)
                body = {kk: vv for kk, vv in v.items() if kk not in ('#', '##flow')}
                out.append(f'{pad}{key}: ' + json.dumps(body, separators=(',', ':')))
            elif isinstance(v, dict) and [x for x in v if x != '#']:
                out.append(f'{pad}{key}:')
                emit(v, indent + 2, out)
            elif isinstance(v, list) and v:
                if all(not isinstance(x, (dict, list)) for x in v):
                    out.append(f'{pad}{key}: [' + ', '.join(scalar(x) for x in v) + ']')
                else:
                    out.append(f'{pad}{key}:')
                    emit(v, indent + 2, out)
            elif isinstance(v, dict):
                if '#' in v:
                    out.append(f'{pad}# {v["#"]}')
                out.append(f'{pad}{key}: {{}}')
            elif isinstance(v, list):
                out.append(f'{pad}{key}: []')
            else:
                out.append(f'{pad}{key}: {scalar(v)}')
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and item:
                sub = emit(item, indent + 2, [])
                first = sub[0]
                out.append(pad + '- ' + first[indent + 2:])
                out.extend(sub[1:])
            else:
                out.append(pad + '- ' + scalar(item))
    return out

def strip_comments(node):
    if isinstance(node, dict):
        return {k: strip_comments(v) for k, v in node.items() if k not in ('#', '##flow')}
    if isinstance(node, list):
        return [strip_comments(x) for x in node]
    return node
