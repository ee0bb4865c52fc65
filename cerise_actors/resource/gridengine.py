"""Grid Engine: qsub -terse, qstat and qdel.

Grid Engine has no notion of nodes: cores are requested through a parallel
environment, which differs per cluster, so the specialisation names it in
`scheduler-options` (e.g. `-pe smp 4`). Each command line and directive is
a one-line template, rendered (and its values quoted) by shell_template;
batch.py puts them into its scripts.
"""

from typing import Dict, List, Union

from .batch import (
    BatchScheduler,
    QueueState,
    job_name,
    last_line,
    parse_table,
    scheduler_logs,
    walltime,
)
from .scheduler import SubmitRequest
from .shell_template import Raw, line_template

_WAITING = ('qw', 'hqw', 'hRwq', 'Rq', 'Eqw', 'Rwq', 'hqwR', 's', 'S', 'T')

_NAME = line_template('-N {{name}}')
_SHELL = line_template('-S /bin/bash')
# the job sees the submitting shell's PATH (where the CWL runner is)
_ENVIRONMENT = line_template('-V')
_OUTPUT = line_template('-o {{path}}')
_ERROR = line_template('-e {{path}}')
_RUN_TIME = line_template('-l h_rt={{walltime}}')
_QUEUE = line_template('-q {{queue}}')
_SUBMIT = line_template('qsub -terse {{script}}')
_FIND = line_template("qstat -j {{name}} 2>/dev/null | awk '/^job_number:/ {print $2}'")
_STATUS = line_template('qstat -u "$(id -un)"')
_CANCEL = line_template('qdel {{job}}')


class GridEngineScheduler(BatchScheduler):
    directive = '#$'
    id_variables = ('JOB_ID',)

    def directives(self, req: SubmitRequest) -> List[Raw]:
        out, err = scheduler_logs(req.paths)
        options = [
            _NAME.raw(name=job_name(req.job_id)),
            _SHELL.raw(),
            _ENVIRONMENT.raw(),
            _OUTPUT.raw(path=out),
            _ERROR.raw(path=err),
        ]
        if req.time_limit > 0:
            options.append(_RUN_TIME.raw(walltime=walltime(req.time_limit)))
        if self.queue_name:
            options.append(_QUEUE.raw(queue=self.queue_name))
        return options

    def submit_command(self, script: str) -> Raw:
        return _SUBMIT.raw(script=script)

    def parse_submit(self, stdout: str) -> str:
        return last_line(stdout).split('.')[0]

    def find_command(self, name: str) -> Raw:
        return _FIND.raw(name=name)

    def status_command(self) -> Raw:
        return _STATUS.raw()

    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        rows = [line for line in stdout.splitlines() if line.strip() and line.split()[0].isdigit()]
        states = {state: QueueState.WAITING for state in _WAITING}
        return parse_table('\n'.join(rows), 0, 4, states)

    def cancel_command(self, remote_id: Union[str, Raw]) -> Raw:
        return _CANCEL.raw(job=remote_id)
