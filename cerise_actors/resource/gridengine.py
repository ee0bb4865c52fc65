"""Grid Engine: qsub -terse, qstat and qdel.

Grid Engine has no notion of nodes: cores are requested through a parallel
environment, which differs per cluster, so the specialisation names it in
`scheduler-options` (e.g. `-pe smp 4`).
"""

import shlex
from typing import Dict, List

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

_WAITING = ('qw', 'hqw', 'hRwq', 'Rq', 'Eqw', 'Rwq', 'hqwR', 's', 'S', 'T')


class GridEngineScheduler(BatchScheduler):
    directive = '#$'
    id_variables = ('JOB_ID',)

    def directives(self, req: SubmitRequest) -> List[str]:
        q = shlex.quote
        out, err = scheduler_logs(req.paths)
        # -V: the job sees the submitting shell's PATH (where the CWL runner is)
        options = [f'-N {q(job_name(req.job_id))}', '-S /bin/bash', '-V', f'-o {out}', f'-e {err}']
        if req.time_limit > 0:
            options.append(f'-l h_rt={walltime(req.time_limit)}')
        if self.queue_name:
            options.append(f'-q {q(self.queue_name)}')
        return options

    def submit_command(self, script: str) -> str:
        return f'qsub -terse {script}'

    def parse_submit(self, stdout: str) -> str:
        return last_line(stdout).split('.')[0]

    def find_command(self, name: str) -> str:
        return f"qstat -j {name} 2>/dev/null | awk '/^job_number:/ {{print $2}}'"

    def status_command(self) -> str:
        return 'qstat -u "$(id -un)"'

    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        rows = [line for line in stdout.splitlines() if line.strip() and line.split()[0].isdigit()]
        states = {state: QueueState.WAITING for state in _WAITING}
        return parse_table('\n'.join(rows), 0, 4, states)

    def cancel_command(self, remote_id: str) -> str:
        return f'qdel {remote_id}'
