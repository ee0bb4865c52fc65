"""The client commands' own logic: arguments, inputs files, exit codes (no real service)."""

import argparse
import json

import pytest

from cerise_actors.client.cli_commands import _service, add_client_commands, run_client_command
from cerise_actors.client.exit_codes import EXIT_SERVICE, EXIT_USAGE
from cerise_actors.client.input_files import UsageError, read_inputs, resolve_local_files
from cerise_actors.client.local import free_port

from .test_client_http import job_json, stub  # noqa: F401  (fixture)


def parse(*argv):
    parser = argparse.ArgumentParser(prog='cerise-actors')
    add_client_commands(parser.add_subparsers(dest='command', required=True))
    return parser.parse_args([str(arg) for arg in argv])


def test_inputs_files_in_yaml_and_json(tmp_path):
    (tmp_path / 'in.yml').write_text('n: 3\nname: world\n')
    (tmp_path / 'in.json').write_text('{"n": 3}')
    (tmp_path / 'empty.yml').write_text('')
    assert read_inputs(str(tmp_path / 'in.yml')) == ({'n': 3, 'name': 'world'}, tmp_path)
    assert read_inputs(str(tmp_path / 'in.json'))[0] == {'n': 3}
    assert read_inputs(str(tmp_path / 'empty.yml'))[0] == {}
    (tmp_path / 'bad.json').write_text('{"n": ')
    with pytest.raises(UsageError, match='cannot read the inputs file'):
        read_inputs(str(tmp_path / 'bad.json'))
    with pytest.raises(UsageError, match='inputs file not found'):
        read_inputs(str(tmp_path / 'none.yml'))


def test_file_locations_are_resolved_like_cwltool(tmp_path):
    (tmp_path / 'a.txt').write_text('a')
    (tmp_path / 'a.txt.idx').write_text('i')
    missing = []
    value = resolve_local_files(
        {
            'one': {
                'class': 'File',
                'location': 'a.txt',
                'secondaryFiles': [{'class': 'File', 'path': 'a.txt.idx'}],
            },
            'abs': {'class': 'File', 'location': (tmp_path / 'a.txt').as_uri()},
            'web': {'class': 'File', 'location': 'https://example.org/x'},
            'lit': {'class': 'File', 'contents': 'hi'},
            'many': [{'class': 'File', 'location': 'gone.txt'}],
            'dir': {'class': 'Directory', 'location': 'a.txt'},
            'text': 'a.txt',
        },
        tmp_path,
        'in',
        missing,
    )
    assert value['one']['location'] == tmp_path / 'a.txt'
    assert value['one']['secondaryFiles'] == [{'class': 'File', 'location': tmp_path / 'a.txt.idx'}]
    assert value['abs']['location'] == tmp_path / 'a.txt'
    assert value['web']['location'] == 'https://example.org/x'
    assert value['lit'] == {'class': 'File', 'contents': 'hi'}
    assert value['text'] == 'a.txt'
    assert missing == [(tmp_path / 'gone.txt', 'in'), (tmp_path / 'a.txt', 'in')]


def test_service_from_the_environment_and_exit_codes(monkeypatch, capsys, tmp_path):
    url = f'http://127.0.0.1:{free_port()}'
    monkeypatch.setenv('CERISE_SERVICE_URL', url)
    assert run_client_command(parse('list')) == EXIT_SERVICE
    assert f'cannot reach {url}: connection refused' in capsys.readouterr().err
    assert run_client_command(parse('list', '--service', 'nonsense')) == EXIT_USAGE
    (tmp_path / 'wf.cwl').write_text('x')
    (tmp_path / 'in.yml').write_text('f: {class: File, location: nope.txt}\n')
    assert (
        run_client_command(parse('submit', tmp_path / 'wf.cwl', tmp_path / 'in.yml')) == EXIT_USAGE
    ), 'the missing file is found before the service is contacted'
    assert str(tmp_path / 'nope.txt') in capsys.readouterr().err


def test_service_and_file_area_urls(monkeypatch):
    monkeypatch.delenv('CERISE_SERVICE_URL', raising=False)
    monkeypatch.delenv('CERISE_FILES_URL', raising=False)
    default = _service(parse('list'))
    assert (default.url, default.files.url) == (
        'http://127.0.0.1:29593',
        'http://127.0.0.1:29593/files',
    )
    monkeypatch.setenv('CERISE_SERVICE_URL', 'http://svc:1/')
    monkeypatch.setenv('CERISE_FILES_URL', 'https://dav.example.org/cerise')
    from_env = _service(parse('list'))
    assert (from_env.url, from_env.files.url) == ('http://svc:1', 'https://dav.example.org/cerise')
    given = _service(parse('list', '--service', 'http://other:2', '--files', 'http://f/x'))
    assert (given.url, given.files.url) == ('http://other:2', 'http://f/x')


def test_status_and_list_output(stub, capsys):
    stub.on('GET', '/jobs', (200, [job_json(), job_json('j2', 'Success', 'other')]))
    stub.on('GET', '/jobs/j2', (200, job_json('j2', 'Success', 'other')))
    assert run_client_command(parse('list', '--service', stub.url)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ['j1', 'Waiting', 'n'] and lines[1].split()[1] == 'Success'
    assert run_client_command(parse('status', 'j2', '--service', stub.url)) == 0
    assert capsys.readouterr().out.split() == ['j2', 'Success', 'other']
    assert run_client_command(parse('status', 'j2', '--json', '--service', stub.url)) == 0
    assert json.loads(capsys.readouterr().out)['state'] == 'Success'
