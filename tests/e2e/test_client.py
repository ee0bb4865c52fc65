"""The Python client (cerise_actors.client) against a real service.

Each test starts a service in this process (real HTTP on loopback, SQLite
file, local resource) whose file area is `<service>/files`, and uses the
client exactly as a script would: upload, run, wait, read outputs, delete.

The `start_service` fixture (also used by test_cli_client.py) configures
`store-location-client` as `http://127.0.0.1:<port>/files`, as local_service()
does, so inputs go up with PUT and outputs come down with GET over HTTP.
"""

import dataclasses
import io
import os
import signal
import socket
from pathlib import Path

import pytest

from cerise_actors.app import running_service
from cerise_actors.client import (
    FINAL_STATES,
    InputFileMissing,
    Job,
    JobNotFound,
    JobStateError,
    LocalServiceError,
    NotAuthorized,
    OutputFile,
    Service,
    ServiceUnreachable,
    UploadFailed,
    WaitTimeout,
    local_service,
)
from cerise_actors.client.local import free_port
from cerise_actors.config import load_api_config, service_config_from_dict

from .. import workflows as wf
from ..helpers import REPO_DIR, TEST_API_DIR, processes_mentioning

EXAMPLE_DIR = REPO_DIR / 'specialisation_examples' / 'example'
EXAMPLE_API = EXAMPLE_DIR / 'api'
EXAMPLE_WORKFLOW = EXAMPLE_DIR / 'test_workflow.cwl'
CUSTOM_PROGRAM_WORKFLOW = """cwlVersion: v1.0
class: Workflow
inputs:
  in_text: File
outputs:
  out_text:
    type: File
    outputSource: heading/out_text
steps:
  heading:
    run: example/custom_program.cwl
    in: {in_text: in_text}
    out: [out_text]
"""
HEADING = '=== Here is a heading! ===\n'


@dataclasses.dataclass
class RunningService:
    url: str
    root: Path
    exchange: Path

    def client(self, **kwargs) -> Service:
        return Service(self.url, **kwargs)

    def cli_args(self):
        return ['--service', self.url]


@pytest.fixture
def start_service(tmp_path):
    """start_service(api_dir) -> RunningService; all are stopped after the test."""
    contexts = []

    def start(api_dir: Path = EXAMPLE_API) -> RunningService:
        root = tmp_path / f'svc{len(contexts)}'
        root.mkdir()
        port = free_port()  # the service must know its own file-area URL
        config = service_config_from_dict(
            {
                'database': {'file': str(root / 'cerise.db')},
                'client-file-exchange': {
                    'store-location-service': str(root / 'files'),
                    'store-location-client': f'http://127.0.0.1:{port}/files',
                },
                # authentication is tested in tests/auth (and local_service below)
                'rest-service': {'hostname': '127.0.0.1', 'port': port, 'auth': 'none'},
            },
            env={},
        )
        api = load_api_config(api_dir, env={})
        api = dataclasses.replace(
            api, files=dataclasses.replace(api.files, path=str(root / 'resource')), refresh=0.1
        )
        context = running_service(config, api_dir, api_config=api)
        service = context.__enter__()
        contexts.append(context)
        return RunningService(service.base_url, root, root / 'files')

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)
    for pid in processes_mentioning(str(tmp_path)):  # jobs a failed test left behind
        os.kill(pid, signal.SIGKILL)


def uploads_of(running: RunningService, job: Job):
    folder = running.exchange / 'input' / job.upload_folder
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file())


# --- the example specialisation ------------------------------------------------
def test_example_workflow_runs_to_success(start_service, tmp_path):
    running = start_service()
    service = running.client()
    job = service.create_job('hostname')
    job.set_workflow(EXAMPLE_WORKFLOW)
    assert job.workflow.startswith(f'{service.files.url}/input/hostname-')
    job.run()
    seen = []
    assert job.wait(timeout=120, progress=seen.append) == 'Success', job.log
    assert seen[-1] == 'Success' and len(seen) == len(set(seen))
    assert job.state == 'Success'

    output = job.outputs['output']
    assert isinstance(output, OutputFile) and output.basename == 'output.txt'
    assert output.text().strip() == socket.gethostname()
    assert b''.join(output.stream(chunk_size=3)) == output.read_bytes()
    saved = output.save(tmp_path)
    assert saved == tmp_path / 'output.txt' and saved.read_bytes() == output.read_bytes()
    assert 'Success' in job.log

    again = service.get_job(job.id)
    assert again.name == 'hostname' and again.upload_folder == job.upload_folder
    assert job.id in [listed.id for listed in service.list_jobs()]


def test_custom_program_with_an_input_file(start_service, tmp_path):
    running = start_service()
    service = running.client()
    text = tmp_path / 'in+put.txt'  # URLs are quoted
    text.write_text('Hello, world!\n')
    job = service.create_job('custom', CUSTOM_PROGRAM_WORKFLOW.encode(), {'in_text': text}).run()
    assert job.input['in_text']['location'].endswith('/in_text/in%2Bput.txt')
    assert job.wait(timeout=120) == 'Success', job.log
    assert job.outputs['out_text'].text() == HEADING + 'Hello, world!\n'
    assert uploads_of(running, job) == ['in_text/in+put.txt', 'workflow.cwl']


def test_delete_removes_the_job_and_only_its_own_uploads(start_service, tmp_path):
    running = start_service()
    service = running.client()
    first = service.create_job(
        'same', CUSTOM_PROGRAM_WORKFLOW.encode(), {'in_text': b'one\n'}
    ).run()
    second = service.create_job(
        'same', CUSTOM_PROGRAM_WORKFLOW.encode(), {'in_text': b'two\n'}
    ).run()
    assert first.upload_folder != second.upload_folder
    assert first.wait(timeout=120) == 'Success' and second.wait(timeout=120) == 'Success'
    assert second.outputs['out_text'].text() == HEADING + 'two\n'

    service.get_job(first.id).delete()  # as `cerise-actors delete ID` does
    with pytest.raises(JobNotFound):
        service.get_job(first.id)
    assert not (running.exchange / 'input' / first.upload_folder).exists()
    assert uploads_of(running, second) == ['in_text/in_text', 'workflow.cwl']
    with pytest.raises(JobStateError):
        first.run()


def test_missing_input_file_fails_before_uploading(start_service, tmp_path):
    running = start_service()
    job = running.client().create_job('missing')
    job.set_workflow(CUSTOM_PROGRAM_WORKFLOW.encode())
    missing = tmp_path / 'no-such-file.txt'
    with pytest.raises(InputFileMissing) as caught:
        job.add_input('in_text', [tmp_path / 'also-not-checked-first.txt', missing])
    assert 'not found' in str(caught.value) and "input 'in_text'" in str(caught.value)
    assert uploads_of(running, job) == ['workflow.cwl']
    job.delete()
    assert not (running.exchange / 'input' / job.upload_folder).exists()


# --- inputs of every kind (the test specialisation) --------------------------------
def test_arrays_secondary_files_file_objects_and_plain_inputs(start_service, tmp_path):
    running = start_service(TEST_API_DIR)
    service = running.client()
    first = tmp_path / 'a' / 'data.txt'
    second = tmp_path / 'b' / 'data.txt'  # same name: uploaded side by side
    for path, text in ((first, 'first\n'), (second, 'second\n')):
        path.parent.mkdir()
        path.write_text(text)
    array = service.create_job('array', wf.FILE_ARRAY.encode())
    array.add_input(
        'files', [first, str(second), b'third\n', io.BytesIO(b'fourth\n'), io.StringIO('fifth\n')]
    )
    array.run()

    main = tmp_path / 'main.dat'
    main.write_bytes(b'12345')
    with open(main, 'rb') as stream:
        secondary = service.create_job(
            'secondary',
            wf.SECONDARY.encode(),
            {
                'file': {
                    'class': 'File',
                    'location': stream,
                    'secondaryFiles': [
                        {'class': 'File', 'location': b'abc', 'basename': 'main.dat.2nd'}
                    ],
                }
            },
        ).run()

    greet = service.create_job('greet', wf.GREET.encode())
    greet.set_input('name', 'world')
    greet.set_input('greeting', None)
    greet.run()

    assert array.wait(timeout=120) == 'Success', array.log
    assert array.outputs['output'].text() == 'first\nsecond\nthird\nfourth\nfifth\n'
    assert secondary.wait(timeout=120) == 'Success', secondary.log
    assert secondary.outputs['output'].text() == '5 main.dat\n3 main.dat.2nd\n'
    assert greet.wait(timeout=120) == 'Success', greet.log
    assert 'world' in greet.outputs['output'].text()
    assert uploads_of(running, secondary) == ['file/main.dat', 'file/main.dat.2nd', 'workflow.cwl']


def test_cancel_and_wait_time_out(start_service):
    running = start_service(TEST_API_DIR)
    job = running.client().create_job('sleep', wf.SLEEP.encode(), {'seconds': 60}).run()
    with pytest.raises(WaitTimeout) as caught:
        job.wait(timeout=0.5)
    assert caught.value.job_id == job.id and caught.value.state not in FINAL_STATES
    assert isinstance(caught.value, TimeoutError)
    job.cancel()
    assert job.wait(timeout=60) == 'Cancelled'
    assert job.outputs == {}


def test_a_refused_workflow_ends_in_permanent_failure_with_the_reason(start_service):
    running = start_service(TEST_API_DIR)
    job = running.client().create_job('bad', wf.UNKNOWN_STEP.encode()).run()
    assert job.wait(timeout=60) == 'PermanentFailure'
    assert 'no_such_step' in job.log


# --- errors ---------------------------------------------------------------------------
def test_job_not_found(start_service):
    service = start_service(TEST_API_DIR).client()
    with pytest.raises(JobNotFound) as caught:
        service.get_job('no-such-job')
    assert 'no-such-job' in str(caught.value) and caught.value.status == 404


def test_service_unreachable():
    url = f'http://127.0.0.1:{free_port()}'
    with pytest.raises(ServiceUnreachable) as caught:
        Service(url).list_jobs()
    assert url in str(caught.value) and 'connection refused' in str(caught.value)


def test_upload_to_a_missing_file_area_says_so(start_service):
    running = start_service(TEST_API_DIR)
    job = Service(running.url, files_url=running.url + '/nothing-here').create_job('x')
    with pytest.raises(UploadFailed) as caught:
        job.set_workflow(b'cwlVersion: v1.0\n')
    assert '/nothing-here/input/x-' in str(caught.value) and 'WebDAV' in str(caught.value)


# --- local_service() ---------------------------------------------------------------------
def test_local_service_starts_and_stops(tmp_path):
    with local_service(TEST_API_DIR, workdir=tmp_path / 'work') as service:
        assert service.list_jobs() == []
        assert service.url.startswith('http://127.0.0.1:')
        # the service made a token, and the yielded Service sends it
        assert service.token_source == f'the token file {tmp_path / "work" / "run" / "token"}'
        with pytest.raises(NotAuthorized):
            Service(service.url, token='not-the-token').list_jobs()
        process = service.process
        assert (tmp_path / 'work' / 'run' / 'cerise.pid').exists()
    assert process.poll() == 0
    assert (tmp_path / 'work' / 'run' / 'cerise.log').exists(), 'a given workdir is kept'
    with pytest.raises(ServiceUnreachable):
        service.list_jobs()


def test_local_service_that_cannot_start_says_why(tmp_path):
    api = tmp_path / 'api'
    api.mkdir()
    (api / 'config.yml').write_text('compute-resource: {files: {protocol: ftp}}\n')
    with pytest.raises(LocalServiceError) as caught:
        with local_service(api):
            pass
    assert 'ftp' in str(caught.value)


def test_local_service_runs_the_example_and_stops():
    with local_service(EXAMPLE_API) as service:
        workdir, process = service.workdir, service.process
        job = service.create_job('local', EXAMPLE_WORKFLOW).run()
        assert job.wait(timeout=120) == 'Success', job.log
        assert job.outputs['output'].text().strip() == socket.gethostname()
    assert process.poll() == 0, 'stopped cleanly with SIGTERM'
    assert not workdir.exists()


def test_create_job_with_a_missing_input_leaves_no_uploads(start_service, tmp_path):
    running = start_service()
    with pytest.raises(InputFileMissing):
        running.client().create_job(
            'oops', CUSTOM_PROGRAM_WORKFLOW.encode(), {'in_text': tmp_path / 'typo.txt'}
        )
    assert list((running.exchange / 'input').iterdir()) == []
