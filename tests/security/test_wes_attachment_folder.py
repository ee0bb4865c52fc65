"""WES attachments are written, and removed, only inside the exchange area (issue 18).

A user with a shell on the exchange folder ran `mv files/input/wes
files/input/wes.bak; ln -s /tmp/victimdir files/input/wes`; the next
`POST /runs` with an attachment answered 200 and wrote
`/tmp/victimdir/<run id>/wf.cwl`: the run's folder was built as a path and
its root opened following links, and a refused run's folder was removed
with `shutil.rmtree` through the link. Now the folder is made, written and
removed through the exchange area's ConfinedRoot: the link is refused (400)
and nothing outside changes. Attachment names holding control characters
(`x\\x01y`), and /files names holding them, are refused too. Real HTTP to a
real service on loopback.
"""

import json
import os
import urllib.parse

import pytest

from .. import workflows as wf
from ..e2e.test_wes_api import multipart
from ..helpers import http
from .test_wes_post import _post, wes_service  # noqa: F401 - a fixture

RUNS = '/ga4gh/wes/v1/runs'


@pytest.fixture
def wes_linked(wes_service, tmp_path):  # noqa: F811 - the imported fixture
    """The service with `input/wes` swapped for a link to a victim's folder."""
    victim = tmp_path / 'victimdir'
    victim.mkdir()
    (victim / 'keep.txt').write_text("the victim's\n")
    wes = wes_service.exchange / 'input' / 'wes'
    wes.mkdir(parents=True, exist_ok=True)
    moved = wes.with_name('wes.bak')
    wes.rename(moved)
    wes.symlink_to(victim)
    try:
        yield wes_service, victim
    finally:
        wes.unlink()
        moved.rename(wes)


def _victim_untouched(victim):
    assert sorted(os.listdir(victim)) == ['keep.txt']
    assert (victim / 'keep.txt').read_text() == "the victim's\n"


def test_an_attachment_is_not_written_through_a_linked_wes_folder(wes_linked):
    service, victim = wes_linked
    status, answer = _post(service, 'wf.cwl', [('wf.cwl', wf.ECHO.encode())], {'text': 'x'})
    assert status == 400, answer
    assert 'symbolic link' in answer['msg'], answer
    _victim_untouched(victim)
    assert http('GET', f'{service.base_url}/jobs')[1] == []


def test_a_refused_run_removes_nothing_through_the_link(wes_linked):
    """A run refused after its attachments (a bad workflow_type): its folder
    is removed through descriptors, never through the link."""
    service, victim = wes_linked
    body, headers = multipart(
        {'workflow_url': 'wf.cwl', 'workflow_type': 'WDL', 'workflow_type_version': '1.0'}.items(),
        [('wf.cwl', wf.ECHO.encode())],
    )
    status, answer, _ = http('POST', service.base_url + RUNS, raw=body, headers=headers)
    assert status == 400, answer
    _victim_untouched(victim)


@pytest.mark.parametrize('name', ['x\x01y.cwl', 'tools/a\x1bb.cwl', 'a\x7f.cwl', 'a\x85b.cwl'])
def test_an_attachment_name_with_a_control_character_is_400(wes_service, name):  # noqa: F811
    status, answer = _post(wes_service, 'wf.cwl', [(name, wf.ECHO.encode())])
    assert status == 400, answer
    assert 'control character' in answer['msg'], answer
    wes = wes_service.exchange / 'input' / 'wes'
    assert not wes.exists() or not any(name.split('/')[-1] in str(path) for path in wes.rglob('*'))


@pytest.mark.parametrize('name', ['a%01b.txt', 'a%0Ab.txt', 'a%7Fb.txt', 'a%C2%85b.txt'])
def test_a_files_name_with_a_control_character_is_400(wes_service, name):  # noqa: F811
    url = f'{wes_service.base_url}/files/input/ctl/{name}'
    status, answer, _ = http('PUT', url, raw=b'data')
    assert status == 400, answer
    assert 'control character' in json.dumps(answer), answer
    decoded = urllib.parse.unquote(name)
    assert not (wes_service.exchange / 'input' / 'ctl' / decoded).exists()
