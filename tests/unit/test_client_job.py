"""Job behaviour that needs no real service: waiting, state rules, outputs, deletion."""

import pytest

from cerise_actors.client import (
    JobNotFound,
    JobStateError,
    OutputDirectory,
    OutputFile,
    Service,
    ServiceUnreachable,
    WaitTimeout,
)
from cerise_actors.client import waiting as waiting_module
from cerise_actors.client.outputs import output_files, wrap_outputs

from .test_client_http import job_json, stub  # noqa: F401  (fixture)


def test_wait_reports_each_state_once_and_returns_the_final_one(stub):
    stub.on(
        'GET',
        '/jobs/j1',
        *[
            (200, job_json(state=s))
            for s in ('Waiting', 'Waiting', 'Running', 'Running', 'Success')
        ],
    )
    job = Service(stub.url).get_job('j1')
    seen = []
    assert job.wait(timeout=30, interval=0.01, progress=seen.append) == 'Success'
    assert seen == ['Waiting', 'Running', 'Success']


def test_wait_times_out_and_rides_out_a_short_outage(stub, monkeypatch):
    stub.on('GET', '/jobs/j1', (200, job_json(state='Running')))
    job = Service(stub.url).get_job('j1')
    with pytest.raises(WaitTimeout) as caught:
        job.wait(timeout=0.2, interval=0.05)
    assert str(caught.value) == "job j1 ('n') is still Running after 0.2 s"
    stub.on(
        'GET', '/jobs/j1', (503, {'title': 'Service unavailable'}), (200, job_json(state='Success'))
    )
    assert job.wait(timeout=30, interval=0.01) == 'Success'
    monkeypatch.setattr(waiting_module, 'OUTAGE_GRACE', -1.0)
    job.service.url = 'http://127.0.0.1:9'  # nothing listens on the discard port
    with pytest.raises(ServiceUnreachable):
        job.wait(timeout=30, interval=0.01)


def test_state_rules(stub):
    service = Service(stub.url)
    job = service.create_job('n')
    with pytest.raises(JobStateError, match='no workflow'):
        job.run()
    with pytest.raises(JobStateError, match='not submitted yet'):
        job.wait()
    with pytest.raises(JobStateError, match='not submitted yet'):
        _ = job.state
    stub.on('GET', '/jobs/j1', (200, job_json()))
    submitted = service.get_job('j1')
    for action in (
        lambda: submitted.add_input('x', 1),
        lambda: submitted.set_input('x', 1),
        lambda: submitted.set_workflow(b'x'),
        submitted.run,
    ):
        with pytest.raises(JobStateError, match='already submitted'):
            action()
    with pytest.raises(Exception, match='not plain JSON'):
        job.set_input('x', object())


def test_only_folders_this_client_made_are_deleted(stub):
    files = f'{stub.url}/files'
    owned = job_json(name='my job', workflow=f'{files}/input/my_job-0123abcd/wf.cwl')
    shared = job_json(job_id='j2', name='my job', workflow=f'{files}/input/my job/wf.cwl')
    stub.on('GET', '/jobs/j1', (200, owned))
    stub.on('GET', '/jobs/j2', (200, shared))
    stub.on('DELETE', '/jobs/j1', (204, b''))
    stub.on('DELETE', '/jobs/j2', (404, {'title': 'Job not found'}))
    stub.on('DELETE', '/files/input/my_job-0123abcd/', (204, b''))
    service = Service(stub.url)
    service.get_job('j1').delete()
    shared_job = service.get_job('j2')
    assert shared_job.upload_folder is None
    with pytest.raises(JobNotFound):
        shared_job.delete()
    assert [(r['method'], r['path']) for r in stub.requests if r['method'] == 'DELETE'] == [
        ('DELETE', '/jobs/j1'),
        ('DELETE', '/files/input/my_job-0123abcd/'),
        ('DELETE', '/jobs/j2'),
    ]


def test_outputs_can_be_read_saved_and_streamed(tmp_path):
    published = tmp_path / 'output' / 'j1'
    (published / 'dir' / 'sub').mkdir(parents=True)
    (published / 'out.txt').write_text('result\n')
    (published / 'out.txt.idx').write_text('i')
    (published / 'dir' / 'sub' / 'deep.txt').write_text('deep')
    url = published.as_uri()
    wrapped = wrap_outputs(
        {
            'count': 3,
            'text': {
                'class': 'File',
                'location': f'{url}/out.txt',
                'size': 7,
                'secondaryFiles': [{'class': 'File', 'location': f'{url}/out.txt.idx'}],
            },
            'dir': {
                'class': 'Directory',
                'location': f'{url}/dir',
                'listing': [
                    {
                        'class': 'Directory',
                        'location': f'{url}/dir/sub',
                        'basename': 'sub',
                        'listing': [{'class': 'File', 'location': f'{url}/dir/sub/deep.txt'}],
                    }
                ],
            },
        },
        Service('http://127.0.0.1:1').http,
        'j1',
    )
    text, folder = wrapped['text'], wrapped['dir']
    assert wrapped['count'] == 3
    assert isinstance(text, OutputFile) and text.basename == 'out.txt' and text.size == 7
    assert text.text() == 'result\n' and list(text.stream(3)) == [b'res', b'ult', b'\n']
    assert text.save(tmp_path / 'mine.txt').read_text() == 'result\n'
    assert text.save(tmp_path) == tmp_path / 'out.txt'
    assert not list(tmp_path.glob('*.part'))
    assert isinstance(folder, OutputDirectory) and folder.relative_path == 'dir'
    saved = folder.save(tmp_path / 'copy')
    assert (saved / 'sub' / 'deep.txt').read_text() == 'deep'
    assert [item.relative_path for item in output_files(wrapped)] == [
        'out.txt',
        'out.txt.idx',
        'dir',
    ]


def test_step_progress_is_read_from_the_job_log():
    from cerise_actors.client.progress import step_progress

    log = (
        "x INFO Step 's' started.\n"
        "x INFO Step 'e' started.\n"
        "x INFO Step 'e' finished; 1 of 2 steps done.\n"
    )
    assert step_progress(log) == '1 of 2 steps done, step s running'
    assert step_progress(log + "x INFO Step 's' ended (permanentFail); 2 of 2 steps done.\n") == (
        '2 of 2 steps done'
    )
    assert step_progress("x INFO Step 'a' started.\nx INFO Step 'b' started.\n") == (
        '0 steps done, steps a, b running'
    )
    assert step_progress('an older service logs no steps') is None
