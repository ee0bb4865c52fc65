"""One job: build it (workflow, inputs), run it, follow it, collect its outputs.

A Job starts on the client side (`Service.create_job`): files are uploaded as
they are added, into an upload folder of its own, `input/<name>-<8 hex>/`,
so two jobs with the same name never share (or delete) each other's
uploads. `run()` submits it; from then on every property asks the service,
so a Job object never shows a stale state. `delete()` removes the job and
its upload folder.
"""

import json
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from .errors import (
    InputError,
    InputFileMissing,
    JobNotFound,
    JobStateError,
)
from .input_checks import problem, undeclared
from .inputs import Layout, Uploader, check_input, convert_input, is_file_object, is_url, safe_name
from .outputs import wrap_outputs
from .waiting import FINAL_STATES, wait_for_job
from .workflow_types import MAX_BYTES, TEXT, declared_input_types, kind_of

if TYPE_CHECKING:  # pragma: no cover
    from .service import Service

UPLOAD_ROOT = 'input'
_NAME_ONLY = object()


def _peek(source: Any) -> Optional[bytes]:
    """The first MAX_BYTES of a workflow about to be uploaded, if they can be read twice."""
    try:
        if isinstance(source, Path):
            with open(source, 'rb') as stream:
                return stream.read(MAX_BYTES)
        if isinstance(source, (bytes, bytearray, memoryview)):
            return bytes(source[:MAX_BYTES])
        if source.seekable():
            start = source.tell()
            data = source.read(MAX_BYTES)
            source.seek(start)
            return data.encode('utf-8') if isinstance(data, str) else data
    except (AttributeError, OSError, ValueError):
        pass
    return None


def new_upload_folder(name: str) -> str:
    return f'{safe_name(name, "job")}-{uuid.uuid4().hex[:8]}'


def owned_upload_folder(
    name: str, url: Optional[str], service: 'Service', inputs: Any = None
) -> Optional[str]:
    """The upload folder of a job whose workflow `url`, or else one of whose
    `inputs`, is a file this client uploaded.

    Only `input/<safe name>-<8 hex>/` folders count: a folder named after the
    job alone may be shared with other jobs (Cerise clients used
    `input/<job name>/`), and deleting it would break them. The inputs count
    for a job whose workflow is a URL of its own (`submit https://...`),
    when its input files were still uploaded.
    """
    for location in [url, *_locations(inputs)]:
        folder = _folder_of(name, location, service)
        if folder is not None:
            return folder
    return None


def _locations(value: Any, depth: int = 0):
    """The File/Directory locations in a CWL input object."""
    if depth > 64:
        return
    if isinstance(value, list):
        for item in value:
            yield from _locations(item, depth + 1)
    elif isinstance(value, dict):
        if value.get('class') in ('File', 'Directory') and isinstance(value.get('location'), str):
            yield value['location']
        for item in value.values():
            if isinstance(item, (list, dict)):
                yield from _locations(item, depth + 1)


def _folder_of(name: str, url: Optional[str], service: 'Service') -> Optional[str]:
    if not url:
        return None
    relative = service.files.relative_of(url)
    if relative is None:
        return None
    parts = relative.split('/')
    if len(parts) < 3 or parts[0] != UPLOAD_ROOT:
        return None
    folder = parts[1]
    if re.fullmatch(re.escape(safe_name(name, 'job')) + r'-[0-9a-f]{8}', folder):
        return folder
    return None


class _JobUploads(Uploader):
    """Uploads into one job's folder of the file area."""

    def __init__(self, service: 'Service', folder: str):
        self.service = service
        self.prefix = f'{UPLOAD_ROOT}/{folder}'

    def put(self, relative: str, source: Any) -> str:
        return self.service.files.put(f'{self.prefix}/{relative}', source)

    def url_of(self, relative: str) -> str:
        return self.service.files.url_of(f'{self.prefix}/{relative}')

    def make_folders(self, relative: str) -> None:
        self.service.files.make_folders(f'{self.prefix}/{relative}')


class Job:
    """A job of a cerise-actors (or Cerise) service.

    Made by `Service.create_job(name)` (not yet submitted) or returned by
    `Service.get_job(id)` / `list_jobs()` (submitted).
    """

    def __init__(
        self,
        service: 'Service',
        name: str,
        data: Optional[dict] = None,
        upload_folder: Optional[str] = None,
    ):
        self.service = service
        self.name = name
        self._data: Optional[dict] = data
        self._workflow: Optional[str] = data.get('workflow') if data else None
        self._input: Dict[str, Any] = dict(data.get('input') or {}) if data else {}
        self.upload_folder = upload_folder
        self._layout = Layout()
        self._deleted = False
        #: the type of each input, as the workflow declares it (if it was read)
        self.input_types: Dict[str, Any] = {}

    @classmethod
    def _from_json(cls, service: 'Service', data: dict) -> 'Job':
        name = data.get('name') or ''
        folder = owned_upload_folder(name, data.get('workflow'), service, data.get('input'))
        return cls(service, name, data, folder)

    def __repr__(self) -> str:
        what = f'id={self.id!r}' if self.id else 'not submitted'
        return f'<Job {self.name!r} {what}>'

    # --- identity ---------------------------------------------------------
    @property
    def id(self) -> Optional[str]:
        """The service's id of the job; None until run()."""
        return self._data.get('id') if self._data else None

    @property
    def submitted(self) -> bool:
        return self._data is not None

    @property
    def data(self) -> Dict[str, Any]:
        """The job's JSON as last fetched (no request; empty before run())."""
        return dict(self._data or {})

    @property
    def workflow(self) -> Optional[str]:
        """The workflow's URL."""
        return self._workflow

    @property
    def input(self) -> Dict[str, Any]:
        """The CWL input object as it is (or will be) submitted."""
        return dict(self._input)

    # --- building -----------------------------------------------------------
    def _not_submitted(self, action: str) -> None:
        if self._deleted:
            raise JobStateError(f'cannot {action}: job {self.name!r} was deleted')
        if self.submitted:
            raise JobStateError(f'cannot {action}: job {self.id} was already submitted')

    def _uploads(self) -> _JobUploads:
        if self.upload_folder is None:
            self.upload_folder = new_upload_folder(self.name)
        return _JobUploads(self.service, self.upload_folder)

    def set_workflow(self, workflow, basename: Optional[str] = None) -> str:
        """Upload the workflow: a path (str or Path), bytes or a file object.

        A str containing `://` is taken as a URL the service reads itself.
        Returns the workflow's URL.
        """
        self._not_submitted('set the workflow')
        if isinstance(workflow, str) and is_url(workflow):
            self._workflow = workflow
            return workflow
        if isinstance(workflow, (str, os.PathLike)):
            path = Path(workflow).expanduser()
            if not path.is_file():
                raise InputFileMissing(path, what='workflow file')
            source: Any = path
            basename = basename or path.name
        elif isinstance(workflow, (bytes, bytearray, memoryview)) or is_file_object(workflow):
            source = workflow
            name = getattr(workflow, 'name', None)
            basename = basename or (
                os.path.basename(name)
                if isinstance(name, str) and name and not name.startswith('<')
                else 'workflow.cwl'
            )
        else:
            raise InputError(
                f'cannot use a {type(workflow).__name__} as the workflow; give '
                f'a path, bytes or a file object'
            )
        if '/' in basename or basename in ('', '.', '..'):
            raise InputError(f'cannot use {basename!r} as the workflow file name')
        document = _peek(source)
        self._workflow = self._uploads().put(self._layout.reserve('', basename), source)
        self.input_types = declared_input_types(document) if document is not None else {}
        return self._workflow

    def add_input(self, name: str, value: Any, strings_as_paths: Optional[bool] = None) -> Any:
        """Set input `name`, uploading any local files in `value` first.

        `value` may be a path (`Path`, or `str`; a str with `://` is a URL) to
        a file or folder, bytes, a file object, a list of those, a CWL
        File/Directory dict (whose `location` and `secondaryFiles` may be any
        of those; `basename` names the upload), or plain JSON. Strings inside
        records stay strings.

        Whether a str given directly (or in a list) is text or a path follows
        the type the workflow declares for `name` (read by set_workflow): text
        for an input with no File or Directory in its type (`string`,
        `string[]`, `int?`, an enum), else a path. `strings_as_paths=True` or
        `False` decides instead (with False only Paths, bytes, file objects and
        File/Directory dicts are files). Every local file is checked before
        anything is uploaded. Returns the CWL value.

        If the workflow's declarations were read, a name it does not declare
        and a value that cannot have the declared type (42 for a File) raise
        InputError before anything is uploaded (see input_checks.py).
        """
        self._not_submitted('add inputs')
        self._check_declared(name)
        known = kind_of(self.input_types[name]) if name in self.input_types else None
        if strings_as_paths is None:
            strings_as_paths = known != TEXT
        shaped = check_input(name, value, strings_as_paths, string_hint=known is None)
        self._check_declared(name, shaped)
        self._input[name] = convert_input(
            name, value, self._uploads(), self._layout, strings_as_paths, string_hint=known is None
        )
        return self._input[name]

    def set_input(self, name: str, value: Any) -> None:
        """Set input `name` to a plain JSON value, exactly as given (no uploads)."""
        self._not_submitted('set inputs')
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"input '{name}' is not plain JSON ({exc}); use add_input for files"
            ) from exc
        self._check_declared(name, value)
        self._input[name] = value

    def _check_declared(self, name: str, value: Any = _NAME_ONLY) -> None:
        """InputError if the workflow does not declare `name`, or declares a type
        the CWL value `value` cannot have (not judged without declarations)."""
        if value is _NAME_ONLY:
            reason = undeclared(name, self.input_types) if self.input_types else None
        else:
            reason = problem(name, value, self.input_types)
        if reason:
            raise InputError(reason)

    @staticmethod
    def check_input(name: str, value: Any, strings_as_paths: bool = True) -> None:
        """Raise InputFileMissing/InputError if add_input(name, value) would; no uploads."""
        check_input(name, value, strings_as_paths, string_hint=strings_as_paths)

    # --- running ------------------------------------------------------------
    def run(self) -> 'Job':
        """Submit the job. Raises InvalidJob with the service's message if refused."""
        self._not_submitted('run the job')
        if self._workflow is None:
            raise JobStateError(f'job {self.name!r} has no workflow; call set_workflow first')
        self._data = self.service._post_job(self.name, self._workflow, self._input)
        return self

    def _require_id(self, action: str) -> str:
        if self._deleted:
            raise JobStateError(f'cannot {action}: job {self.id or self.name!r} was deleted')
        if not self.submitted:
            raise JobStateError(
                f'cannot {action}: job {self.name!r} was not submitted yet (call run())'
            )
        job_id = self.id
        if job_id is None:  # the service's answer to run() names it
            raise JobStateError(f'cannot {action}: the service gave job {self.name!r} no id')
        return job_id

    def refresh(self) -> dict:
        """Fetch the job from the service; its JSON (id, name, state, output, ...)."""
        self._data = self.service._get_job_json(self._require_id('get the job'))
        return dict(self._data)

    @property
    def state(self) -> str:
        """The current API state (asks the service)."""
        return self.refresh()['state']

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def log(self) -> str:
        """The job's log text (asks the service)."""
        return self.service._get_log(self._require_id('get the log'))

    @property
    def outputs(self) -> Dict[str, Any]:
        """The output object (asks the service): Files as OutputFile, Directories as
        OutputDirectory, everything else as plain values. Empty until published."""
        data = self.refresh()
        return wrap_outputs(data.get('output') or {}, self.service.http, self.id)

    def wait(
        self,
        timeout: Optional[float] = None,
        progress: Optional[Callable[[str], None]] = None,
        interval: float = 1.0,
        on_progress: Optional[Callable[[dict, str], None]] = None,
    ) -> str:
        """Poll until the job is in a final state; that state.

        `progress(state)` is called with the first state seen and every change.
        `on_progress(job, status)` gets the same and more: the job's JSON as
        last fetched and a short line, the new state ('Running') or news of the
        service ('service unreachable, retrying (5 s)', 'service reachable
        again after 7 s'), and while the job runs, how far it is ('Running: 1 of
        2 steps done, step s running (12 s)'). Raises WaitTimeout after
        `timeout` seconds (the job goes on). A service that is briefly
        unreachable or unavailable (a restart) is waited for, up to
        OUTAGE_GRACE seconds at a time (see waiting.py).
        """
        return wait_for_job(self, timeout, progress, interval, on_progress)

    # --- ending -------------------------------------------------------------
    def cancel(self) -> str:
        """Ask the service to cancel the job; the state right after (may still be
        Waiting or Running while the cancellation completes: wait() for it)."""
        self._data = self.service._cancel(self._require_id('cancel'))
        return self._data['state']

    def delete(self) -> None:
        """Delete the job on the service (cancelling it if needed) and its uploads.

        An unsubmitted job only has its uploads removed. Raises JobNotFound if
        the service no longer knows the job (its uploads are removed anyway).
        """
        if self._deleted:
            return
        missing: Optional[JobNotFound] = None
        if self.submitted:
            try:
                self.service._delete_job(self._require_id('delete the job'))
            except JobNotFound as exc:
                missing = exc
        if self.upload_folder is not None:
            self.service.files.delete_folder(f'{UPLOAD_ROOT}/{self.upload_folder}')
        self._deleted = True
        if missing is not None:
            raise missing
