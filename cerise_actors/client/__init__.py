"""The Python client of cerise-actors (and of Cerise 0.2.4 services with a WebDAV file area).

    from cerise_actors.client import Service

    service = Service('http://127.0.0.1:29593')
    job = service.create_job('wc')
    job.set_workflow('wc.cwl')
    job.add_input('file', 'hello.txt')          # uploaded to <service>/files/input/...
    job.run()
    job.wait(timeout=600, progress=print)
    print(job.outputs['counts'].text())
    job.delete()                                 # the job and its uploaded inputs

It uses the standard library only and imports nothing of the service, so it
works wherever the package is installed. It finds the service's token by
itself (`credentials`: token=, the URL's password, $CERISE_TOKEN,
$CERISE_TOKEN_FILE, ./run/token) and sends it to that service only. Every
error is a ClientError (see `errors` for the tree). `local_service()` starts a private service for a
script or notebook. The `cerise-actors submit/list/status/log/wait/cancel/delete`
commands are built on it (`cli_commands`).
"""

from .errors import (
    AmbiguousJobId,
    ClientError,
    DownloadFailed,
    InputError,
    InputFileMissing,
    InvalidJob,
    JobNotFound,
    JobStateError,
    LocalServiceError,
    NotAuthorized,
    ServiceError,
    ServiceUnreachable,
    TokenError,
    TransferError,
    UploadFailed,
    WaitTimeout,
)
from .job import FINAL_STATES, Job
from .local import LocalService, local_service
from .outputs import OutputDirectory, OutputFile
from .service import DEFAULT_URL, Service

__all__ = [
    'Service',
    'Job',
    'OutputFile',
    'OutputDirectory',
    'local_service',
    'LocalService',
    'FINAL_STATES',
    'DEFAULT_URL',
    'ClientError',
    'ServiceUnreachable',
    'ServiceError',
    'NotAuthorized',
    'TokenError',
    'JobNotFound',
    'AmbiguousJobId',
    'InvalidJob',
    'TransferError',
    'UploadFailed',
    'DownloadFailed',
    'InputError',
    'InputFileMissing',
    'JobStateError',
    'WaitTimeout',
    'LocalServiceError',
]
