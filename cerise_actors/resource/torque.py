"""Torque/PBS: qsub, qstat and qdel in Torque's dialect.

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
    'Q': QueueState.WAITING,
    'H': QueueState.WAITING,
    'W': QueueState.WAITING,
    'T': QueueState.WAITING,
    'R': QueueState.RUNNING,
    'E': QueueState.RUNNING,
    'S': QueueState.RUNNING,
    'C': QueueState.ENDED,
}

_NAME = line_template('-N {{name}}')
_OUTPUT = line_template('-o {{path}}')
_ERROR = line_template('-e {{path}}')
_NODES = line_template('-l nodes={{nodes}}')
_NODES_PPN = line_template('-l nodes={{nodes}}:ppn={{ppn}}')
_WALLTIME = line_template('-l walltime={{walltime}}')
_QUEUE = line_template('-q {{queue}}')
_SUBMIT = line_template('qsub {{script}}')
# qstat -f lists every job as `Job Id: ID` followed by `    Job_Name = NAME` among its fields
_FIND = line_template(
    'qstat -f 2>/dev/null | awk -v n={{name}} '
    '\'/^Job Id:/ {id=$3} $1=="Job_Name" && $3==n {print id}\''
)
_STATUS = line_template('qstat -u "$(id -un)"')
_CANCEL = line_template('qdel {{job}}')


class TorqueScheduler(BatchScheduler):
    directive = '#PBS'
    # Slurm's Torque wrappers (qsub over sbatch) set only SLURM_JOB_ID in the job
    id_variables = ('PBS_JOBID', 'SLURM_JOB_ID')

    def directives(self, req: SubmitRequest) -> List[Raw]:
        nodes = nodes_for(req.cores, self.cores_per_node)
        out, err = scheduler_logs(req.paths)
        options = [
            _NAME.raw(name=job_name(req.job_id)),
            _OUTPUT.raw(path=out),
            _ERROR.raw(path=err),
            _NODES_PPN.raw(nodes=nodes, ppn=int(self.slots_per_node))
            if self.slots_per_node
            else _NODES.raw(nodes=nodes),
        ]
        if req.time_limit > 0:
            options.append(_WALLTIME.raw(walltime=walltime(req.time_limit)))
        if self.queue_name:
            options.append(_QUEUE.raw(queue=self.queue_name))
        return options

    def normalise_id(self, remote_id: str) -> str:
        return remote_id.strip().split('.')[0]

    def submit_command(self, script: str) -> Raw:
        return _SUBMIT.raw(script=script)

    def parse_submit(self, stdout: str) -> str:
        return last_line(stdout)

    def find_command(self, name: str) -> Raw:
        return _FIND.raw(name=name)

    def status_command(self) -> Raw:
        return _STATUS.raw()

    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        rows = [
            line for line in stdout.splitlines() if line.strip() and line.split()[0][:1].isdigit()
        ]
        return parse_table('\n'.join(rows), 0, -2, _STATES)

    def cancel_command(self, remote_id: Union[str, Raw]) -> Raw:
        return _CANCEL.raw(job=remote_id)
