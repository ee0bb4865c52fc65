"""The Python client and the CLI: strings by the workflow's declared types, and deleting uploads.

Through the real service: `add_input('text', 'hello world')` for a `string`
input sends the string; with no declared type a missing file says to use
set_input(); deleting a job removes the folder the client uploaded its
inputs to, also when the workflow itself is a URL.
"""

import urllib.request

import pytest

from cerise_actors.client import InputFileMissing, Service

from .. import workflows as wf
from ..helpers import TEST_API_DIR, http
from .test_cli_client import cli
from .test_client import start_service  # noqa: F401  (fixture)


def test_add_input_takes_a_string_for_a_string_input_and_a_path_for_a_file(start_service, tmp_path):
    running = start_service(TEST_API_DIR)
    service = Service(running.url)
    job = service.create_job('echo', wf.ECHO.encode(), {'text': 'hello world'})
    assert job.input == {'text': 'hello world'}
    job.run()
    assert job.wait(timeout=120) == 'Success', job.log
    assert job.outputs['output'].text() == 'hello world\n'

    (tmp_path / 'hello world').write_text('one two\n')
    (tmp_path / 'wc.cwl').write_text(wf.WC)
    job = service.create_job('wc', tmp_path / 'wc.cwl')
    value = job.add_input('file', str(tmp_path / 'hello world'))  # File: a path
    assert value['class'] == 'File' and value['location'].endswith('/hello%20world')
    with pytest.raises(InputFileMissing) as caught:
        job.add_input('file', 'hello.txt')  # declared File: no hint about strings
    assert 'set_input' not in str(caught.value)
    job.delete()


def test_without_a_declared_type_a_missing_file_points_to_set_input(start_service):
    running = start_service(TEST_API_DIR)
    url = f'{running.url}/files/input/shared/echo.cwl'
    assert http('PUT', url, raw=wf.ECHO.encode())[0] == 201
    service = Service(running.url)
    job = service.create_job('echo')
    job.set_workflow(url)  # a URL: its types are not read
    with pytest.raises(InputFileMissing) as caught:
        job.add_input('text', 'hello world')
    message = str(caught.value)
    assert message.startswith("file not found: hello world (input 'text')"), message
    assert "use set_input('text', 'hello world')" in message
    job.set_input('text', 'hello world')
    job.run()
    assert job.wait(timeout=120) == 'Success', job.log


def test_delete_removes_the_uploads_of_a_job_whose_workflow_is_a_url(start_service, tmp_path):
    running = start_service(TEST_API_DIR)
    url = f'{running.url}/files/input/shared/wc.cwl'
    assert http('PUT', url, raw=wf.WC.encode())[0] == 201
    (tmp_path / 'hello.txt').write_text('one two\n')
    (tmp_path / 'inputs.yml').write_text('file: {class: File, location: hello.txt}\n')
    env = {'CERISE_SERVICE_URL': running.url}
    code, out, err = cli('submit', url, tmp_path / 'inputs.yml', '--name', 'wc', env=env)
    assert code == 0, err
    job_id = out.strip()
    job = Service(running.url).get_job(job_id)
    uploaded = running.exchange / 'input' / job.upload_folder
    assert (uploaded / 'file' / 'hello.txt').read_text() == 'one two\n'
    assert job.wait(timeout=120) == 'Success', job.log

    code, _, err = cli('delete', job_id, env=env)
    assert code == 0 and 'and its uploaded inputs' in err, err
    assert not uploaded.exists()
    with urllib.request.urlopen(url, timeout=30) as answer:  # not the client's: kept
        assert answer.read() == wf.WC.encode()
