"""Torque/PBS: qsub, qstat and qdel in Torque's dialect."""

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
    'Q': QueueState.WAITING,
    'H': QueueState.WAITING,
    'W': QueueState.WAITING,
    'T': QueueState.WAITING,
    'R': QueueState.RUNNING,
    'E': QueueState.RUNNING,
    'S': QueueState.RUNNING,
    'C': QueueState.ENDED,
}


class TorqueScheduler(BatchScheduler):
    directive = '#PBS'
    # Slurm's Torque wrappers (qsub over sbatch) set only SLURM_JOB_ID in the job
    id_variables = ('PBS_JOBID', 'SLURM_JOB_ID')

    def directives(self, req: SubmitRequest) -> List[str]:
        q = shlex.quote
        nodes = f'nodes={nodes_for(req.cores, self.cores_per_node)}'
        if self.slots_per_node:
            nodes += f':ppn={int(self.slots_per_node)}'
        out, err = scheduler_logs(req.paths)
        options = [f'-N {q(job_name(req.job_id))}', f'-o {out}', f'-e {err}', f'-l {nodes}']
        if req.time_limit > 0:
            options.append(f'-l walltime={walltime(req.time_limit)}')
        if self.queue_name:
            options.append(f'-q {q(self.queue_name)}')
        return options

    def normalise_id(self, remote_id: str) -> str:
        return remote_id.strip().split('.')[0]

    def submit_command(self, script: str) -> str:
        return f'qsub {script}'

    def parse_submit(self, stdout: str) -> str:
        return last_line(stdout)

    def find_command(self, name: str) -> str:
        return (
            f'qstat -f 2>/dev/null | awk -v n={name} '
            '\'/^Job Id:/ {id=$3} $1=="Job_Name" && $3==n {print id}\''
        )

    def status_command(self) -> str:
        return 'qstat -u "$(id -un)"'

    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        rows = [
            line for line in stdout.splitlines() if line.strip() and line.split()[0][:1].isdigit()
        ]
        return parse_table('\n'.join(rows), 0, -2, _STATES)

    def cancel_command(self, remote_id: str) -> str:
        return f'qdel {remote_id}'
