"""GA4GH WES 1.1 with plain HTTP, following the spec, against a real service.

Every answer is validated against the 1.1 schema (tests/wes_schema.py). The
same jobs are seen, cancelled and deleted through /jobs.
"""

import json
import urllib.parse
import uuid

import pytest

from .. import workflows as wf
from ..helpers import http, wait_for
from ..wes_schema import assert_valid

WES = '/ga4gh/wes/v1'
WES_FINAL = {'COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED'}


def multipart(fields=(), files=()):
    """(body, headers) of a multipart/form-data request; `files` are (name, bytes)."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b'\r\n'
        )
    for filename, content in files:
        quoted = filename.replace('"', '%22')
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="workflow_attachment"; '
            f'filename="{quoted}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b'\r\n'
        )
    body = b''.join(chunks) + f'--{boundary}--\r\n'.encode()
    return body, {'Content-Type': f'multipart/form-data; boundary={boundary}'}


def call(service, method, path, spec_path, body=None, headers=None):
    """One WES request, its answer validated against the spec; (status, body)."""
    status, answer, _ = http(method, service.base_url + WES + path, raw=body, headers=headers)
    assert_valid(answer, spec_path, method, status)
    return status, answer


def post_run(service, files=(), **fields):
    fields.setdefault('workflow_type', 'CWL')
    fields.setdefault('workflow_type_version', 'v1.0')
    body, headers = multipart(
        [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()], files
    )
    return call(service, 'POST', '/runs', '/runs', body, headers)


def wait_wes(service, run_id, states=WES_FINAL):
    def reached():
        status, answer = call(service, 'GET', f'/runs/{run_id}/status', '/runs/{run_id}/status')
        return status == 200 and answer['state'] in states and answer

    return wait_for(reached, 120, message=f'run {run_id} to reach {states}')['state']


WC_FILES = [('wf/wc.cwl', wf.WC.encode()), ('data/hello.txt', b'one two\nthree\n')]


def test_service_info(service):
    status, info = call(service, 'GET', '/service-info', '/service-info')
    assert status == 200
    assert info['supported_wes_versions'] == ['1.1.0']
    assert info['workflow_type_versions']['CWL']['workflow_type_version'] == [
        'v1.0',
        'v1.1',
        'v1.2',
    ]
    assert 'test/wc.cwl' in json.loads(info['tags']['steps'])
    assert 'test' in json.loads(info['tags']['projects'])
    assert info['system_state_counts']['QUEUED'] == 0
    assert list(info['workflow_engine_versions']) == ['cerise-runner']


def test_a_run_with_attachments_completes_and_is_a_job(service):
    params = {'file': {'class': 'File', 'location': 'data/hello.txt'}}
    status, answer = post_run(
        service,
        WC_FILES,
        workflow_url='wf/wc.cwl',
        workflow_params=params,
        tags={'name': 'wc-run', 'project': 'x'},
        workflow_engine_parameters={'--parallel': 'true'},
    )
    assert status == 200, answer
    run_id = answer['run_id']
    assert wait_wes(service, run_id) == 'COMPLETE'
    folder = service.client.exchange / 'input' / 'wes' / run_id
    assert (folder / 'wf' / 'wc.cwl').is_file() and (folder / 'data' / 'hello.txt').is_file()

    status, log = call(service, 'GET', f'/runs/{run_id}', '/runs/{run_id}')
    assert status == 200 and log['state'] == 'COMPLETE'
    assert log['request']['workflow_url'] == 'wf/wc.cwl'
    assert log['request']['workflow_params'] == params
    assert log['request']['tags'] == {'name': 'wc-run', 'project': 'x'}
    assert log['run_log']['exit_code'] == 0
    assert log['run_log']['start_time'] <= log['run_log']['end_time']
    assert log['outputs']['output']['class'] == 'File'
    assert log['task_logs_url'].endswith(f'{WES}/runs/{run_id}/tasks')
    status, text, _ = http('GET', log['run_log']['stderr'])
    assert status == 200 and 'workflow_engine_parameters were given and are ignored' in text

    job = service.client.job(run_id)  # the same job through /jobs
    assert job['state'] == 'Success' and job['name'] == 'wc-run'
    assert service.client.output_text(job, 'output').split()[:3] == ['2', '3', '14']

    status, tasks = call(service, 'GET', f'/runs/{run_id}/tasks', '/runs/{run_id}/tasks')
    assert status == 200 and tasks['next_page_token'] == ''
    (task,) = tasks['task_logs']  # one per workflow step
    assert (task['id'], task['name'], task['exit_code']) == ('s', 's', 0)
    assert task['start_time'] <= task['end_time']
    assert task['stderr'].endswith(f'/output/{run_id}/cerise-runner.log')
    assert '[step s] completed success' in http('GET', task['stderr'])[1]
    status, one = call(service, 'GET', f'/runs/{run_id}/tasks/s', '/runs/{run_id}/tasks/{task_id}')
    assert (status, one) == (200, task)
    status, error = call(
        service, 'GET', f'/runs/{run_id}/tasks/nope', '/runs/{run_id}/tasks/{task_id}'
    )
    assert status == 404 and "tasks are the workflow's steps" in error['msg']
    status, listing = call(service, 'GET', '/runs', '/runs')
    assert listing['runs'] == [
        {
            'run_id': run_id,
            'state': 'COMPLETE',
            'start_time': log['run_log']['start_time'],
            'end_time': log['run_log']['end_time'],
            'tags': {'name': 'wc-run', 'project': 'x'},
        }
    ]
    status, info = call(service, 'GET', '/service-info', '/service-info')
    assert info['system_state_counts']['COMPLETE'] == 1


def test_a_workflow_in_the_exchange_area_without_attachments(service):
    url = service.client.put_input('wes-plain', 'echo.cwl', wf.ECHO)
    form = urllib.parse.urlencode(
        {
            'workflow_url': url,
            'workflow_type': 'CWL',
            'workflow_type_version': 'v1.0',
            'workflow_params': json.dumps({'text': 'hi'}),
        }
    ).encode()
    headers = {'Content-Type': 'application/x-www-form-urlencoded'}
    status, answer = call(service, 'POST', '/runs', '/runs', form, headers)
    assert status == 200, answer
    assert wait_wes(service, answer['run_id']) == 'COMPLETE'


def test_jobs_and_runs_are_one_store(service):
    job = service.client.submit(wf.SLEEP, {'seconds': 60}, name='from-jobs')
    status, log = call(service, 'GET', f'/runs/{job["id"]}', '/runs/{run_id}')
    assert status == 200 and log['request']['workflow_url'] == job['workflow']
    assert log['request']['tags'] == {'name': 'from-jobs'}
    service.client.wait_state(job['id'], 'Running')
    status, answer = call(service, 'POST', f'/runs/{job["id"]}/cancel', '/runs/{run_id}/cancel')
    assert (status, answer) == (200, {'run_id': job['id']})
    assert service.client.wait_final(job['id'])['state'] == 'Cancelled'
    assert wait_wes(service, job['id']) == 'CANCELED'

    status, answer = post_run(
        service,
        [('sleep.cwl', wf.SLEEP.encode())],
        workflow_url='sleep.cwl',
        workflow_params={'seconds': 60},
    )
    run_id = answer['run_id']
    wait_wes(service, run_id, {'RUNNING'})
    service.client.cancel(run_id)  # through /jobs
    assert wait_wes(service, run_id) == 'CANCELED'
    assert service.client.delete(run_id)[0] == 204
    status, error = call(service, 'GET', f'/runs/{run_id}', '/runs/{run_id}')
    assert status == 404 and run_id in error['msg']
    status, listing = call(service, 'GET', '/runs', '/runs')
    assert [run['run_id'] for run in listing['runs']] == [job['id']]


def test_the_installed_steps_rule_holds_for_runs(service):
    status, answer = post_run(
        service, [('evil.cwl', wf.INLINE_TOOL.encode())], workflow_url='evil.cwl'
    )
    assert status == 200
    assert wait_wes(service, answer['run_id']) == 'EXECUTOR_ERROR'
    assert 'installed' in service.client.log(answer['run_id'])


@pytest.mark.parametrize(
    'files, fields, words',
    [
        ([('../x.cwl', b'x')], {'workflow_url': 'x.cwl'}, 'leaves its folder'),
        ([('/etc/x.cwl', b'x')], {'workflow_url': 'x.cwl'}, 'absolute'),
        ([('a\\b.cwl', b'x')], {'workflow_url': 'x.cwl'}, 'backslash'),
        ([('', b'x')], {'workflow_url': 'x.cwl'}, 'no file name'),
        ([('a.cwl', b'x'), ('./a.cwl', b'y')], {'workflow_url': 'a.cwl'}, 'given twice'),
        ([('a', b'x'), ('a/b.cwl', b'y')], {'workflow_url': 'a'}, 'also a file'),
        ([('a.cwl', b'x')], {'workflow_url': 'b.cwl'}, 'names no attached file'),
        ([('a.cwl', b'x')], {'workflow_url': '../a.cwl'}, 'leaves its folder'),
        ([('a.cwl', b'x')], {'workflow_url': 'a.cwl#main'}, '#fragment'),
        ([], {'workflow_url': 'http://x/a.cwl#main'}, '#fragment'),
        ([], {'workflow_url': 'file:///etc/passwd'}, 'outside the file exchange area'),
        ([], {'workflow_url': 'ftp://x/y.cwl'}, 'ftp: URLs are not read'),
        ([], {}, 'workflow_url is required'),
        ([], {'workflow_url': 'http://x/a.cwl', 'workflow_type': 'WDL'}, 'must be CWL'),
        ([], {'workflow_url': 'http://x/a.cwl', 'workflow_type_version': 'v2'}, 'v1.0'),
        ([], {'workflow_url': 'http://x/a.cwl', 'workflow_params': '{'}, 'not valid JSON'),
        ([], {'workflow_url': 'http://x/a.cwl', 'workflow_params': '[1]'}, 'JSON object'),
        ([], {'workflow_url': 'http://x/a.cwl', 'workflow_params': 'NaN'}, 'NaN'),
        ([], {'workflow_url': 'http://x/a.cwl', 'tags': {'a': 1}}, 'strings'),
        (
            [],
            {
                'workflow_url': 'http://x/a.cwl',
                'workflow_params': {'f': {'class': 'File', 'location': '../../etc/passwd'}},
            },
            'leaves its folder',
        ),
    ],
)
def test_bad_run_requests_are_400_and_store_nothing(service, files, fields, words):
    status, error = post_run(service, files, **fields)
    assert status == 400 and words in error['msg'], error
    assert not list((service.client.exchange / 'input' / 'wes').glob('*'))
    assert http('GET', f'{service.base_url}/jobs')[1] == []


def test_bad_bodies_and_unknown_runs(service):
    base = service.base_url + WES
    for body, kind, words in (
        (b'{}', 'text/plain', 'multipart/form-data'),
        (b'garbage', 'multipart/form-data; boundary=xyz', ''),
        (b'', 'multipart/form-data', ''),
        (b'\xff', 'application/x-www-form-urlencoded', 'UTF-8'),
        (b'[1]', 'application/json', 'RunRequest'),
    ):
        status, error, _ = http('POST', f'{base}/runs', raw=body, headers={'Content-Type': kind})
        assert status == 400, (body, error)
        assert_valid(error, '/runs', 'POST', 400)
        assert words in error['msg']
    for path, spec_path in (
        ('/runs/nope', '/runs/{run_id}'),
        ('/runs/nope/status', '/runs/{run_id}/status'),
        ('/runs/nope/tasks', '/runs/{run_id}/tasks'),
        ('/runs/nope/tasks/t', '/runs/{run_id}/tasks/{task_id}'),
    ):
        status, error = call(service, 'GET', path, spec_path)
        assert status == 404 and 'nope' in error['msg']
    status, error = call(service, 'POST', '/runs/nope/cancel', '/runs/{run_id}/cancel')
    assert status == 404
    for query in ('page_size=0', 'page_size=x', 'page_token=%21%21'):
        status, error = call(service, 'GET', f'/runs?{query}', '/runs')
        assert status == 400, query
    status, error, _ = http('GET', f'{base}/nothing')
    assert status == 404 and error['status_code'] == 404 and error['msg']
    status, error, _ = http('DELETE', f'{base}/runs')
    assert status == 405 and error['status_code'] == 405


def test_the_wes_openapi_document_is_served(service):
    for path in (f'{WES}/openapi.json', '/openapi-wes.json'):
        status, doc, _ = http('GET', service.base_url + path)
        assert status == 200 and doc['info']['version'] == '1.1.0'
    status, doc, _ = http('GET', service.base_url + '/openapi.json')
    assert status == 200 and '/jobs' in doc['paths']


def test_run_pages_hold_every_run_once_while_runs_are_added(service):
    def add():
        body, headers = multipart(
            [('workflow_url', 'x'), ('workflow_type', 'CWL'), ('workflow_type_version', 'v1.0')],
            [('x', b'not a workflow')],
        )
        status, answer, _ = http(
            'POST', service.base_url + WES + '/runs', raw=body, headers=headers
        )
        assert status == 200, answer
        return answer['run_id']

    before = [add() for _ in range(7)]
    added, seen, token = [], [], None
    while True:
        query = '?page_size=2' + (f'&page_token={token}' if token else '')
        status, page = call(service, 'GET', f'/runs{query}', '/runs')
        assert status == 200 and len(page['runs']) <= 2
        seen += [run['run_id'] for run in page['runs']]
        token = page['next_page_token']
        if not token:
            break
        if len(added) < 5:
            added.append(add())
    assert len(seen) == len(set(seen)), 'a run was listed twice'
    assert seen[: len(before)] == before and set(seen) == set(before + added)
