"""Short job ids: status, log, wait, cancel and delete take a unique start of an id.

Through the real service and the command as a user runs it. The CLI finds a
prefix in GET /jobs; a prefix that several ids share is an error naming them.
"""

import collections
import json

import pytest

from cerise_actors.client import AmbiguousJobId, JobNotFound, Service

from .. import workflows as wf
from ..helpers import TEST_API_DIR
from .test_cli_client import cli
from .test_client import start_service  # noqa: F401  (fixture)


def test_the_commands_take_a_unique_start_of_the_id(start_service, tmp_path):
    running = start_service(TEST_API_DIR)
    (tmp_path / 'echo.cwl').write_text(wf.ECHO)
    (tmp_path / 'inputs.yml').write_text('text: hello world\n')
    env = {'CERISE_SERVICE_URL': running.url}
    code, out, err = cli('submit', tmp_path / 'echo.cwl', tmp_path / 'inputs.yml', env=env)
    assert code == 0, err
    job_id = out.strip()
    others = [job.id for job in Service(running.url).list_jobs() if job.id != job_id]
    length = 1 + max([len(_common_start(job_id, other)) for other in others] or [0])
    short = job_id[: max(length, 6)]

    code, out, err = cli('wait', short, '--output-dir', tmp_path / 'out', env=env)
    assert code == 0, err
    assert (tmp_path / 'out' / 'output.txt').read_text() == 'hello world\n'
    assert json.loads(out)['output']['path'] == str(tmp_path / 'out' / 'output.txt')
    code, out, err = cli('status', short, env=env)
    assert code == 0 and out.split() == [job_id, 'Success', 'echo'], err
    code, out, err = cli('log', short, env=env)
    assert code == 0 and 'Success' in out, err
    code, out, err = cli('cancel', short, env=env)
    assert code == 0 and out.strip() == 'Success', err
    code, _, err = cli('delete', short, env=env)
    assert code == 0 and f'deleted job {job_id}' in err, err
    code, _, err = cli('status', short, env=env)
    assert code == 4 and f'job {short} not found' in err


def test_a_prefix_of_several_ids_is_an_error_that_lists_them(service):
    jobs = [service.client.submit(wf.UNKNOWN_STEP, name=f'j{n}')['id'] for n in range(17)]
    by_first = collections.defaultdict(list)
    for job_id in jobs:  # 17 ids, 16 hex digits: two start alike
        by_first[job_id[0]].append(job_id)
    prefix, sharing = next((k, v) for k, v in by_first.items() if len(v) > 1)

    code, out, err = cli('status', prefix, '--service', service.base_url)
    assert code == 2 and out == '', err
    assert f'job id {prefix} is ambiguous: {len(sharing)} jobs start with it' in err
    assert all(job_id in err for job_id in sharing)
    assert 'give more of the id' in err
    with pytest.raises(AmbiguousJobId) as caught:
        Service(service.base_url).find_job(prefix)
    assert sorted(caught.value.candidates) == sorted(sharing)
    assert Service(service.base_url).find_job(sharing[0][:-4]).id == sharing[0]
    absent = next(c for c in '0123456789abcdef' if c not in by_first) if len(by_first) < 16 else 'x'
    with pytest.raises(JobNotFound):
        Service(service.base_url).find_job(absent)


def _common_start(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
