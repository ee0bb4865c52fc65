"""Where things live on the compute resource, in one place.

Under the configured base path: `api/<project>/{steps,files,install.sh,version}`
and `jobs/<job id>/` holding `workflow.cwl`, `input.json`, `work/` (the
runner's working directory with staged inputs and outputs), `stdout.txt`
(the runner's output JSON), `stderr.txt` (its log), `run.sh` (the job
script), `claim` (written by the job script before it starts the runner:
the id of the one copy that runs the job), `jobid` (the id the service
recorded at submission over a shell; the local scheduler writes none),
`tmp/` (made by cwltool itself when it starts), `exit_code`, written by the job script itself so a
finished job is recognised even after the scheduler forgot it, and
`disk_full`, an empty file the job script leaves when the resource's disk
was full.
"""

import dataclasses
import posixpath


@dataclasses.dataclass(frozen=True)
class ResourceLayout:
    base: str

    @property
    def api_dir(self) -> str:
        return posixpath.join(self.base, 'api')

    @property
    def jobs_dir(self) -> str:
        return posixpath.join(self.base, 'jobs')

    def project_dir(self, project: str) -> str:
        return posixpath.join(self.api_dir, project)

    def project_files_dir(self, project: str) -> str:
        return posixpath.join(self.api_dir, project, 'files')

    def job(self, job_id: str) -> 'JobPaths':
        return JobPaths(posixpath.join(self.jobs_dir, job_id))


@dataclasses.dataclass(frozen=True)
class JobPaths:
    dir: str

    def _p(self, name: str) -> str:
        return posixpath.join(self.dir, name)

    @property
    def work(self) -> str:
        return self._p('work')

    @property
    def tmp(self) -> str:
        return self._p('tmp')

    @property
    def workflow(self) -> str:
        return self._p('workflow.cwl')

    @property
    def input(self) -> str:
        return self._p('input.json')

    @property
    def stdout(self) -> str:
        return self._p('stdout.txt')

    @property
    def stderr(self) -> str:
        return self._p('stderr.txt')

    @property
    def script(self) -> str:
        return self._p('run.sh')

    @property
    def jobid(self) -> str:
        return self._p('jobid')

    @property
    def claim(self) -> str:
        return self._p('claim')

    @property
    def exit_code(self) -> str:
        return self._p('exit_code')

    @property
    def disk_full(self) -> str:
        return self._p('disk_full')
