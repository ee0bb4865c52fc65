"""Red team, held: a job of bob's naming alice's files by the ways CWL has besides a File input.

Alice's file and a JavaScript library of hers are in her folder only. Bob's
jobs name them as a secondary file of his own input, as the second file of a
File[] input, as a workflow default (absolute, and relative to his workflow
climbing into `users/alice`), and as a `$include`d expressionLib. None
succeeds with her content, and nothing of hers appears in his job, log or
outputs.
"""

import json
import urllib.parse

import pytest

from .. import workflows as wf

SECRET = 'alice-stage-in-secret'


@pytest.fixture(scope='module')
def pair(module_auth_service):
    service = module_auth_service(users=['alice', 'bob'])
    service.alice = service.client(service.tokens['alice'])
    service.bob = service.client(service.tokens['bob'])
    service.alice.put_input('onlyalice', 'hello.txt', f'{SECRET}\n')
    service.alice.put_input('onlyalice', 'hello.txt.2nd', f'{SECRET}\n')
    service.alice.put_input('onlyalice', 'lib.js', f"function shout(t) {{ return '{SECRET}'; }}\n")
    service.alice.put_input('onlyalice', 'types.yml', wf.IMPORTED_TYPES)
    service.area = service.exchange / 'users' / 'alice' / 'input' / 'onlyalice'
    return service


def attempts(pair):
    hello = pair.area / 'hello.txt'
    mine = pair.bob.put_input('steal', 'mine.txt', 'bob\n')
    pair.bob.put_input('steal', 'mine.txt.2nd', 'bob\n')
    up = '../../../alice/input/onlyalice'
    return {
        'secondary-file': (
            wf.SECONDARY,
            {
                'file': {
                    'class': 'File',
                    'location': mine,
                    'secondaryFiles': [{'class': 'File', 'location': hello.as_uri()}],
                }
            },
        ),
        'file-array': (
            wf.FILE_ARRAY,
            {'files': [{'class': 'File', 'location': mine}, {'class': 'File', 'path': str(hello)}]},
        ),
        'default-absolute': (wf.wc_of_default(hello.as_uri()), {}),
        'default-relative': (wf.wc_of_default(f'{up}/hello.txt'), {}),
        'default-relative-encoded': (
            wf.wc_of_default(urllib.parse.quote(f'{up}/hello.txt', safe='')),
            {},
        ),
        'include': (
            wf.importing(
                include=(pair.area / 'lib.js').as_uri(), types=(pair.area / 'types.yml').as_uri()
            ),
            {'colour': 'red'},
        ),
        'include-relative': (
            wf.importing(include=f'{up}/lib.js', types=f'{up}/types.yml'),
            {'colour': 'red'},
        ),
    }


def test_bobs_jobs_never_read_alices_files_by_other_cwl_means(pair):
    for kind, (workflow, inputs) in attempts(pair).items():
        status, job, _ = pair.bob.submit(workflow, inputs, f'steal-{kind}')
        if status != 201:
            assert 400 <= status < 500 and status != 401, (kind, status, job)
            continue
        done = pair.bob.wait_final(job['id'])
        log = pair.bob.call('GET', f'/jobs/{job["id"]}/log')[1]
        outputs = ''
        for output in done['output'].values():
            for item in output if isinstance(output, list) else [output]:
                if isinstance(item, dict) and 'location' in item:
                    outputs += str(pair.bob.call('GET', item['location'])[1])
        seen = json.dumps(done) + log + outputs
        assert SECRET not in seen, (kind, done['state'])
        assert done['state'] != 'Success', (kind, log)


def test_the_same_jobs_on_bobs_own_files_succeed(pair):
    """The control: what failed above failed for naming alice's files."""
    mine = pair.bob.put_input('own', 'mine.txt', 'bob-own\n')
    pair.bob.put_input('own', 'mine.txt.2nd', 'bob\n')
    for workflow, inputs in (
        (wf.FILE_ARRAY, {'files': [{'class': 'File', 'location': mine}] * 2}),
        (wf.SECONDARY, {'file': {'class': 'File', 'location': mine}}),
    ):
        status, job, _ = pair.bob.submit(workflow, inputs, 'own')
        assert status == 201, job
        assert pair.bob.wait_final(job['id'])['state'] == 'Success'
