"""StageIn sends a job's small files together and streams the large ones
(issue 21, item 3): what reaches the file system, with the real local file
system underneath."""

import json
from pathlib import Path

import pytest

from cerise_actors.cwl.steps import load_step_catalogue
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.staging import stage_in
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.stage_in import StageIn

from ..helpers import TEST_API_DIR
from ..workflows import FILE_ARRAY


class Recording(LocalFileSystem):
    """Says which files went in which put_small_files call, and which were streamed."""

    def __init__(self):
        self.batches = []
        self.streamed = []

    def put_small_files(self, folders, files, check=None):
        self.batches.append([Path(small.path).name for small in files])
        return super().put_small_files(folders, files)

    def put_stream(self, stream, path, mode=None):
        if not self.batches or Path(path).name not in self.batches[-1]:
            self.streamed.append(Path(path).name)
        return super().put_stream(stream, path, mode)


@pytest.fixture
def staged(tmp_path):
    fs = Recording()
    layout = ResourceLayout(str(tmp_path / 'resource'))
    exchange = Exchange(tmp_path / 'files', (tmp_path / 'files').as_uri())
    exchange.ensure_layout()
    catalogue = load_step_catalogue({'test': TEST_API_DIR / 'test'})

    def run(sizes):
        files = []
        for n, size in enumerate(sizes):
            path = exchange.service_dir / 'input' / f'f{n}.txt'
            path.write_bytes(b'%d' % (n % 10) * size)
            files.append({'class': 'File', 'location': path.as_uri()})
        (exchange.service_dir / 'input' / 'wf.cwl').write_text(FILE_ARRAY)
        url = (exchange.service_dir / 'input' / 'wf.cwl').as_uri()
        job_input = json.dumps({'files': files})
        result = StageIn(fs, layout, exchange, catalogue).run('j1', url, job_input, lambda: None)
        return result, Path(layout.job('j1').work)

    return fs, run


def test_small_files_go_in_one_call_with_the_workflow_and_large_ones_are_streamed(
    staged, monkeypatch
):
    monkeypatch.setattr(stage_in, 'SMALL_FILE', 100)
    fs, run = staged
    result, work = run([10, 500, 20])
    assert fs.batches == [['f0.txt', 'f2.txt', 'workflow.cwl', 'input.json']]
    assert fs.streamed == ['f1.txt']
    assert result.bytes_sent == 530 and result.files == 3
    assert (work / 'input/2/f1.txt').read_bytes() == b'1' * 500
    assert (work / 'input/3/f2.txt').read_bytes() == b'2' * 20


def test_small_files_are_sent_in_parts_of_a_bounded_size(staged, monkeypatch):
    monkeypatch.setattr(stage_in, '_BATCH_BYTES', 25)
    fs, run = staged
    result, work = run([10, 10, 10, 10])
    assert fs.batches == [['f0.txt', 'f1.txt'], ['f2.txt', 'f3.txt', 'workflow.cwl', 'input.json']]
    assert result.bytes_sent == 40
    assert sorted(p.name for p in work.glob('input/*/*')) == [f'f{n}.txt' for n in range(4)]
