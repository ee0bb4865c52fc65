"""A service shows what it offers: GET / links to everything, GET /steps
lists the installed steps, and `cerise-actors steps` prints them."""

import json
import os
import subprocess
import sys

from cerise_actors.client import Service

from ..helpers import http


def test_the_root_links_to_jobs_files_steps_and_the_api_description(service):
    status, index, headers = http('GET', f'{service.base_url}/')
    assert status == 200 and 'json' in headers['Content-Type']
    links = index['links']
    for name, path in (
        ('jobs', '/jobs'),
        ('files', '/files/'),
        ('steps', '/steps'),
        ('openapi', '/openapi.json'),
    ):
        assert links[name] == f'{service.base_url}{path}'
        assert http('GET', links[name])[0] in (200, 207), name


def test_steps_lists_every_installed_step_with_its_inputs_and_outputs(service):
    status, steps, _ = http('GET', f'{service.base_url}/steps')
    assert status == 200
    by_name = {step['name']: step for step in steps}
    assert [step['name'] for step in steps] == sorted(by_name)
    echo = by_name['test/echo.cwl']
    assert echo['project'] == 'test' and echo['version']
    assert echo['class'] == 'CommandLineTool'
    assert echo['inputs'] == [{'name': 'text', 'type': 'string'}]
    assert echo['outputs'] == [{'name': 'output', 'type': 'File'}]
    # the steps an unknown-step error would list are the same
    workflow = 'cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n'
    workflow += '  s: {run: test/nope.cwl, in: [], out: []}\n'
    job = service.client.submit(workflow)
    service.client.wait_final(job['id'])
    log = service.client.log(job['id'])
    assert all(name in log for name in by_name if name.startswith('test/'))


def test_the_openapi_document_describes_the_root_and_steps(service):
    _, document, _ = http('GET', f'{service.base_url}/openapi.json')
    assert '/' in document['paths'] and '/steps' in document['paths']


def test_the_steps_command_and_the_client_show_the_steps(service):
    steps = Service(service.base_url).steps()
    assert 'test/echo.cwl' in {step['name'] for step in steps}
    result = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', 'steps', '--service', service.base_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    assert 'test/echo.cwl  (text: string) -> (output: File)' in result.stdout
    as_json = subprocess.run(
        [sys.executable, '-m', 'cerise_actors', 'steps', '--json', '--service', service.base_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(as_json.stdout) == steps
