"""GET /jobs is written as text; it must say exactly what job_json says."""

import json

from cerise_actors.jobs.states import JobState
from cerise_actors.store.job_store import JobStore
from cerise_actors.web.backend import job_json, jobs_json_text


def test_list_text_equals_the_json_of_each_job(tmp_path):
    store = JobStore(tmp_path / 'jobs.db')
    odd = store.create(
        'quote " backslash \\ newline \n unicode é ☃',
        'file:///a "b".cwl',
        json.dumps({'x': [1, 2.5, None, 'ü\u2028'], 'y': {'z': True}}),
    )
    plain = store.create('', 'http://h/w.cwl', '{}')
    store.transition(plain.id, JobState.SUBMITTED, JobState.STAGING_IN)
    store.update(plain.id, output_json=json.dumps({'out': {'class': 'File'}}))
    base = 'http://host:1/pre"fix'
    text = jobs_json_text(store.list(), base)
    expected = [job_json(store.get(job_id), base) for job_id in (odd.id, plain.id)]
    assert json.loads(text) == expected
    assert expected[1]['state'] == 'Waiting' and expected[1]['output']['out']
    assert jobs_json_text([], base) == '[]'
    store.close()
