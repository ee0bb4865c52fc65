"""Slurm: sbatch, squeue and scancel.

Each command line and directive is a one-line template, rendered (and its
values quoted) by shell_template; batch.py puts them into its scripts.
"""

from typing import Dict, List, Union

from .batch import (
    BatchScheduler,
    QueueState,
    job_name,
    last_line,
    nodes_for,
    parse_table,
    scheduler_logs,
    walltime,
)
from .scheduler import SubmitRequest
from .shell_template import Raw, line_template

_STATES = {
    'PENDING': QueueState.WAITING,
    'CONFIGURING': QueueState.WAITING,
    'REQUEUED': QueueState.WAITING,
    'REQUEUE_HOLD': QueueState.WAITING,
    'REQUEUE_FED': QueueState.WAITING,
    'RESV_DEL_HOLD': QueueState.WAITING,
    'SUSPENDED': QueueState.RUNNING,
    'RUNNING': QueueState.RUNNING,
    'COMPLETING': QueueState.RUNNING,
    'STAGE_OUT': QueueState.RUNNING,
    'SIGNALING': QueueState.RUNNING,
    'RESIZING': QueueState.RUNNING,
    'COMPLETED': QueueState.ENDED,
    'CANCELLED': QueueState.ENDED,
    'FAILED': QueueState.ENDED,
    'TIMEOUT': QueueState.ENDED,
    'NODE_FAIL': QueueState.ENDED,
    'PREEMPTED': QueueState.ENDED,
    'BOOT_FAIL': QueueState.ENDED,
    'DEADLINE': QueueState.ENDED,
    'OUT_OF_MEMORY': QueueState.ENDED,
    'REVOKED': QueueState.ENDED,
    'SPECIAL_EXIT': QueueState.ENDED,
}
_NAME = line_template('--job-name={{name}}')
_OUTPUT = line_template('--output={{path}}')
_ERROR = line_template('--error={{path}}')
_NODES = line_template('--nodes={{nodes}}')
_TASKS = line_template('--ntasks-per-node={{tasks}}')
_TIME = line_template('--time={{walltime}}')
_PARTITION = line_template('--partition={{queue}}')
_SUBMIT = line_template('sbatch --parsable {{script}}')
_FIND = line_template('squeue -h -u "$(id -un)" -n {{name}} -o %i')
_STATUS = line_template('squeue -h -u "$(id -un)" -o \'%i %T\'')
_CANCEL = line_template('scancel {{job}}')


class SlurmScheduler(BatchScheduler):
    directive = '#SBATCH'
    id_variables = ('SLURM_JOB_ID',)

    def directives(self, req: SubmitRequest) -> List[Raw]:
        out, err = scheduler_logs(req.paths)
        options = [
            _NAME.raw(name=job_name(req.job_id)),
            _OUTPUT.raw(path=out),
            _ERROR.raw(path=err),
            _NODES.raw(nodes=nodes_for(req.cores, self.cores_per_node)),
        ]
        if self.slots_per_node:
            options.append(_TASKS.raw(tasks=int(self.slots_per_node)))
        if req.time_limit > 0:
            options.append(_TIME.raw(walltime=walltime(req.time_limit)))
        if self.queue_name:
            options.append(_PARTITION.raw(queue=self.queue_name))
        return options

    def submit_command(self, script: str) -> Raw:
        return _SUBMIT.raw(script=script)

    def parse_submit(self, stdout: str) -> str:
        return last_line(stdout).split(';')[0]

    def find_command(self, name: str) -> Raw:
        return _FIND.raw(name=name)

    def status_command(self) -> Raw:
        return _STATUS.raw()

    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        return parse_table(stdout, 0, 1, _STATES)

    def cancel_command(self, remote_id: Union[str, Raw]) -> Raw:
        return _CANCEL.raw(job=remote_id)
