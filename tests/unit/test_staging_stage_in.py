"""StageIn as a plain class: the real local file system under tmp_path, the
test specialisation's steps, and the file exchange under tmp_path."""

import json
import os
from pathlib import Path

import pytest

from cerise_actors.cwl.steps import load_step_catalogue
from cerise_actors.errors import InvalidInput, InvalidWorkflow, StagingAborted, StopReason
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.stage_in import StageIn

from ..fakes import FaultyFileSystem
from ..helpers import TEST_API_DIR
from ..workflows import SECONDARY, SLEEP_WITH_RESOURCES, UNKNOWN_STEP, WC


class World:
    def __init__(self, root: Path):
        self.fs = FaultyFileSystem()
        self.layout = ResourceLayout(str(root / 'resource'))
        self.exchange = Exchange(root / 'files', (root / 'files').as_uri())
        self.exchange.ensure_layout()
        catalogue = load_step_catalogue({'test': TEST_API_DIR / 'test'})
        self.stage_in = StageIn(self.fs, self.layout, self.exchange, catalogue)
        self.stop = lambda: None  # what should_stop answers

    def put(self, relpath, content='', mode=None) -> str:
        path = self.exchange.service_dir / 'input' / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if mode is not None:
            path.chmod(mode)
        return f'{self.exchange.client_url}/input/{relpath}'

    def should_stop(self):
        return self.stop()

    def run(self, workflow=WC, inputs=None, input_json=None, job_id='j1'):
        url = self.put('wf.cwl', workflow)
        text = input_json if input_json is not None else json.dumps(inputs or {})
        return self.stage_in.run(job_id, url, text, self.should_stop)


@pytest.fixture
def w(tmp_path):
    return World(tmp_path)


def _file(url):
    return {'class': 'File', 'location': url}


def _dir(url):
    return {'class': 'Directory', 'location': url}


def test_files_and_folders_are_copied_into_the_jobs_work_dir(w):
    inputs = {
        'file': _file(w.put('hello.txt', 'hello\n')),
        'tree': _dir(w.put('tree/sub/deep.sh', '#!/bin/sh\n', 0o750).rsplit('/sub/', 1)[0]),
    }
    w.put('tree/top.txt', 'top')
    result = w.run(WC, inputs)
    paths = w.layout.job('j1')
    work = Path(paths.work)
    assert (work / 'input/1/hello.txt').read_text() == 'hello\n'
    assert (work / 'input/2/tree/top.txt').read_text() == 'top'
    deep = work / 'input/2/tree/sub/deep.sh'
    assert deep.read_text() == '#!/bin/sh\n' and deep.stat().st_mode & 0o777 == 0o750
    assert not Path(paths.tmp).exists()  # cwltool makes it: a folder fewer per job
    assert (result.files, result.bytes_sent, result.remote_dir) == (2, 19, paths.dir)
    assert result.steps == ('test/wc.cwl',) and result.workflow_content == WC.encode()
    assert json.loads(result.staged_input) == json.loads(Path(paths.input).read_text())
    assert json.loads(result.staged_input)['tree']['location'] == f'file://{work}/input/2/tree'
    assert result.summary == (
        'Staged in: workflow with steps test/wc.cwl; 2 input file(s), 19 bytes sent.'
    )
    run = json.loads(Path(paths.workflow).read_text())['steps']['s']['run']
    assert run == f'file://{w.layout.api_dir}/test/steps/test/wc.cwl'


def test_staging_again_sends_only_what_is_not_there_yet(w):
    inputs = {'file': _file(w.put('a.txt', 'aaa')), 'tree': _dir(w.put('t/b.txt', 'bb')[:-6])}
    assert w.run(WC, inputs).bytes_sent == 5
    w.put('t/c.txt', 'c')
    again = w.run(WC, inputs)
    assert (again.files, again.bytes_sent) == (2, 1)


def test_resources_of_the_workflow_are_reported(w):
    result = w.run(SLEEP_WITH_RESOURCES, {'seconds': 1})
    assert (result.cores, result.time_limit, result.files) == (2, 600, 0)


def test_a_refused_workflow_touches_nothing(w):
    with pytest.raises(InvalidWorkflow):
        w.run(UNKNOWN_STEP)
    assert w.fs.calls == []


@pytest.mark.parametrize(
    'input_json,problem',
    [
        ('{"file": ', 'the input is not valid JSON'),
        ('[1, 2]', 'must be a JSON object'),
        (json.dumps({'file': _file('/etc/passwd')}), "input 'file': file:///etc/passwd: outside"),
        (json.dumps({'file': _file('gopher://x/y')}), "input 'file': gopher://x/y: not a location"),
    ],
)
def test_bad_inputs_are_refused_before_anything_is_copied(w, input_json, problem):
    with pytest.raises(InvalidInput, match=problem):
        w.run(WC, input_json=input_json)
    assert not Path(w.layout.job('j1').dir).exists()


def test_a_missing_input_names_the_input(w):
    inputs = {'file': _file(f'{w.exchange.client_url}/input/gone.txt')}
    with pytest.raises(InvalidInput, match=r"^input 'file': file://.*/gone.txt does not exist$"):
        w.run(WC, inputs)


def test_a_link_out_of_an_input_folder_is_refused(w):
    url = w.put('tree/fine.txt', 'fine')[: -len('/fine.txt')]
    os.symlink('/etc/passwd', w.exchange.service_dir / 'input' / 'tree' / 'passwd')
    with pytest.raises(
        InvalidInput, match=r"^input 'tree': .*/tree/passwd is a symbolic link; a Directory input"
    ):
        w.run(WC, {'tree': _dir(url)})
    assert not (Path(w.layout.job('j1').work) / 'input/1/tree/passwd').exists()


@pytest.mark.parametrize('target', ['inside', '/etc'])
def test_a_link_to_a_folder_in_an_input_folder_is_refused_wherever_it_leads(w, target):
    """Links are never followed in the exchange, not even to a folder next to them."""
    url = w.put('tree/fine.txt', 'fine')[: -len('/fine.txt')]
    w.put('inside/x.txt', 'x')
    link = w.exchange.service_dir / 'input' / 'tree' / 'sub'
    os.symlink(target if target == '/etc' else '../inside', link)
    with pytest.raises(InvalidInput, match=r"^input 'tree': .*/tree/sub is a symbolic link"):
        w.run(WC, {'tree': _dir(url)})
    assert not (Path(w.layout.job('j1').work) / 'input/1/tree/sub').exists()


def test_a_folder_input_reached_through_a_link_is_refused(w):
    w.put('real/secret.txt', 'nope')
    os.symlink('real', w.exchange.service_dir / 'input' / 'alias')
    url = f'{w.exchange.client_url}/input/alias'
    with pytest.raises(InvalidInput, match=r"^input 'tree': .*alias: outside the file exchange"):
        w.run(WC, {'tree': _dir(url)})


def test_an_upload_still_being_written_in_a_folder_input_is_not_staged(w):
    """/files writes an upload under a hidden name and renames it when whole
    (web/files_uploads.py): a folder staged meanwhile leaves it out."""
    url = w.put('tree/done.txt', 'done')[: -len('/done.txt')]
    w.put('tree/.cerise-upload-1234abcd', 'half')
    w.run(WC, {'tree': _dir(url)})
    staged = sorted(p.name for p in (Path(w.layout.job('j1').work) / 'input/1/tree').iterdir())
    assert staged == ['done.txt']


def test_a_folder_input_must_be_a_folder(w):
    with pytest.raises(InvalidInput, match="^input 'tree': .* is not an existing folder$"):
        w.run(WC, {'tree': _dir(w.put('plain.txt', 'x'))})


@pytest.mark.parametrize('reason', list(StopReason))
def test_a_stop_request_aborts_between_files(w, reason):
    work = Path(w.layout.job('j1').work)
    w.stop = lambda: reason if (work / 'input/1/a.txt').exists() else None
    inputs = {'a': _file(w.put('a.txt', 'a')), 'b': _file(w.put('b.txt', 'b'))}
    with pytest.raises(StagingAborted) as info:
        w.run(WC, inputs)
    assert info.value.reason is reason
    assert (work / 'input/1/a.txt').exists() and not (work / 'input/2/b.txt').exists()
    assert not Path(w.layout.job('j1').workflow).exists()


# --- what the workflow itself names: imports, File defaults, secondary files ----
def wc_importing(where):
    """WC with its inputs in another document."""
    return WC.replace('inputs: {file: File}', f'inputs:\n  $import: {where}')


def wc_with_default(where):
    """WC whose input has a File default at `where`."""
    default = f'{{type: File, default: {{class: File, location: "{where}"}}}}'
    return WC.replace('inputs: {file: File}', f'inputs:\n  file: {default}')


def test_imports_are_read_from_the_exchange_only(w):
    w.put('wc-inputs.yml', 'file: File\n')
    result = w.run(wc_importing('wc-inputs.yml'), {'file': _file(w.put('x.txt', 'x'))})
    assert json.loads(Path(w.layout.job('j1').workflow).read_text())['inputs'] == {'file': 'File'}
    assert result.files == 1
    with pytest.raises(InvalidWorkflow, match='may import only files in the file exchange area'):
        w.run(wc_importing('http://example.org/wc-inputs.yml'), job_id='j2')


def test_file_defaults_are_copied_from_next_to_the_workflow(w):
    w.put('default.txt', 'dflt')
    result = w.run(wc_with_default('default.txt'), {})
    work = Path(w.layout.job('j1').work)
    assert (work / 'defaults/1/default.txt').read_text() == 'dflt'
    default = json.loads(Path(w.layout.job('j1').workflow).read_text())['inputs']['file']
    assert default['default']['location'] == f'file://{work}/defaults/1/default.txt'
    assert (result.files, result.bytes_sent) == (1, 4)


@pytest.mark.parametrize(
    'where,problem',
    [
        ('http://example.org/d.txt', 'is not in the file exchange area'),
        ('file:///etc/passwd', 'outside the file exchange area'),
    ],
)
def test_file_defaults_from_elsewhere_are_refused(w, where, problem):
    with pytest.raises(InvalidWorkflow, match=f'^the default at .*{problem}'):
        w.run(wc_with_default(where), {})
    assert not Path(w.layout.job('j1').dir).exists()


def test_secondary_files_the_workflow_asks_for_are_staged_when_they_exist(w):
    w.put('d.txt.2nd', 'second')
    result = w.run(SECONDARY, {'file': _file(w.put('d.txt', 'd'))})
    staged = json.loads(result.staged_input)['file']
    work = Path(w.layout.job('j1').work)
    assert staged['secondaryFiles'] == [
        {'class': 'File', 'location': f'file://{work}/input/1/d.txt.2nd'}
    ]
    assert (work / 'input/1/d.txt.2nd').read_text() == 'second'
    lonely = w.run(SECONDARY, {'file': _file(w.put('e.txt', 'e'))}, job_id='j2')
    assert 'secondaryFiles' not in json.loads(lonely.staged_input)['file']
    assert lonely.files == 1, 'a missing one is left for the runner to report'


def test_no_secondary_file_is_looked_for_outside_the_exchange(w):
    with pytest.raises(InvalidInput, match="^input 'file': file:///etc/hosts: outside"):
        w.run(SECONDARY, {'file': _file('file:///etc/hosts')})
    assert not any('/etc/' in path for _, path in w.fs.calls)
