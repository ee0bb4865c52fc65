"""A small validator of response bodies against the GA4GH WES 1.1 OpenAPI document.

Written here rather than taken from a library: the service's dependencies
have no JSON Schema validator, and the document uses only a few keywords
(type, properties, required, items, additionalProperties, allOf, anyOf,
enum, nullable, $ref), which are all this checks. `ServiceInfo` extends the
GA4GH service-info `Service` schema by a URL the tests do not fetch; SERVICE
below is that schema's (v1.0.0) required part, copied by hand.
"""

from pathlib import Path

import yaml

from .helpers import REPO_DIR

SPEC_PATH = REPO_DIR / 'api_specs' / 'ga4gh-wes-1.1' / 'workflow_execution_service.openapi.yaml'
SPEC = yaml.safe_load(Path(SPEC_PATH).read_text())
SERVICE_INFO_REF = (
    'https://raw.githubusercontent.com/ga4gh-discovery/ga4gh-service-info/v1.0.0/'
    'service-info.yaml#/components/schemas/Service'
)
_STRING = {'type': 'string'}
SERVICE = {
    'type': 'object',
    'required': ['id', 'name', 'type', 'organization', 'version'],
    'properties': {
        'id': _STRING,
        'name': _STRING,
        'type': {
            'type': 'object',
            'required': ['group', 'artifact', 'version'],
            'properties': {'group': _STRING, 'artifact': _STRING, 'version': _STRING},
        },
        'description': _STRING,
        'organization': {
            'type': 'object',
            'required': ['name', 'url'],
            'properties': {'name': _STRING, 'url': _STRING},
        },
        'contactUrl': _STRING,
        'documentationUrl': _STRING,
        'createdAt': _STRING,
        'updatedAt': _STRING,
        'environment': _STRING,
        'version': _STRING,
    },
}
_TYPES = {
    'object': dict,
    'array': list,
    'string': str,
    'boolean': bool,
    'integer': int,
    'number': (int, float),
}


def _resolve(schema):
    while '$ref' in schema:
        ref = schema['$ref']
        if ref == SERVICE_INFO_REF:
            return SERVICE
        assert ref.startswith('#/'), ref
        node = SPEC
        for key in ref[2:].split('/'):
            node = node[key]
        schema = node
    return schema


def errors(value, schema, where='$'):
    """Where `value` breaks `schema`, as a list of messages (empty: valid)."""
    schema = _resolve(schema)
    found = []
    if value is None and schema.get('nullable'):
        return found
    for part in schema.get('allOf', ()):
        found += errors(value, part, where)
    if 'anyOf' in schema and all(errors(value, part, where) for part in schema['anyOf']):
        found.append(f'{where}: matches none of anyOf')
    kind = schema.get('type')
    if kind:
        ok = isinstance(value, _TYPES[kind]) and not (
            kind in ('integer', 'number') and isinstance(value, bool)
        )
        if not ok:
            return found + [f'{where}: {value!r:.80} is not of type {kind}']
    if 'enum' in schema and value not in schema['enum']:
        found.append(f'{where}: {value!r} is not one of {schema["enum"]}')
    if isinstance(value, dict):
        for key in schema.get('required', ()):
            if key not in value:
                found.append(f'{where}: {key!r} is required')
        properties = schema.get('properties', {})
        extra = schema.get('additionalProperties', True)
        for key, item in value.items():
            if key in properties:
                found += errors(item, properties[key], f'{where}.{key}')
            elif extra is False:
                found.append(f'{where}: {key!r} is not allowed')
            elif isinstance(extra, dict):
                found += errors(item, extra, f'{where}.{key}')
    if isinstance(value, list) and 'items' in schema:
        for index, item in enumerate(value):
            found += errors(item, schema['items'], f'{where}[{index}]')
    return found


def response_schema(path, method, status):
    """The schema of a response the spec lists; ErrorResponse for an error it does not."""
    responses = SPEC['paths'][path][method.lower()]['responses']
    listed = responses.get(status, responses.get(str(status)))
    if listed is None:
        assert status >= 400, f'{method} {path} has no {status} response in the spec'
        return {'$ref': '#/components/schemas/ErrorResponse'}
    return listed['content']['application/json']['schema']


def assert_valid(body, path, method, status):
    """`body` is what the spec says `method path` answers with `status`."""
    problems = errors(body, response_schema(path, method, status))
    assert not problems, f'{method} {path} {status}: ' + '; '.join(problems[:10])
    if status >= 400:
        assert set(body) >= {'msg', 'status_code'} and body['status_code'] == status, body
