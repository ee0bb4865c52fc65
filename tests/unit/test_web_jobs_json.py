"""GET /jobs is written as text, a chunk per page; it must say exactly what job_json says."""

import json

from cerise_actors.jobs.states import JobState
from cerise_actors.jobs.views import JobSummary
from cerise_actors.store.job_store import JobStore
from cerise_actors.web.backend import job_json, jobs_json_chunks


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
    text = b''.join(jobs_json_chunks([store.page()[0]], base)).decode()
    expected = [job_json(store.get(job_id), base) for job_id in (odd.id, plain.id)]
    assert json.loads(text) == expected
    assert expected[1]['state'] == 'Waiting' and expected[1]['output']['out']
    store.close()


def test_pages_make_one_array_in_the_text_of_one_dump():
    """However the jobs come in pages, the chunks join into the text that
    json.dumps gives for the whole list (inputs are stored as json.dumps wrote them)."""
    base = 'http://h'
    jobs = [
        JobSummary(f'id-{i}', f'n{i}', 'file:///w.cwl', '{"a": [1, 2]}', 'Waiting', None)
        for i in range(5)
    ]
    jobs[1] = jobs[1]._replace(output_json='{"o": null}')
    expected = json.dumps([_expected(job, base) for job in jobs])
    for pages in ([jobs], [jobs[:1], [], jobs[1:3], jobs[3:]], [[job] for job in jobs]):
        chunks = list(jobs_json_chunks(pages, base))
        assert b''.join(chunks).decode() == expected
        assert len(chunks) == len([page for page in pages if page]) + 1
    assert list(jobs_json_chunks([], base)) == [b'[]']
    assert list(jobs_json_chunks([[], []], base)) == [b'[]']


def _expected(job, base):
    return {
        'id': job.id,
        'name': job.name,
        'workflow': job.workflow_url,
        'input': json.loads(job.input_json),
        'state': 'Waiting',
        'output': json.loads(job.output_json) if job.output_json else {},
        'log': f'{base}/jobs/{job.id}/log',
    }
