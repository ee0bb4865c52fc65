"""An SSH resource works on first start without a manual wheelhouse step (issue 20, item 3).

The service starts with an empty wheelhouse it may not write (as /opt in the
image): the test bed's bare user (python3 and bash only) needs the runner,
so the service builds the wheels of that Python from the package index into
its run folder, logs how long that took, deploys the runner from them, and
the first job runs to Success. Needs the test bed and a reachable index.
"""

import logging
import socket

import pytest

from .. import workflows as wf
from .conftest import RemoteService

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)


def test_a_first_start_builds_the_missing_wheels_and_the_first_job_succeeds(
    testbed, tmp_path, monkeypatch, caplog
):
    blocker = tmp_path / 'not-a-folder'
    blocker.write_text('the wheelhouse below cannot be made: like /opt in the image\n')
    monkeypatch.setenv('CERISE_WHEELHOUSE', str(blocker / 'wheelhouse'))
    root = tmp_path / 'service'
    root.mkdir()
    service = RemoteService(testbed, 'none', root, user=testbed.bare_user, cwl_runner=None)
    try:
        with caplog.at_level(logging.INFO, logger='cerise_actors.staging.wheelhouse'):
            service.start()
        [line] = [r.getMessage() for r in caplog.records if 'on first need' in r.getMessage()]
        print('\n' + line)
        spare = root / 'wheelhouse'  # the run folder: the database's folder
        assert line.startswith('built the CWL runner wheels for Python 3.')
        assert f'{blocker / "wheelhouse"} is not writable' in line
        [folder] = spare.iterdir()
        assert any(folder.glob('cwltool-*.whl')) and any(folder.glob('mini_racer-*.whl'))

        client = service.client
        done = client.wait_final(client.submit(wf.HOSTNAME)['id'], timeout=300)
        assert done['state'] == 'Success', client.log(done['id'])[-2500:]
        assert client.output_text(done, 'output').strip() == socket.gethostname()
    finally:
        service.cleanup()
