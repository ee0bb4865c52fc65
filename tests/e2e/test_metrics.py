"""/metrics end to end: a job run through the service shows up in what a
Prometheus server would scrape, read with prometheus_client's own parser.

The service runs with a token, as in production: /metrics needs it, and a
request without it is refused and counted as a refusal.
"""

import json

from prometheus_client.parser import text_string_to_metric_families

from cerise_actors.app import running_service
from cerise_actors.auth.users import add_user
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..helpers import FINAL, TEST_API_DIR, http, wait_for
from ..service_setup import api_config_for_tests, service_config_dict

WES_RUNS = '/ga4gh/wes/v1/runs'


def scrape(base_url, token) -> dict:
    """(sample name, sorted labels) -> value of one scrape."""
    status, text, headers = http(
        'GET', f'{base_url}/metrics', headers={'Authorization': f'Bearer {token}'}
    )
    assert status == 200, text
    assert headers['Content-Type'].startswith('text/plain; version=')
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_job_run_through_the_service_is_in_its_metrics(tmp_path):
    config = service_config_from_dict(service_config_dict(tmp_path, auth='token'), env={})
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(tmp_path)) as s:
        token = (tmp_path / 'token').read_text().strip()
        auth = {'Authorization': f'Bearer {token}'}
        base = s.base_url

        status, _, headers = http('GET', f'{base}/metrics')
        assert status == 401 and 'Bearer' in headers['WWW-Authenticate']
        assert http('GET', f'{base}/ready')[:2] == (200, {'status': 'ready'}), 'public'

        data = config.exchange_service_dir / 'input' / 'm'
        data.mkdir(parents=True)
        (data / 'wf.cwl').write_text(wf.WC)
        (data / 'words.txt').write_text('one two\n')
        url = f'{config.exchange_client_url}/input/m'
        body = {
            'workflow': f'{url}/wf.cwl',
            'input': {'file': {'class': 'File', 'location': f'{url}/words.txt'}},
        }
        status, job, _ = http('POST', f'{base}/jobs', body, headers=auth)
        assert status == 201, job
        done = wait_for(
            lambda: (
                (j := http('GET', f'{base}/jobs/{job["id"]}', headers=auth)[1])['state'] in FINAL
                and j
            ),
            message='the job to finish',
        )
        assert done['state'] == 'Success', done
        assert http('POST', f'{base}/jobs', {'name': 'no workflow'}, headers=auth)[0] == 400
        form = {**auth, 'Content-Type': 'application/x-www-form-urlencoded'}
        assert http('POST', f'{base}{WES_RUNS}', raw=b'workflow_url=', headers=form)[0] == 400

        got = scrape(base, token)
        assert got[('cerise_jobs', (('state', 'Success'),))] == 1
        assert got[('cerise_jobs', (('state', 'Running'),))] == 0
        assert got[('cerise_job_store_up', ())] == 1
        assert got[('cerise_submissions_total', (('way', 'rest'),))] == 1
        assert got[('cerise_submissions_total', (('way', 'wes'),))] == 0
        assert got[('cerise_refusals_total', (('reason', 'bad_request'),))] == 2
        assert got[('cerise_refusals_total', (('reason', 'unauthorized'),))] >= 1
        assert got[('cerise_stage_in_seconds_count', ())] == 1
        assert got[('cerise_stage_in_seconds_sum', ())] > 0
        assert got[('cerise_stage_out_seconds_count', ())] == 1
        assert got[('cerise_run_seconds_count', ())] == 1
        assert got[('cerise_poll_round_seconds_count', ())] >= 1
        assert got[('cerise_deployments_total', (('what', 'project'),))] >= 1


def test_with_a_users_file_only_the_metrics_user_reads_them(tmp_path):
    """The metrics count every user's jobs, so alice may not read them: she
    would learn of bob's. The scraper gets a user of its own, `metrics`."""
    users = tmp_path / 'users'
    tokens = {name: add_user(users, name) for name in ('alice', 'metrics')}
    data = service_config_dict(tmp_path, auth='token', users=users)
    config = service_config_from_dict(data, env={})
    with running_service(config, TEST_API_DIR, api_config=api_config_for_tests(tmp_path)) as s:
        alice = {'Authorization': f'Bearer {tokens["alice"]}'}
        status, body, _ = http('GET', f'{s.base_url}/metrics', headers=alice)
        assert status == 403 and 'add-user metrics' in body['description'], body
        assert 'cerise_jobs' not in json.dumps(body)
        got = scrape(s.base_url, tokens['metrics'])
        assert got[('cerise_job_store_up', ())] == 1
