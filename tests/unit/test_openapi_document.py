"""Consistency checks on the OpenAPI document in api_specs/openapi.yaml."""

import uuid
from pathlib import Path

import pytest
import yaml

SPEC_PATH = Path(__file__).resolve().parents[2] / 'api_specs' / 'openapi.yaml'

JOB_STATES = {
    'Waiting',
    'Running',
    'Success',
    'Cancelled',
    'SystemError',
    'TemporaryFailure',
    'PermanentFailure',
}

JOB_REQUIRED = {'id', 'name', 'workflow', 'input', 'state', 'output', 'log'}

# (path, method) -> (operationId, response codes)
OPERATIONS = {
    ('/jobs', 'get'): ('get_jobs', {'200'}),
    ('/jobs', 'post'): ('post_job', {'201', '400'}),
    ('/jobs/{jobId}', 'get'): ('get_job_by_id', {'200', '404'}),
    ('/jobs/{jobId}', 'delete'): ('delete_job_by_id', {'204', '404'}),
    ('/jobs/{jobId}/cancel', 'post'): ('cancel_job_by_id', {'200', '404'}),
    ('/jobs/{jobId}/log', 'get'): ('get_job_log_by_id', {'200', '404'}),
    ('/openapi.json', 'get'): (None, {'200'}),
    ('/swagger.json', 'get'): (None, {'200'}),
}

HTTP_METHODS = {'get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'}

JSON_TYPES = {
    'object': dict,
    'array': list,
    'string': str,
    'boolean': bool,
}


@pytest.fixture(scope='module')
def spec():
    with SPEC_PATH.open() as f:
        return yaml.safe_load(f)


def _walk(node, path=()):
    """Yield (path, node) for every dict and list in a tree."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, path + (i,))


def _resolve_pointer(spec, ref):
    assert ref.startswith('#/'), f'external $ref: {ref}'
    node = spec
    for part in ref[2:].split('/'):
        part = part.replace('~1', '/').replace('~0', '~')
        if isinstance(node, list):
            node = node[int(part)]
        else:
            assert isinstance(node, dict) and part in node, f'unresolvable $ref: {ref}'
            node = node[part]
    return node


def _deref(spec, node):
    seen = set()
    while isinstance(node, dict) and '$ref' in node:
        assert node['$ref'] not in seen, 'cyclic $ref {}'.format(node['$ref'])
        seen.add(node['$ref'])
        node = _resolve_pointer(spec, node['$ref'])
    return node


def _validate(spec, schema, value, where='$'):
    """A tiny JSON-schema subset checker: returns a list of problems."""
    schema = _deref(spec, schema)
    problems = []
    if value is None:
        if not schema.get('nullable', False):
            problems.append(f'{where}: null not allowed')
        return problems
    if 'enum' in schema and value not in schema['enum']:
        problems.append('{}: {!r} not in enum {}'.format(where, value, schema['enum']))
    typ = schema.get('type')
    if typ == 'integer':
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ == 'number':
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif typ is None:
        ok = True
    else:
        ok = isinstance(value, JSON_TYPES[typ])
    if not ok:
        problems.append(f'{where}: expected {typ}, got {value!r}')
        return problems
    if isinstance(value, dict):
        for name in schema.get('required', []):
            if name not in value:
                problems.append(f'{where}: missing required {name!r}')
        props = schema.get('properties', {})
        for name, sub_value in value.items():
            if name in props:
                problems.extend(_validate(spec, props[name], sub_value, f'{where}.{name}'))
            elif schema.get('additionalProperties') is False:
                problems.append(f'{where}: unexpected property {name!r}')
    if isinstance(value, list) and 'items' in schema:
        for i, item in enumerate(value):
            problems.extend(_validate(spec, schema['items'], item, f'{where}[{i}]'))
    return problems


def _operations(spec):
    for path, item in spec['paths'].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def _media_examples(spec):
    """Yield (where, schema, example value) for every media-type example."""
    for path, method, op in _operations(spec):
        contents = []
        if 'requestBody' in op:
            body = _deref(spec, op['requestBody'])
            contents.append((f'{method} {path} request', body.get('content', {})))
        for code, response in op.get('responses', {}).items():
            response = _deref(spec, response)
            contents.append((f'{method} {path} {code}', response.get('content', {})))
        for where, content in contents:
            for media_type, media in content.items():
                schema = media.get('schema')
                if schema is None:
                    continue
                if 'example' in media:
                    yield (f'{where} {media_type}', schema, media['example'])
                for name, example in media.get('examples', {}).items():
                    example = _deref(spec, example)
                    yield (f'{where} {media_type} {name}', schema, example['value'])


def _job_response_examples(spec):
    """Yield (where, job) for every job found in a response example."""
    job_ref = '#/components/schemas/job'
    for path, method, op in _operations(spec):
        for code, response in op.get('responses', {}).items():
            response = _deref(spec, response)
            media = response.get('content', {}).get('application/json', {})
            schema = media.get('schema', {})
            values = []
            if 'example' in media:
                values.append(('example', media['example']))
            for name, example in media.get('examples', {}).items():
                values.append((name, _deref(spec, example)['value']))
            for name, value in values:
                where = f'{method} {path} {code} {name}'
                if schema.get('$ref') == job_ref:
                    yield where, value
                elif (
                    schema.get('type') == 'array' and schema.get('items', {}).get('$ref') == job_ref
                ):
                    assert isinstance(value, list), where
                    for i, job in enumerate(value):
                        yield f'{where}[{i}]', job


def test_is_openapi_3_0(spec):
    assert isinstance(spec, dict)
    assert str(spec['openapi']).startswith('3.0.')
    assert spec['info']['title'] == 'cerise-actors'
    assert spec['info']['version'] == '1.0.0'
    assert spec['info'].get('description')
    assert 'swagger' not in spec


def test_info_describes_state_mapping(spec):
    description = spec['info']['description']
    internal_states = [
        'Submitted',
        'StagingIn',
        'Waiting',
        'StagingCR',
        'WaitingCR',
        'Running',
        'RunningCR',
        'Finished',
        'Destaging',
        'DestagingCR',
        'Success',
        'Cancelled',
        'PermanentFailure',
        'TemporaryFailure',
        'SystemError',
    ]
    for state in internal_states:
        assert state in description, state


def test_tags_declared(spec):
    declared = {tag['name'] for tag in spec.get('tags', [])}
    assert declared
    for path, method, op in _operations(spec):
        for tag in op.get('tags', []):
            assert tag in declared, f'{method} {path} uses undeclared tag {tag}'


@pytest.mark.parametrize('path, method', sorted(OPERATIONS))
def test_operation_exists(spec, path, method):
    operation_id, codes = OPERATIONS[(path, method)]
    assert path in spec['paths']
    assert method in spec['paths'][path]
    op = spec['paths'][path][method]
    if operation_id is not None:
        assert op.get('operationId') == operation_id
    responses = {str(code) for code in op['responses']}
    assert codes <= responses, f'missing {codes - responses}'


def test_operation_ids_unique(spec):
    ids = [op['operationId'] for _, _, op in _operations(spec) if 'operationId' in op]
    assert len(ids) == len(set(ids))


def test_path_parameters_declared(spec):
    for path, item in spec['paths'].items():
        if '{jobId}' not in path:
            continue
        params = [_deref(spec, p) for p in item.get('parameters', [])]
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            all_params = params + [_deref(spec, p) for p in op.get('parameters', [])]
            assert any(
                p['name'] == 'jobId' and p['in'] == 'path' and p.get('required') for p in all_params
            ), f'{method} {path}'


def test_all_refs_resolve(spec):
    refs = [
        node['$ref']
        for _, node in _walk(spec)
        if isinstance(node, dict) and isinstance(node.get('$ref'), str)
    ]
    assert refs
    for ref in refs:
        _resolve_pointer(spec, ref)


def test_job_schema(spec):
    job = spec['components']['schemas']['job']
    assert set(job['required']) == JOB_REQUIRED
    assert JOB_REQUIRED <= set(job['properties'])
    state = _deref(spec, job['properties']['state'])
    assert set(state['enum']) == JOB_STATES
    assert len(state['enum']) == len(JOB_STATES)


def test_job_description_schema(spec):
    desc = spec['components']['schemas']['job-description']
    assert desc['required'] == ['workflow']
    assert set(desc['properties']) == {'name', 'workflow', 'input'}
    assert desc['properties']['name']['type'] == 'string'
    assert desc['properties']['workflow']['type'] == 'string'
    assert desc['properties']['workflow']['format'] == 'uri'
    assert _deref(spec, desc['properties']['input'])['type'] == 'object'


def test_error_schema(spec):
    error = spec['components']['schemas']['error']
    assert error['properties']['title']['type'] == 'string'
    assert error['properties']['description']['type'] == 'string'


def test_error_responses_use_error_schema(spec):
    error_ref = '#/components/schemas/error'
    for path, method, op in _operations(spec):
        for code, response in op['responses'].items():
            if str(code)[0] not in '45':
                continue
            response = _deref(spec, response)
            for media_type, media in response.get('content', {}).items():
                assert media_type == 'application/json'
                assert media['schema'].get('$ref') == error_ref, f'{method} {path} {code}'


def test_location_headers(spec):
    for path, method, code in [('/jobs', 'post', '201'), ('/jobs/{jobId}/cancel', 'post', '200')]:
        response = _deref(spec, spec['paths'][path][method]['responses'][code])
        assert 'Location' in response['headers']


def test_log_is_plain_text(spec):
    response = spec['paths']['/jobs/{jobId}/log']['get']['responses']['200']
    assert 'text/plain' in response['content']


def test_job_examples_exist(spec):
    examples = list(_job_response_examples(spec))
    assert len(examples) >= 4
    states = {job.get('state') for _, job in examples}
    assert 'Waiting' in states


def test_job_response_examples_validate(spec):
    for where, job in _job_response_examples(spec):
        assert isinstance(job, dict), where
        missing = JOB_REQUIRED - set(job)
        assert not missing, f'{where}: missing {missing}'
        assert job['state'] in JOB_STATES, where
        uuid.UUID(job['id'])
        assert job['log'].endswith('/jobs/{}/log'.format(job['id'])), where
        problems = _validate(spec, {'$ref': '#/components/schemas/job'}, job)
        assert not problems, f'{where}: {problems}'


def test_job_output_locations(spec):
    for where, job in _job_response_examples(spec):
        for _, node in _walk(job['output']):
            if isinstance(node, dict) and node.get('class') in ('File', 'Directory'):
                assert '/output/{}/'.format(job['id']) in node['location'], where


def test_submitted_job_is_waiting(spec):
    response = spec['paths']['/jobs']['post']['responses']['201']
    media = response['content']['application/json']
    for example in media['examples'].values():
        assert example['value']['state'] == 'Waiting'


def test_all_media_examples_validate(spec):
    examples = list(_media_examples(spec))
    assert examples
    for where, schema, value in examples:
        problems = _validate(spec, schema, value)
        assert not problems, f'{where}: {problems}'


def test_checker_detects_problems(spec):
    job_ref = {'$ref': '#/components/schemas/job'}
    job = {
        'id': 'afcd1554-9604-11e6-bd3f-080027e8b32a',
        'name': 'x',
        'workflow': 'http://example.com/wc.cwl',
        'input': {},
        'state': 'Waiting',
        'output': {},
        'log': 'http://example.com/jobs/x/log',
    }
    assert _validate(spec, job_ref, job) == []
    assert _validate(spec, job_ref, dict(job, state='Finished'))
    assert _validate(spec, job_ref, dict(job, input=[]))
    incomplete = dict(job)
    del incomplete['log']
    assert _validate(spec, job_ref, incomplete)
