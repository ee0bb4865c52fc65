"""Slurm: sbatch, squeue and scancel."""
import shlex
from typing import Dict, List

from .batch import (BatchScheduler, job_name, last_line, nodes_for, parse_table,
                    scheduler_logs, walltime)
from .scheduler import SubmitRequest

_STATES = {
    'PENDING': 'waiting', 'CONFIGURING': 'waiting', 'REQUEUED': 'waiting',
    'REQUEUE_HOLD': 'waiting', 'REQUEUE_FED': 'waiting', 'RESV_DEL_HOLD': 'waiting',
    'SUSPENDED': 'running', 'RUNNING': 'running', 'COMPLETING': 'running',
    'STAGE_OUT': 'running', 'SIGNALING': 'running', 'RESIZING': 'running',
    'COMPLETED': 'ended', 'CANCELLED': 'ended', 'FAILED': 'ended', 'TIMEOUT': 'ended',
    'NODE_FAIL': 'ended', 'PREEMPTED': 'ended', 'BOOT_FAIL': 'ended', 'DEADLINE': 'ended',
    'OUT_OF_MEMORY': 'ended', 'REVOKED': 'ended', 'SPECIAL_EXIT': 'ended',
}
_ME = '"$(id -un)"'


class SlurmScheduler(BatchScheduler):
    directive = '#SBATCH'

    def directives(self, req: SubmitRequest) -> List[str]:
        q = shlex.quote
        out, err = scheduler_logs(req.paths)
        options = [f'--job-name={q(job_name(req.job_id))}', f'--output={out}', f'--error={err}',
                   f'--nodes={nodes_for(req.cores, self.cores_per_node)}']
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

    def parse_status(self, stdout: str) -> Dict[str, str]:
        return parse_table(stdout, 0, 1, _STATES)

    def cancel_command(self, remote_id: str) -> str:
        return f'scancel {remote_id}'
