"""Outputs too large to publish, as a user meets them through the REST API
(issue 18): a workflow that hands a Directory input of very many files
straight back as its output. The runner succeeds, but its output object
(which lists every file) is more than stage-out reads, or the Directory
holds more files than one job publishes. Either is the user's doing: the
job ends in PermanentFailure whose log says which limit was met, the service
log says the sizes, and nothing of the outputs is published.

The limits are lowered for the in-process service (they are module values
of staging/stage_out.py, read at each stage-out), so a few hundred files
stand for 200,000.
"""

import logging
import re

import pytest

from cerise_actors.defaults import MAX_OUTPUT_FILES, MAX_OUTPUT_JSON
from cerise_actors.staging import stage_out

PASS_THROUGH = (
    'cwlVersion: v1.0\n'
    'class: Workflow\n'
    'inputs: {folder: Directory, file: File}\n'
    'outputs:\n'
    '  output: {type: File, outputSource: s/output}\n'
    '  folder_out: {type: Directory, outputSource: folder}\n'
    'steps:\n'
    '  s:\n'
    '    run: test/wc.cwl\n'
    '    in: {file: file}\n'
    '    out: [output]\n'
)


def _folder(client, name, files):
    """A Directory input of `files` small files (in two sub-folders) and a File input."""
    for number in range(files):
        client.put_input(name, f'many/{number % 2}/file-{number:06d}.txt', f'{number}\n')
    return {
        'folder': {
            'class': 'Directory',
            'location': (client.exchange / 'input' / name / 'many').as_uri(),
        },
        'file': {'class': 'File', 'location': client.put_input(name, 'one.txt', 'a b\n')},
    }


def _published(service, job_id):
    folder = service.client.exchange / 'output' / job_id
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.rglob('*') if p.name != 'cerise-runner.log')


def test_the_limits_are_the_documented_ones():
    assert (MAX_OUTPUT_JSON, MAX_OUTPUT_FILES) == (16 * 1024 * 1024, 100_000)


def test_an_output_object_too_large_to_read_is_a_permanent_failure(service, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger='cerise_actors')
    monkeypatch.setattr(stage_out, 'MAX_OUTPUT_JSON', 32 * 1024)
    client = service.client
    job = client.submit(PASS_THROUGH, _folder(client, 'big', 300), name='big')
    done = client.wait_final(job['id'], timeout=180)
    log = client.log(job['id'])
    assert done['state'] == 'PermanentFailure', log
    assert re.search(
        r"The workflow failed: the workflow's output object is \d+\.\d KiB, more than the "
        r'service reads \(32\.0 KiB\): a Directory output of very many files',
        log,
    ), log
    assert 'SystemError' not in log and 'could not be read' not in log
    assert not done['output']
    assert _published(service, job['id']) == []
    assert re.search(
        rf"job {job['id']}: PermanentFailure: .*the runner's stdout is \d+ bytes, more than "
        r'MAX_OUTPUT_JSON \(32768\)',
        caplog.text,
    ), caplog.text


def test_too_many_output_files_are_a_permanent_failure_and_none_is_published(
    service, monkeypatch, caplog
):
    caplog.set_level(logging.WARNING, logger='cerise_actors')
    monkeypatch.setattr(stage_out, 'MAX_OUTPUT_FILES', 40)
    client = service.client
    job = client.submit(PASS_THROUGH, _folder(client, 'many', 60), name='many')
    done = client.wait_final(job['id'], timeout=180)
    log = client.log(job['id'])
    assert done['state'] == 'PermanentFailure', log
    assert re.search(
        r'The workflow failed: the outputs hold more than 40 files and folders \(output '
        r"'folder_out' reached the count\), more than the service publishes for one job, so "
        r'none of them were published',
        log,
    ), log
    assert not done['output']
    assert _published(service, job['id']) == []
    assert f'job {job["id"]}: outputs not published: more than MAX_OUTPUT_FILES (40)' in caplog.text


@pytest.mark.parametrize('files', [30])
def test_outputs_within_the_limits_are_published(service, monkeypatch, files):
    monkeypatch.setattr(stage_out, 'MAX_OUTPUT_FILES', 40)
    client = service.client
    job = client.submit(PASS_THROUGH, _folder(client, 'fits', files), name='fits')
    done = client.wait_final(job['id'], timeout=180)
    log = client.log(job['id'])
    assert done['state'] == 'Success', log
    names = _published(service, job['id'])
    assert sum(name.startswith('file-') for name in names) == files
