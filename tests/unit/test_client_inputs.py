"""How the client turns Python values into a CWL input object (no network: a fake uploader)."""

import io
from pathlib import Path

import pytest

from cerise_actors.client import InputError, InputFileMissing
from cerise_actors.client.inputs import Layout, Uploader, check_input, convert_input, safe_name

BASE = 'http://svc/files/input/job-1234abcd'


class FakeUploads(Uploader):
    def __init__(self):
        self.files = {}
        self.folders = []

    def put(self, relative, source):
        if isinstance(source, Path):
            data = source.read_bytes()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            data = source.read()
            data = data.encode() if isinstance(data, str) else data
        self.files[relative] = data
        return self.url_of(relative)

    def url_of(self, relative):
        return f'{BASE}/{relative}'

    def make_folders(self, relative):
        self.folders.append(relative)


@pytest.fixture
def uploads():
    return FakeUploads()


def convert(name, value, uploads, layout=None, **kwargs):
    return convert_input(name, value, uploads, layout or Layout(), **kwargs)


def test_paths_strings_bytes_and_file_objects_become_files(tmp_path, uploads):
    (tmp_path / 'a.txt').write_text('A')
    named = open(tmp_path / 'a.txt', 'rb')
    with named:
        value = convert(
            'x',
            [
                tmp_path / 'a.txt',
                str(tmp_path / 'a.txt'),
                b'B',
                io.BytesIO(b'C'),
                named,
                'https://example.org/d.txt',
            ],
            uploads,
        )
    assert value == [
        {'class': 'File', 'location': f'{BASE}/x/a.txt'},
        {'class': 'File', 'location': f'{BASE}/x/2/a.txt'},  # same name, own folder
        {'class': 'File', 'location': f'{BASE}/x/x'},  # bytes: named after the input
        {'class': 'File', 'location': f'{BASE}/x/2/x'},
        {'class': 'File', 'location': f'{BASE}/x/3/a.txt'},  # file object: its name
        {'class': 'File', 'location': 'https://example.org/d.txt'},
    ]
    assert uploads.files == {
        'x/a.txt': b'A',
        'x/2/a.txt': b'A',
        'x/x': b'B',
        'x/2/x': b'C',
        'x/3/a.txt': b'A',
    }


def test_file_dicts_keep_their_fields_and_upload_secondary_files(tmp_path, uploads):
    (tmp_path / 'ref.fa').write_text('>seq')
    (tmp_path / 'ref.fa.fai').write_text('idx')
    value = convert(
        'ref',
        {
            'class': 'File',
            'path': str(tmp_path / 'ref.fa'),
            'format': 'edam:format_1929',
            'secondaryFiles': [
                tmp_path / 'ref.fa.fai',
                {'class': 'File', 'location': b'dict', 'basename': 'ref.dict'},
            ],
        },
        uploads,
    )
    assert value == {
        'class': 'File',
        'location': f'{BASE}/ref/ref.fa',
        'format': 'edam:format_1929',
        'secondaryFiles': [
            {'class': 'File', 'location': f'{BASE}/ref/ref.fa.fai'},
            {'class': 'File', 'location': f'{BASE}/ref/ref.dict', 'basename': 'ref.dict'},
        ],
    }


def test_records_keep_strings_and_plain_values_pass_through(tmp_path, uploads):
    value = convert('r', {'label': 'a.txt', 'n': 3, 'data': b'xyz', 'flags': [True, None]}, uploads)
    assert value == {
        'label': 'a.txt',
        'n': 3,
        'flags': [True, None],
        'data': {'class': 'File', 'location': f'{BASE}/r/r'},
    }
    assert convert('n', 1.5, uploads) == 1.5
    assert convert('s', 'text', uploads, strings_as_paths=False) == 'text'


def test_folders_become_directories(tmp_path, uploads):
    folder = tmp_path / 'data'
    (folder / 'sub').mkdir(parents=True)
    (folder / 'one.txt').write_text('1')
    (folder / 'sub' / 'two.txt').write_text('2')
    (tmp_path / 'empty').mkdir()
    assert convert('d', folder, uploads) == {'class': 'Directory', 'location': f'{BASE}/d/data'}
    assert uploads.files == {'d/data/one.txt': b'1', 'd/data/sub/two.txt': b'2'}
    assert convert('e', {'class': 'Directory', 'location': tmp_path / 'empty'}, uploads) == {
        'class': 'Directory',
        'location': f'{BASE}/e/empty',
    }
    assert uploads.folders == ['e/empty']


def test_every_file_is_checked_before_anything_is_uploaded(tmp_path, uploads):
    (tmp_path / 'here.txt').write_text('x')
    with pytest.raises(InputFileMissing) as caught:
        convert('files', [tmp_path / 'here.txt', tmp_path / 'gone.txt'], uploads)
    assert str(caught.value) == f"file not found: {tmp_path / 'gone.txt'} (input 'files')"
    assert isinstance(caught.value, FileNotFoundError)
    assert uploads.files == {}
    with pytest.raises(InputFileMissing):
        check_input(
            'f', {'class': 'File', 'location': str(tmp_path / 'gone.txt'), 'secondaryFiles': []}
        )


def test_values_that_cannot_be_inputs(tmp_path, uploads):
    with pytest.raises(InputError, match='a folder'):
        convert('f', {'class': 'File', 'location': tmp_path}, uploads)
    with pytest.raises(InputError, match='needs a name'):
        convert('f', {'class': 'File', 'location': b'x', 'secondaryFiles': [b'y']}, uploads)
    with pytest.raises(InputError, match='needs a name'):
        convert(
            'f',
            {
                'class': 'File',
                'location': b'x',
                'secondaryFiles': [{'class': 'File', 'location': b'y'}],
            },
            uploads,
        )
    with pytest.raises(InputError, match='empty string'):
        convert('f', '', uploads)
    with pytest.raises(InputError, match='cannot send a set'):
        convert('f', {1, 2}, uploads)
    with pytest.raises(InputError, match='file name'):
        convert('f', {'class': 'File', 'location': b'x', 'basename': '../x'}, uploads)


def test_layout_never_gives_a_name_twice():
    layout = Layout()
    assert layout.reserve('', 'workflow.cwl') == 'workflow.cwl'
    assert layout.reserve('workflow.cwl', 'a') == 'workflow.cwl_2/a'  # a file has that name
    assert layout.reserve('in', 'a') == 'in/a'
    assert layout.reserve('in', 'a') == 'in/2/a'
    assert layout.reserve('in', '2') == 'in/2/2'  # 'in/2' is a folder already


def test_safe_names():
    assert safe_name('my job/1') == 'my_job_1'
    assert safe_name('..', 'job') == 'job'
    assert len(safe_name('x' * 200)) == 64
