"""Where things live on the compute resource, in one place.

Under the configured base path: `api/<project>/{steps,files,install.sh,version}`
and `jobs/<job id>/` holding `workflow.cwl`, `input.json`, `work/` (the
runner's working directory with staged inputs and outputs), `stdout.txt`
(the runner's output JSON), `stderr.txt` (its log), `run.sh` (the job
script), `jobid` (what the scheduler called it) and `exit_code`, written by
the job script itself so a finished job is recognised even after the
scheduler forgot it.
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
    def exit_code(self) -> str:
        return self._p('exit_code')
