"""Slurm: sbatch, squeue and scancel."""

import shlex
from typing import Dict, List

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
_ME = '"$(id -un)"'


class SlurmScheduler(BatchScheduler):
    directive = '#SBATCH'
    id_variables = ('SLURM_JOB_ID',)

    def directives(self, req: SubmitRequest) -> List[str]:
        q = shlex.quote
        out, err = scheduler_logs(req.paths)
        options = [
            f'--job-name={q(job_name(req.job_id))}',
            f'--output={out}',
            f'--error={err}',
            f'--nodes={nodes_for(req.cores, self.cores_per_node)}',
        ]
        if self.slots_per_node:
            options.append(f'--ntasks-per-node={int(self.slots_per_node)}')
        if req.time_limit > 0:
            options.append(f'--time={walltime(req.time_limit)}')
        if self.queue_name:
            options.append(f'--partition={q(self.queue_name)}')
        return options

    def submit_command(self, script: str) -> str:
        return f'sbatch --parsable {script}'

    def parse_submit(self, stdout: str) -> str:
        return last_line(stdout).split(';')[0]

    def find_command(self, name: str) -> str:
        return f'squeue -h -u {_ME} -n {name} -o %i'

    def status_command(self) -> str:
        return f"squeue -h -u {_ME} -o '%i %T'"

    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        return parse_table(stdout, 0, 1, _STATES)

    def cancel_command(self, remote_id: str) -> str:
        return f'scancel {remote_id}'
