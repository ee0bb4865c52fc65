"""A connection to one service: make jobs, find jobs, list jobs.

`Service(url)` talks to the job API at `<url>/jobs` and to the file area at
`<url>/files` (or `files_url`, for a service whose `store-location-client`
is served elsewhere). This is the one place where HTTP answers of the job
API become exceptions, so every call reports errors the same way.

The service's token is found here, once (`credentials.find_credential`:
token=, token_file=, the URL's password, $CERISE_TOKEN, $CERISE_TOKEN_FILE,
./run/token), and sent by `Http` to the service's own origins only.
"""

import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple, TypedDict, Union

from .credentials import Origins, find_credential, split_url
from .errors import AmbiguousJobId, ClientError, InvalidJob, JobNotFound, ServiceError
from .files import FileArea
from .http import DEFAULT_TIMEOUT, Http, Response
from .job import Job

DEFAULT_URL = 'http://127.0.0.1:29593'
#: the header in which GET /jobs?limit= names the next page
NEXT_CURSOR_HEADER = 'Cerise-Next-Cursor'


class _ErrorFields(TypedDict):
    """What a ServiceError says of the answer that raised it."""

    status: int
    url: str
    title: Optional[str]
    description: Optional[str]


class Service:
    """A cerise-actors service at `url` (e.g. http://127.0.0.1:29593).

    `token` (or a file holding it, `token_file`) is the service's token; without
    either it is looked up (`credentials`): the URL's password
    (http://cerise:TOKEN@host:port), $CERISE_TOKEN, the file named by
    $CERISE_TOKEN_FILE, else ./run/token for a service on this machine.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        files_url: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        token: Optional[str] = None,
        token_file=None,
    ):
        clean, password = split_url(url)  # never put a password in an error message
        parts = urllib.parse.urlsplit(clean)
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ValueError(f'not a service URL: {clean!r} (expected http://host:port)')
        if files_url is not None:
            files_url, files_password = split_url(files_url)
            if token is None and token_file is None and not password and files_password:
                token = files_password  # the password of the files URL is the token too
        url, credential = find_credential(url, token, token_file)
        self.url = url.rstrip('/')
        files_url = files_url or f'{self.url}/files'
        self.http = Http(timeout, credential, Origins([self.url, files_url]))
        self.files = FileArea(self.http, files_url)

    @property
    def token_source(self) -> Optional[str]:
        """Where the token sent came from (e.g. 'CERISE_TOKEN'), None if none is sent."""
        credential = self.http.credential
        return credential.source if credential is not None else None

    def __repr__(self) -> str:
        return f'Service({self.url!r})'

    # --- public -------------------------------------------------------------
    def create_job(
        self, name: str = 'job', workflow: Any = None, inputs: Optional[Dict[str, Any]] = None
    ) -> Job:
        """A new, not yet submitted job; optionally with its workflow and inputs
        (uploaded now, see Job.set_workflow and Job.add_input). Call run() on it."""
        if not isinstance(name, str):
            raise TypeError('the job name must be a string')
        job = Job(self, name)
        try:
            if workflow is not None:
                job.set_workflow(workflow)
            for key, value in (inputs or {}).items():
                job.add_input(key, value)
        except BaseException:
            try:
                job.delete()  # no half-uploaded job left behind
            except ClientError:
                pass
            raise
        return job

    def get_job(self, job_id: str) -> Job:
        """The job with this id; JobNotFound if there is none."""
        return Job._from_json(self, self._get_job_json(job_id))

    def find_job(self, id_or_prefix: str) -> Job:
        """The job with this id, or else the one job whose id starts with it.

        A full id costs one request; a prefix is looked up in the job list
        (GET /jobs). JobNotFound if no id starts with it, AmbiguousJobId
        (with the matching ids as `candidates`) if several do.
        """
        text = str(id_or_prefix).strip()
        if text:
            try:
                return self.get_job(text)
            except JobNotFound:
                pass
        jobs = self.list_jobs(page_size=1000) if text else []
        matches = [job for job in jobs if str(job.id).startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise JobNotFound(
                text, f'job {text} not found on {self.url} (and no job id starts with it)'
            )
        shown = [f'{job.id} ({job.data.get("state", "?")}, {job.name!r})' for job in matches[:10]]
        more = f', and {len(matches) - 10} more' if len(matches) > 10 else ''
        raise AmbiguousJobId(
            text,
            [job.id for job in matches],
            f'job id {text} is ambiguous: {len(matches)} jobs start with it: '
            + ', '.join(shown)
            + f'{more}; give more of the id',
        )

    def list_jobs(
        self,
        state: Union[str, Sequence[str], None] = None,
        name: Optional[str] = None,
        page_size: Optional[int] = None,
    ) -> List[Job]:
        """All jobs of the service, oldest first; only those in `state` (an API
        state such as 'Running', or several) and named `name`, if given.
        With `page_size` the list is fetched in pages of that many jobs, which
        keeps each answer small on a service with very many jobs."""
        if state is None and name is None and page_size is None:
            return self._jobs_of(self._call('GET', '/jobs'))
        jobs: List[Job] = []
        cursor = None
        while True:
            page, cursor = self.list_jobs_page(state, name, page_size, cursor)
            jobs += page
            if cursor is None:
                return jobs

    def list_jobs_page(
        self,
        state: Union[str, Sequence[str], None] = None,
        name: Optional[str] = None,
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Tuple[List[Job], Optional[str]]:
        """One page of the job list (see list_jobs) and the cursor of the next
        page, None on the last one. A service that does not page answers
        everything at once; the filters are applied here as well, so one that
        does not filter gives the same jobs."""
        states = [state] if isinstance(state, str) else list(state or ())
        query: List[Tuple[str, Any]] = [('state', s) for s in states]
        query += [(key, value) for key, value in (('name', name), ('limit', limit)) if value]
        query += [('cursor', cursor)] if cursor else []
        path = '/jobs' + ('?' + urllib.parse.urlencode(query) if query else '')
        answer = self._call('GET', path)
        jobs = self._jobs_of(answer)
        wanted = {s.lower() for s in states}
        jobs = [
            job
            for job in jobs
            if (not wanted or str(job.data.get('state', '')).lower() in wanted)
            and (name is None or job.name == name)
        ]
        return jobs, (answer.headers.get(NEXT_CURSOR_HEADER) or None)

    def steps(self) -> List[dict]:
        """The installed steps a workflow may use (GET /steps): each with its
        `name` (what `run:` names), `project`, `version`, `doc`, `inputs` and
        `outputs` (lists of `{name, type, doc}`)."""
        steps = self._json(self._call('GET', '/steps'), 'the list of steps')
        if not isinstance(steps, list):
            raise ServiceError('GET /steps did not answer a list')
        return steps

    def _jobs_of(self, answer: Response) -> List[Job]:
        data = self._json(answer, 'the job list')
        if not isinstance(data, list):
            raise ServiceError(
                f'{self.url}/jobs did not answer with a list of jobs; is '
                f'this a cerise-actors service?',
                url=f'{self.url}/jobs',
            )
        return [Job._from_json(self, item) for item in data if isinstance(item, dict)]

    # --- used by Job ------------------------------------------------------------
    def _post_job(self, name: str, workflow: str, inputs: Dict[str, Any]) -> dict:
        answer = self._call(
            'POST',
            '/jobs',
            json_body={'name': name, 'workflow': workflow, 'input': inputs},
            expect=(200, 201),
        )
        return self._job_dict(answer, 'the new job')

    def _get_job_json(self, job_id: str) -> dict:
        return self._job_dict(
            self._call('GET', f'/jobs/{_segment(job_id)}', job_id=job_id), f'job {job_id}'
        )

    def _get_log(self, job_id: str) -> str:
        return self._call('GET', f'/jobs/{_segment(job_id)}/log', job_id=job_id).text

    def _cancel(self, job_id: str) -> dict:
        return self._job_dict(
            self._call('POST', f'/jobs/{_segment(job_id)}/cancel', job_id=job_id), f'job {job_id}'
        )

    def _delete_job(self, job_id: str) -> None:
        self._call('DELETE', f'/jobs/{_segment(job_id)}', job_id=job_id, expect=(200, 204))

    # --- answers into exceptions ------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        job_id: Optional[str] = None,
        expect=(200,),
    ) -> Response:
        url = self.url + path
        answer = self.http.request(method, url, json_body=json_body)
        if answer.status in expect:
            return answer
        title, description = answer.error_fields()
        fields: _ErrorFields = {
            'status': answer.status,
            'url': url,
            'title': title,
            'description': description,
        }
        if answer.status == 404 and job_id is not None and title != 'Not found':
            raise JobNotFound(job_id, f'job {job_id} not found on {self.url}', **fields)
        if answer.status == 400 and method == 'POST' and path == '/jobs':
            raise InvalidJob(f'the service refused the job: {answer.error_message()}', **fields)
        if answer.status == 503:
            raise ServiceError(
                f'the service at {self.url} is unavailable: {answer.error_message()}', **fields
            )
        if answer.status == 404:
            raise ServiceError(
                f'{url} does not exist ({answer.error_message()}); is '
                f'{self.url} a cerise-actors service?',
                **fields,
            )
        raise ServiceError(f'{method} {url} failed: {answer.error_message()}', **fields)

    def _json(self, answer: Response, what: str) -> Any:
        try:
            return answer.json()
        except ValueError:
            raise ServiceError(
                f'{answer.url} did not answer with JSON for {what}; is '
                f'{self.url} a cerise-actors service?',
                answer.status,
                answer.url,
            ) from None

    def _job_dict(self, answer: Response, what: str) -> dict:
        data = self._json(answer, what)
        if not isinstance(data, dict) or 'id' not in data or 'state' not in data:
            raise ServiceError(
                f'{answer.url} did not answer with a job for {what}', answer.status, answer.url
            )
        return data


def _segment(job_id: str) -> str:
    return urllib.parse.quote(str(job_id), safe='')
