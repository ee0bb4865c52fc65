"""The pure parts of the WES front end: names, state table, tokens, submissions, views."""

import io
import json

import pytest

from cerise_actors.boundary.confined import ConfinedRoot
from cerise_actors.boundary.exchange_names import ExchangeNames
from cerise_actors.jobs.states import JobState
from cerise_actors.jobs.views import RunRecord, RunSummary
from cerise_actors.web.paging import decode_cursor, encode_cursor, page_size
from cerise_actors.web.wes import views
from cerise_actors.web.wes.form import _save
from cerise_actors.web.wes.names import attachment_path
from cerise_actors.web.wes.states import WES_STATE, WES_STATES, state_counts, wes_state
from cerise_actors.web.wes.submission import BadRun, Place, build_submission

from ..wes_schema import SPEC, errors

PLACE = Place(
    'file:///ex/input/wes/r1',
    'file:///ex',
    ExchangeNames(['file:///ex', 'http://127.0.0.1:8/files'], ['/ex', '/link/ex']),
)


@pytest.mark.parametrize(
    'name, path',
    [('a.cwl', 'a.cwl'), ('./a//b/c.txt', 'a/b/c.txt'), ('a/./b', 'a/b'), ('ü.txt', 'ü.txt')],
)
def test_safe_attachment_names(name, path):
    assert attachment_path(name) == path


@pytest.mark.parametrize(
    'name', ['', '/etc/passwd', '../x', 'a/../../x', 'a/..', 'c:x', 'a\\b', 'a\x00', '.', './/']
)
def test_unsafe_attachment_names(name):
    with pytest.raises(ValueError):
        attachment_path(name)


def test_long_and_deep_names():
    with pytest.raises(ValueError, match='255'):
        attachment_path('a' * 256)
    with pytest.raises(ValueError, match='64'):
        attachment_path('/'.join(['d'] * 65))


def test_every_state_maps_into_the_schema_and_finals_to_finals():
    assert set(WES_STATE) == set(JobState)
    assert (
        set(WES_STATE.values())
        <= set(WES_STATES)
        == set(SPEC['components']['schemas']['State']['enum'])
    )
    waiting = {'QUEUED', 'INITIALIZING', 'RUNNING', 'CANCELING'}
    for state, wes in WES_STATE.items():
        assert (wes not in waiting) == state.is_final, state
    assert wes_state('nonsense') == 'UNKNOWN'
    assert state_counts({'Submitted': 2, 'Waiting': 1, 'RunningCR': 3})['QUEUED'] == 3


def test_page_tokens_round_trip_and_refuse_garbage():
    cursor = (1764171234.123456789, 'a0b1c2d3-0000-4000-8000-000000000000')
    assert decode_cursor(encode_cursor(cursor)) == cursor
    for token in ('', '!!', 'bm9zcGFjZQ', encode_cursor((float('nan'), 'x'))[:-2] + 'xx'):
        with pytest.raises(ValueError):
            decode_cursor(token)
    assert page_size(None, 10, 100, 'n') == 10 and page_size('1000', 10, 100, 'n') == 100
    with pytest.raises(ValueError):
        page_size('-1', 10, 100, 'n')


def _submit(files=(), **fields):
    fields = {'workflow_type': 'CWL', 'workflow_type_version': 'v1.2', **fields}
    fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return build_submission(fields, set(files), PLACE, 'cerise-runner')


def test_workflow_url_and_locations_point_at_the_attachments():
    params = {
        'a': {'class': 'File', 'location': 'data/x y.txt'},
        'b': {'class': 'File', 'path': '/home/me/project/data/x y.txt'},
        'c': {'class': 'Directory', 'location': 'file:///home/me/project/data'},
        'd': {'class': 'File', 'location': 'https://example.org/f'},
        'e': {'class': 'File', 'location': 'file:///ex/input/mine/f'},
        'f': [{'class': 'File', 'location': 'http://127.0.0.1:8/files/input/mine/f'}],
        'g': {'location': 'not/a/file/object'},
    }
    run = _submit(
        ['wf/main.cwl', 'data/x y.txt'],
        workflow_url='wf/main.cwl',
        workflow_params=params,
        tags={'name': 'n'},
    )
    assert run.workflow_url == 'file:///ex/input/wes/r1/wf/main.cwl'
    assert run.name == 'n' and run.notes == []
    assert run.input['a']['location'] == 'file:///ex/input/wes/r1/data/x%20y.txt'
    assert run.input['b'] == {'class': 'File', 'location': 'file:///ex/input/wes/r1/data/x%20y.txt'}
    assert run.input['c']['location'] == 'file:///ex/input/wes/r1/data'
    assert run.input['d'] == params['d'] and run.input['e'] == params['e']
    assert run.input['f'] == params['f'] and run.input['g'] == params['g']
    assert run.request['workflow_params'] == params


def test_other_workflow_urls():
    assert _submit(workflow_url='https://x/a.cwl').workflow_url == 'https://x/a.cwl'
    assert _submit(workflow_url='file:///ex/input/a.cwl').workflow_url == 'file:///ex/input/a.cwl'
    for url in ('/etc/a.cwl', 'file:///etc/a.cwl', 'ftp://x/a', 'a.cwl', '../a.cwl', 'w.cwl#m'):
        with pytest.raises(BadRun):
            _submit(workflow_url=url)


@pytest.mark.parametrize(
    'url', ['file:///ex/input/x/../a.cwl', 'file:///ex/input/%2e/a.cwl', '/ex/./input/a.cwl']
)
def test_workflow_urls_inside_the_exchange_after_resolving_are_kept(url):
    assert _submit(workflow_url=url).workflow_url == url


@pytest.mark.parametrize(
    'url, words',
    [
        ('file:///ex/../cerise.db', 'its .. segments leave'),
        ('file:///ex/%2e%2e/cerise.db', 'its .. segments leave'),
        ('/ex/input/../../cerise.db', 'outside the file exchange area'),
        ('file:///exchange/a.cwl', 'outside the file exchange area'),
        ('file://host/ex/a.cwl', 'naming another host'),
        ('file:///ex/a%00.cwl', 'NUL'),
        ('file:///ex/%252e%252e/cerise.db', 'encode names once'),
        ('gopher://x/a.cwl', 'gopher: URLs are not read'),
        ('http:///a.cwl', 'names no host'),
    ],
)
def test_workflow_urls_no_stage_in_could_read_are_refused(url, words):
    with pytest.raises(BadRun, match=words):
        _submit(workflow_url=url)


@pytest.mark.parametrize(
    'location, words',
    [
        ('file:///ex/input/../../etc/passwd', 'its .. segments leave'),
        ('/ex/input/../../cerise.db', 'its .. segments leave'),
        ('/link/ex/../cerise.db', 'its .. segments leave'),
        ('http://127.0.0.1:8/files/input/%2e%2e/%2e%2e/cerise.db', 'its .. segments leave'),
        ('/ex/input/a\x01b', 'control character'),
        ('/ex/input/%252e%252e/x', 'encode names once'),
        ('file:///elsewhere/f', 'no attachment ends its path'),
        ('file://host/ex/input/f', 'naming another host'),
        ('s3://bucket/f', 's3: URLs are not read'),
        ('http:///f', 'names no host'),
    ],
)
def test_params_locations_no_stage_in_could_read_are_refused(location, words):
    """What stage-in (`Exchange.name_of`, the same ExchangeNames) refuses is 400 at POST."""
    params = {'f': {'class': 'File', 'location': location}}
    with pytest.raises(BadRun, match=f'workflow_params: location .*{words}'):
        _submit(workflow_url='https://x/a.cwl', workflow_params=json.dumps(params))


@pytest.mark.parametrize(
    'location',
    ['/link/ex/input/f', 'file:///link/ex/input/./f', 'http://127.0.0.1:8/files/input/f'],
)
def test_params_locations_in_any_spelling_of_the_area_are_kept(location):
    params = {'f': {'class': 'Directory', 'path': location}}
    run = _submit(workflow_url='https://x/a.cwl', workflow_params=params)
    assert run.input['f'] == {'class': 'Directory', 'location': location}


@pytest.mark.parametrize(
    'url, words',
    [
        ('http://127.0.0.1:8/files/input/%2e%2e/%2e%2e/cerise.db', 'its .. segments leave'),
        ('http://127.0.0.1:8/files/input/a%01b', 'control character'),
        ('/link/ex/../cerise.db', 'its .. segments leave'),
    ],
)
def test_workflow_urls_of_the_areas_other_names_are_refused_as_stage_in_would(url, words):
    with pytest.raises(BadRun, match=words):
        _submit(workflow_url=url)


@pytest.mark.parametrize(
    'url', ['http://127.0.0.1:8/files/input/a.cwl', 'file:///link/ex/input/a.cwl']
)
def test_workflow_urls_of_the_areas_other_names_are_kept(url):
    assert _submit(workflow_url=url).workflow_url == url


def test_engine_parameters_are_noted_and_versions_checked():
    run = _submit(
        workflow_url='https://x/a.cwl',
        workflow_engine_parameters={'--x': '1'},
        workflow_engine='toil',
    )
    assert len(run.notes) == 2 and 'ignored' in run.notes[0] and 'toil' in run.notes[1]
    assert run.request['workflow_engine_parameters'] == {'--x': '1'}
    assert _submit(workflow_url='https://x/a.cwl', workflow_type_version='1.0')
    with pytest.raises(BadRun, match='workflow_type_version'):
        _submit(workflow_url='https://x/a.cwl', workflow_type_version='draft-3')


def _record(**changes):
    fields = dict(
        id='r1',
        name='',
        workflow_url='file:///ex/a.cwl',
        input_json='{"x": 1}',
        state='Running',
        output_json=None,
        exit_code=None,
        created_at=1.0,
        updated_at=2.0,
        started_at=None,
        wes_request=None,
    )
    return RunRecord(**{**fields, **changes})


def test_views_of_a_job_made_through_jobs_are_valid():
    schemas = SPEC['components']['schemas']
    run = _record(name='n')
    assert views.run_request(run)['workflow_url'] == 'file:///ex/a.cwl'
    log = views.run_log(run, 'http://h', 'http://h/ga4gh/wes/v1', [(1.0, 'ERROR', 'bad')])
    assert not errors(log, schemas['RunLog'])
    assert log['run_log']['system_logs'] == ['1970-01-01T00:00:01Z ERROR bad']
    assert 'end_time' not in log['run_log'] and 'start_time' not in log['run_log']
    done = _record(state='Success', started_at=1.5, exit_code=0, output_json='{"o": 1}')
    summary = views.run_summary(RunSummary('r1', '', 'Success', 2.0, 1.5, None))
    assert not errors(summary, schemas['RunSummary'])
    assert summary['end_time'] == '1970-01-01T00:00:02Z' and summary['tags'] == {}
    assert views.run_summary(RunSummary('r1', 'n', 'Running', 2.0, None, None))['tags'] == {
        'name': 'n'
    }
    tagged = views.run_summary(RunSummary('r1', 'n', 'Running', 2.0, None, '{"name":"n","t":"1"}'))
    assert tagged['tags'] == {'name': 'n', 't': '1'} and 'end_time' not in tagged
    assert views.run_log(done, 'h', 'h', [])['outputs'] == {'o': 1}


def test_tasks_are_read_from_the_step_lines_of_the_job_log():
    from cerise_actors.web.wes.tasks import runner_log_url, task_logs

    lines = [
        (0.0, 'INFO', 'Running on the compute resource.'),
        (1.0, 'INFO', "Step 'a' started."),
        (2.0, 'INFO', "Step 'b' started."),
        (3.0, 'INFO', "Step 'a' finished; 1 of 3 steps done."),
        (4.0, 'INFO', "Step 'b' ended (permanentFail); 2 of 3 steps done."),
        (5.0, 'INFO', "Step 'c' started."),
        (6.0, 'INFO', "The workflow runner's whole log: http://h/files/output/r/cerise-runner.log"),
    ]
    url = runner_log_url(lines)
    assert url == 'http://h/files/output/r/cerise-runner.log'
    a, b, c = task_logs(lines, 'http://h/jobs/r/log', url)
    assert a == {
        'id': 'a',
        'name': 'a',
        'start_time': '1970-01-01T00:00:01Z',
        'end_time': '1970-01-01T00:00:03Z',
        'stdout': 'http://h/jobs/r/log',
        'stderr': url,
        'exit_code': 0,
        'system_logs': [],
    }
    assert b['exit_code'] == 1 and b['system_logs'] == [lines[4][2]]
    assert 'end_time' not in c and 'exit_code' not in c  # still running


def test_attachments_are_never_written_through_a_link(tmp_path):
    """A folder of the run swapped for a link (by a shell user) is refused, not followed."""
    outside = tmp_path / 'outside'
    outside.mkdir()
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'tools').symlink_to(outside)
    (run / 'wf.cwl').symlink_to(outside / 'wf.cwl')
    for path in ('tools/wc.cwl', 'tools/deeper/wc.cwl'):
        with pytest.raises(BadRun, match='symbolic link'):
            _save(io.BytesIO(b'x'), ConfinedRoot(tmp_path), 'run', path)
    _save(
        io.BytesIO(b'mine'), ConfinedRoot(tmp_path), 'run', 'wf.cwl'
    )  # the link is replaced, not followed
    assert (run / 'wf.cwl').read_bytes() == b'mine' and not (run / 'wf.cwl').is_symlink()
    assert list(outside.iterdir()) == []


def test_the_run_list_is_written_page_by_page_as_falcon_wrote_it_whole():
    runs = [
        RunSummary(f'r{i}', 'n', 'Success', 2.0, 1.5, '{"name": "n", "k": "é"}' if i else None)
        for i in range(4)
    ]
    whole = {'runs': [views.run_summary(run) for run in runs], 'next_page_token': ''}
    for pages in (
        [(runs, None)],
        [(runs[:1], (1.0, 'r0')), ([], (1.0, 'r0')), (runs[1:], None)],
    ):
        text = b''.join(views.run_list_chunks(pages)).decode()
        assert text == json.dumps(whole, ensure_ascii=False)
    text = b''.join(views.run_list_chunks([(runs[:2], (2.0, 'r1'))])).decode()
    assert decode_cursor(json.loads(text)['next_page_token']) == (2.0, 'r1')
    assert json.loads(text)['runs'] == whole['runs'][:2]
    empty = b''.join(views.run_list_chunks([([], None)])).decode()
    assert empty == json.dumps({'runs': [], 'next_page_token': ''})
    assert not errors(json.loads(text), SPEC['components']['schemas']['RunListResponse'])
