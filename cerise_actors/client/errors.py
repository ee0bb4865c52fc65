"""Every error the client raises, in one place.

Callers catch one class per thing that can go wrong, or `ClientError` for
all of them; each message says what went wrong in words a user can act on
(which service, which job, which file, what the service said).

    ClientError
    ├── ServiceUnreachable      no connection, or no answer in time
    ├── ServiceError            the service answered with an error status
    │   ├── NotAuthorized       401: no token, or one the service refused
    │   ├── JobNotFound         no job with that id (404 on /jobs/<id>)
    │   └── InvalidJob          the service refused the job description (400)
    ├── TokenError              a token given or named cannot be used (also ValueError)
    ├── AmbiguousJobId          an id prefix matches several jobs (.candidates)
    ├── TransferError           a file could not be moved to or from the file area
    │   ├── UploadFailed        PUT of a workflow or input file failed
    │   └── DownloadFailed      GET of an output file failed
    ├── InputError              a value cannot become a CWL input (also ValueError)
    │   └── InputFileMissing    a local file named as an input does not exist
    │                           (also FileNotFoundError)
    ├── JobStateError           the call does not fit the job's state
    │                           (add_input after run, outputs before submission, ...)
    ├── WaitTimeout             wait() gave up; the job goes on (also TimeoutError)
    └── LocalServiceError       local_service() could not start the service

Several classes also derive from the matching built-in exception, so code
that already catches FileNotFoundError or TimeoutError keeps working.
"""

from typing import Optional


class ClientError(Exception):
    """Base class of everything the cerise-actors client raises."""


class ServiceUnreachable(ClientError):
    """The service could not be contacted, or did not answer in time."""

    def __init__(self, message: str, url: Optional[str] = None):
        super().__init__(message)
        self.url = url


class ServiceError(ClientError):
    """The service answered with an HTTP error status.

    `title` and `description` are the fields of the service's JSON error body
    (falcon's format), when it sent one.
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        url: Optional[str] = None,
        title: Optional[str] = None,
        description: Optional[str] = None,
    ):
        super().__init__(message)
        self.status = status
        self.url = url
        self.title = title
        self.description = description


class NotAuthorized(ServiceError):
    """The service answered 401: it needs a token and got none, or refused the one sent.

    `reason` says which (and where the refused token came from,
    `token_source`, never the token); str() adds how to give a token.
    """

    def __init__(self, reason: str, hint: str, token_source: Optional[str] = None, **kwargs):
        super().__init__(f'{reason}; {hint}', **kwargs)
        self.reason = reason
        self.token_source = token_source


class TokenError(ClientError, ValueError):
    """A token given, or a token file named, cannot be used; the message says
    why and where it came from, never the token."""


class JobNotFound(ServiceError):
    """There is no job with this id (or its deletion was already requested)."""

    def __init__(self, job_id: str, message: Optional[str] = None, **kwargs):
        super().__init__(message or f'job {job_id} not found', **kwargs)
        self.job_id = job_id


class AmbiguousJobId(ClientError, LookupError):
    """An id prefix given for a job matches several jobs; `candidates` are their ids."""

    def __init__(self, prefix: str, candidates, message: Optional[str] = None):
        super().__init__(message or f'job id {prefix} matches {len(candidates)} jobs')
        self.prefix = prefix
        self.candidates = list(candidates)

    def __str__(self) -> str:
        return self.args[0]


class InvalidJob(ServiceError):
    """The service refused the job description; the message is the service's."""


class TransferError(ClientError):
    """A file could not be moved between this machine and the service's file area."""

    def __init__(self, message: str, url: Optional[str] = None, status: Optional[int] = None):
        super().__init__(message)
        self.url = url
        self.status = status


class UploadFailed(TransferError):
    """A workflow or input file could not be uploaded."""


class DownloadFailed(TransferError):
    """An output file could not be downloaded."""


class InputError(ClientError, ValueError):
    """A value given as a job input cannot be turned into a CWL input."""


class InputFileMissing(InputError, FileNotFoundError):
    """A local file given as the workflow or as an input does not exist."""

    def __init__(self, path, input_name: Optional[str] = None, what: str = 'file', hint: str = ''):
        where = f" (input '{input_name}')" if input_name else ''
        super().__init__(f'{what} not found: {path}{where}{hint}')
        self.path = path
        self.input_name = input_name

    def __str__(self) -> str:  # FileNotFoundError would print "[Errno None] ..."
        return self.args[0]


class JobStateError(ClientError):
    """The operation does not fit the job's state (for example add_input after run)."""


class WaitTimeout(ClientError, TimeoutError):
    """wait() reached its time-out; the job itself goes on."""

    def __init__(self, message: str, job_id: Optional[str] = None, state: Optional[str] = None):
        super().__init__(message)
        self.job_id = job_id
        self.state = state

    def __str__(self) -> str:
        return self.args[0]


class LocalServiceError(ClientError):
    """local_service() could not start (or cleanly stop) the service."""
