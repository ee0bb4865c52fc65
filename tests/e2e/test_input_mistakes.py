"""Input mistakes explained, through the real service and its clients (issue 20).

- A wrong type: the job log names the input, the value and the declared
  type, and for a File the shape to write.
- cwltool's warnings about the input object (a misspelt optional input,
  which it ignores) reach the job log.
- The Python client refuses an undeclared input name or a value of the
  wrong type before anything is submitted.
- The CLI names the inputs file's line, refuses a workflow that is not valid
  YAML (file, line, column) or that names a step the service does not offer,
  uploading nothing.
"""

import os
import subprocess
import sys

import pytest

from cerise_actors.client import InputError, Service

from .. import workflows as wf
from ..helpers import http

OPTIONAL_TEXT = wf.single_step(
    'test/echo.cwl', inputs='{text: {type: string, default: hi}}', in_map='{text: text}'
)


def test_a_string_for_a_file_is_explained_in_the_job_log(service):
    job = service.client.submit(wf.WC, {'file': 'text.txt'})
    assert service.client.wait_final(job['id'])['state'] == 'PermanentFailure'
    log = service.client.log(job['id'])
    assert "input 'file': got the string 'text.txt', but it is declared File; write " in log
    assert '{"class": "File", "location": "' in log, log


def test_a_number_for_a_string_names_the_value_and_type(service):
    job = service.client.submit(wf.ECHO, {'text': 42})
    assert service.client.wait_final(job['id'])['state'] == 'PermanentFailure'
    log = service.client.log(job['id'])
    assert "input 'text': got the number 42, but it is declared string" in log, log


def test_cwltools_warning_about_a_misspelt_input_is_in_the_job_log(service, capfd):
    job = service.client.submit(OPTIONAL_TEXT, {'txet': 'hello'})
    assert service.client.wait_final(job['id'])['state'] == 'Success'
    log = service.client.log(job['id'])
    assert "WARNING Warning about the input object: invalid field 'txet'" in log, log
    assert "did you mean 'text'?" in log
    out, err = capfd.readouterr()
    assert "invalid field 'txet'" not in out + err  # not on the service's terminal


# --- the Python client ---------------------------------------------------------


@pytest.fixture
def remote(service):
    return Service(service.base_url)


def test_the_client_refuses_an_undeclared_input_name(remote, tmp_path):
    job = remote.create_job('typo')
    job.set_workflow(wf.WC.encode(), basename='wc.cwl')
    with pytest.raises(InputError, match=r"'fiel' is not an input of the workflow.*'file'\?"):
        job.add_input('fiel', tmp_path)
    job.delete()


def test_the_client_refuses_a_value_of_the_wrong_type(remote):
    job = remote.create_job('typed')
    job.set_workflow(wf.WC.encode(), basename='wc.cwl')
    with pytest.raises(InputError, match=r"input 'file' is declared File.*the number 42"):
        job.add_input('file', 42)
    with pytest.raises(InputError, match=r"input 'file'.*declared File"):
        job.set_input('file', 'text.txt')
    assert remote.list_jobs() == []
    job.delete()


# --- the command line ----------------------------------------------------------


def cli(service, *args, cwd):
    env = {**os.environ, 'CERISE_SERVICE_URL': service.base_url, 'NO_PROXY': '*', 'no_proxy': '*'}
    return subprocess.run(
        [sys.executable, '-m', 'cerise_actors', *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def no_jobs(service):
    return http('GET', f'{service.base_url}/jobs')[1] == []


def uploads(service):
    folder = service.client.exchange / 'input'
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_the_cli_names_the_line_of_an_undeclared_input(service, tmp_path):
    (tmp_path / 'wc.cwl').write_text(wf.WC)
    (tmp_path / 'hello.txt').write_text('hi\n')
    (tmp_path / 'inputs.yml').write_text('# mine\nfiel: {class: File, location: hello.txt}\n')
    result = cli(service, 'submit', 'wc.cwl', 'inputs.yml', cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "inputs.yml:2: input 'fiel' is not an input of the workflow" in result.stderr
    assert "did you mean 'file'?" in result.stderr
    assert uploads(service) == [] and no_jobs(service)


def test_the_cli_names_the_line_of_a_string_given_for_a_file(service, tmp_path):
    (tmp_path / 'wc.cwl').write_text(wf.WC)
    (tmp_path / 'inputs.yml').write_text('\nfile: text.txt\n')
    result = cli(service, 'submit', 'wc.cwl', 'inputs.yml', cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "inputs.yml:2: input 'file' is the text 'text.txt'" in result.stderr
    assert '{class: File, location: text.txt}' in result.stderr
    assert uploads(service) == []


def test_the_cli_refuses_a_workflow_that_is_not_yaml(service, tmp_path):
    (tmp_path / 'bad.cwl').write_text(wf.ECHO.replace('inputs:', 'inputs: [', 1))
    result = cli(service, 'submit', 'bad.cwl', cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert 'bad.cwl:' in result.stderr and 'is not valid YAML' in result.stderr
    assert 'line ' in result.stderr and 'column ' in result.stderr
    assert uploads(service) == [] and no_jobs(service)


def test_the_cli_refuses_a_step_the_service_does_not_offer(service, tmp_path):
    (tmp_path / 'echo.cwl').write_text(wf.ECHO.replace('test/echo.cwl', 'test/ecko.cwl'))
    result = cli(service, 'submit', 'echo.cwl', '--name', 'x', cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "echo.cwl:8: step 'test/ecko.cwl' is not offered by the service" in result.stderr
    assert 'test/echo.cwl' in result.stderr  # the close match
    assert uploads(service) == [] and no_jobs(service)
