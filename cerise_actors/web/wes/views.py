"""The WES 1.1 bodies, from the store's RunRecords and RunSummaries: pure functions.

A job submitted through /jobs is a run too. It has no RunRequest of its own,
so one is made from what it has: its workflow URL and input object,
workflow_type CWL, an empty workflow_type_version (the version is only known
once the workflow has been read), and its name as the tag `name`.

Logs: the service keeps one log per job, `GET /jobs/{id}/log`, and `stdout`
and `stderr` of `run_log` both point there (the runner's own streams stay on
the compute resource); its WARNING and ERROR lines are `system_logs`. Times
are UTC, `%Y-%m-%dT%H:%M:%SZ`: `start_time` when the job was first seen
started on the resource, `end_time` when it reached its final state.
"""

import dataclasses
import json
import time
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ...jobs.states import JobState
from ...jobs.views import RunRecord, RunSummary
from ..paging import Cursor, encode_cursor
from .states import state_counts, wes_state

WES_VERSION = '1.1.0'
_FINAL_VALUES = {state.value for state in JobState if state.is_final}


@dataclasses.dataclass(frozen=True)
class ServiceFacts:
    """What service-info tells that does not change while the service runs."""

    version: str  # cerise-actors'
    engine: str  # the workflow runner's name
    engine_version: str
    runner: str  # a sentence naming runner and version, as job logs give it
    projects: Dict[str, str]  # installed project -> its version
    steps: Tuple[str, ...]  # the installed steps a workflow may run
    cerise_api: str = '0.2.4'  # the Cerise REST API version served at /jobs
    #: how to authenticate, for the `authentication` tag (app/access.py says it)
    authentication: str = 'a token: Authorization: Bearer <token>, or as HTTP Basic password'


def iso(stamp: Optional[float]) -> Optional[str]:
    return None if stamp is None else time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(stamp))


def _times(run: Union[RunRecord, RunSummary]) -> Dict[str, Optional[str]]:
    times: Dict[str, Optional[str]] = {}
    if run.started_at is not None:
        times['start_time'] = iso(run.started_at)
    if run.state in _FINAL_VALUES:
        times['end_time'] = iso(run.updated_at)
    return times


def run_request(run: RunRecord) -> dict:
    if run.wes_request:
        return json.loads(run.wes_request)
    return {
        'workflow_params': json.loads(run.input_json),
        'workflow_type': 'CWL',
        'workflow_type_version': '',
        'tags': _tags(run),
        'workflow_url': run.workflow_url,
    }


def _tags(run: RunRecord) -> Dict[str, str]:
    if run.wes_request:
        return json.loads(run.wes_request).get('tags') or {}
    return {'name': run.name} if run.name else {}


def run_status(run: Union[RunRecord, RunSummary]) -> dict:
    return {'run_id': run.id, 'state': wes_state(run.state)}


def run_summary(run: RunSummary) -> dict:
    if run.tags is not None:  # made through WES: the request's tags
        tags = json.loads(run.tags) or {}
    else:
        tags = {'name': run.name} if run.name else {}
    return {**run_status(run), **_times(run), 'tags': tags}


def run_list_chunks(pages: Iterable[Tuple[List[RunSummary], Optional[Cursor]]]) -> Iterator[bytes]:
    """The RunListResponse of GET /runs, a chunk per page of runs as the
    store hands them over: (runs, cursor) pairs, the last cursor naming the
    next page. The same text as falcon's JSON of the whole answer."""
    opening, token = '{"runs": [', ''
    for runs, cursor in pages:
        token = encode_cursor(cursor) if cursor else ''
        if runs:
            texts = (json.dumps(run_summary(run), ensure_ascii=False) for run in runs)
            yield (opening + ', '.join(texts)).encode()
            opening = ', '
    closing = f'], "next_page_token": {json.dumps(token)}}}'
    yield (closing if opening == ', ' else opening + closing).encode()


def run_log(
    run: RunRecord, base_url: str, wes_url: str, log_lines: Sequence[Tuple[float, str, str]]
) -> dict:
    """The RunLog of GET /runs/{id}; `log_lines` are the job log's (time, level, message)."""
    log_url = f'{base_url}/jobs/{run.id}/log'
    log: Dict[str, object] = {  # the RunLog's JSON
        'name': run.name or run.id,
        **_times(run),
        'stdout': log_url,
        'stderr': log_url,
    }
    if run.exit_code is not None:
        log['exit_code'] = run.exit_code
    log['system_logs'] = [
        f'{iso(when)} {level} {message}' for when, level, message in log_lines if level != 'INFO'
    ]
    return {
        'run_id': run.id,
        'request': run_request(run),
        'state': wes_state(run.state),
        'run_log': log,
        'task_logs_url': f'{wes_url}/runs/{run.id}/tasks',
        'outputs': json.loads(run.output_json) if run.output_json else {},
    }


def service_info(facts: ServiceFacts, stored_counts: Dict[str, int], base_url: str) -> dict:
    wes_url = f'{base_url}/ga4gh/wes/v1'
    return {
        'id': 'org.cerise-actors.wes',
        'name': 'cerise-actors',
        'type': {'group': 'org.ga4gh', 'artifact': 'wes', 'version': WES_VERSION},
        'description': 'Runs CWL workflows made of the installed steps only, on this '
        'machine or a cluster; the same jobs are served by the Cerise REST API at /jobs.',
        'organization': {'name': 'cerise-actors', 'url': f'{base_url}/'},
        'documentationUrl': f'{wes_url}/openapi.json',
        'version': facts.version,
        'workflow_type_versions': {'CWL': {'workflow_type_version': ['v1.0', 'v1.1', 'v1.2']}},
        'supported_wes_versions': [WES_VERSION],
        'supported_filesystem_protocols': ['file', 'http', 'https'],
        'workflow_engine_versions': {
            facts.engine: {'workflow_engine_version': [facts.engine_version]}
        },
        'default_workflow_engine_parameters': [],
        'system_state_counts': state_counts(stored_counts),
        'auth_instructions_url': f'{base_url}/openapi.json',
        'tags': {
            'runner': facts.runner,
            'steps': json.dumps(list(facts.steps)),
            'projects': json.dumps(facts.projects, sort_keys=True),
            'cerise_api_version': facts.cerise_api,
            'cerise_api_url': f'{base_url}/jobs',
            'authentication': facts.authentication,
            'workflow_engine_parameters': 'accepted and ignored (noted in the run log)',
        },
    }


def task_list(tasks: List[dict]) -> dict:
    """TaskListResponse: every task at once (a run has as many as it has steps)."""
    return {'task_logs': tasks, 'next_page_token': ''}
