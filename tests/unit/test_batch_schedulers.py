"""The batch-scheduler adapters: job scripts, parsing, one command per poll.

A recording shell stands in for SSH here (pure logic); the same adapters run
against real Slurm, Torque wrappers and Grid Engine in tests/remote.
"""

import pytest

from cerise_actors.errors import PermanentResourceError, TemporaryResourceError
from cerise_actors.resource.batch import job_name, nodes_for, walltime
from cerise_actors.resource.gridengine import GridEngineScheduler
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import PollRequest, SubmitRequest
from cerise_actors.resource.shell import Shell, ShellResult
from cerise_actors.resource.slurm import SlurmScheduler
from cerise_actors.resource.torque import TorqueScheduler


class RecordingShell(Shell):
    def __init__(self, answers):
        self.answers = list(answers)
        self.commands = []

    def run(self, command, timeout=60.0, env=None, retry_safe=True):
        self.commands.append((command, retry_safe))
        return self.answers.pop(0)


def ok(stdout='', stderr='', code=0):
    return ShellResult(code, stdout, stderr)


LAYOUT = ResourceLayout('/home/u/.cerise')
JOB = '0f8fad5b-d9cb-469f-a165-70867728950e'


def request(cores=0, time_limit=0, job_id=JOB):
    return SubmitRequest(job_id, LAYOUT.job(job_id), ['cwltool'], cores, time_limit)


def make(cls, answers=(), **kwargs):
    shell = RecordingShell(answers)
    return cls(shell, cores_per_node=16, **kwargs), shell


@pytest.mark.parametrize(
    'cores,per_node,nodes', [(0, 16, 1), (1, 16, 1), (16, 16, 1), (17, 16, 2), (64, 16, 4)]
)
def test_whole_nodes_for_the_cores(cores, per_node, nodes):
    assert nodes_for(cores, per_node) == nodes


def test_walltime_format():
    assert walltime(59) == '00:00:59'
    assert walltime(101) == '00:01:41'
    assert walltime(90061) == '25:01:01'


def test_slurm_script_has_nodes_walltime_queue_and_options():
    scheduler, _ = make(
        SlurmScheduler,
        slots_per_node=4,
        queue_name='gpu q',
        scheduler_options='-C TitanX --gres=gpu:1',
    )
    script = scheduler.script(request(cores=20, time_limit=3600))
    assert f'#SBATCH --job-name={job_name(JOB)}\n' in script
    assert '#SBATCH --nodes=2\n' in script
    assert '#SBATCH --ntasks-per-node=4\n' in script
    assert '#SBATCH --time=01:00:00\n' in script
    assert "#SBATCH --partition='gpu q'\n" in script
    assert '#SBATCH -C TitanX --gres=gpu:1\n' in script
    assert script.startswith('#!/bin/bash\n#SBATCH')
    assert '( sleep 3540;' in script, 'the script stops the runner before Slurm kills it'


def test_torque_script():
    scheduler, _ = make(TorqueScheduler, slots_per_node=8)
    script = scheduler.script(request(cores=40, time_limit=120))
    assert '#PBS -l nodes=3:ppn=8\n' in script
    assert '#PBS -l walltime=00:02:00\n' in script
    assert f'#PBS -N {job_name(JOB)}\n' in script


def test_gridengine_script():
    scheduler, _ = make(GridEngineScheduler, queue_name='all.q')
    script = scheduler.script(request(cores=4, time_limit=61))
    assert '#$ -l h_rt=00:01:01\n' in script
    assert '#$ -q all.q\n' in script
    assert '#$ -S /bin/bash\n' in script


@pytest.mark.parametrize(
    'cls,answer,remote_id',
    [
        (SlurmScheduler, '4242\n', '4242'),
        (SlurmScheduler, '4242;cluster\n', '4242'),
        (TorqueScheduler, '17.headnode\n', '17'),
        (GridEngineScheduler, '99\n', '99'),
    ],
)
def test_submit_returns_the_scheduler_id_and_is_never_retried(cls, answer, remote_id):
    scheduler, shell = make(cls, [ok(answer)])
    assert scheduler.submit(request()) == remote_id
    command, retry_safe = shell.commands[0]
    assert retry_safe is False
    assert job_name(JOB) in command, 'looks for an earlier copy by name first'


def test_submit_adopts_a_job_already_there():
    scheduler, _ = make(SlurmScheduler, [ok('@@cerise-adopted 77\n')])
    assert scheduler.submit(request()) == '77'


def test_refused_submission_is_permanent():
    scheduler, _ = make(SlurmScheduler, [ok(stderr='sbatch: error: invalid partition', code=1)])
    with pytest.raises(PermanentResourceError, match='invalid partition'):
        scheduler.submit(request())


def _poll_answer(status, exits=''):
    return ok(f'@@cerise-status\n{status}@@cerise-exit-codes\n{exits}@@cerise-end\n')


def test_one_command_polls_fifty_jobs():
    ids = [f'job{n}' for n in range(50)]
    status = ''.join(f'{1000 + n} {"RUNNING" if n % 2 else "PENDING"}\n' for n in range(48))
    exits = f'{ids[48]} 0\n'
    scheduler, shell = make(SlurmScheduler, [_poll_answer(status, exits)])
    jobs = [PollRequest(job_id, str(1000 + n), LAYOUT.job(job_id)) for n, job_id in enumerate(ids)]
    result = scheduler.poll(jobs)
    assert len(shell.commands) == 1
    assert result['job0'].state == 'waiting' and result['job1'].state == 'running'
    assert result['job48'].state == 'done' and result['job48'].exit_code == 0
    assert result['job49'].state == 'gone'


def test_failed_status_command_is_never_finished():
    scheduler, _ = make(
        SlurmScheduler,
        [
            ok(
                '@@cerise-status\n@@cerise-status-failed 1\n@@cerise-exit-codes\n@@cerise-end\n',
                'slurm_load_jobs error: Unable to contact',
            )
        ],
    )
    with pytest.raises(TemporaryResourceError, match='Unable to contact'):
        scheduler.poll([PollRequest('a', '1', LAYOUT.job('a'))])


def test_cut_off_answer_is_an_error():
    scheduler, _ = make(SlurmScheduler, [ok('@@cerise-status\n1 RUNNING\n')])
    with pytest.raises(TemporaryResourceError):
        scheduler.poll([PollRequest('a', '1', LAYOUT.job('a'))])


def test_gridengine_status_table():
    table = (
        'job-ID  prior   name       user         state submit/start at     queue  slots\n'
        '-------------------------------------------------------------------------------\n'
        '     12 0.55500 cerise-0f8 cerise       r     11/24/2026 15:00:01 all.q@h    1\n'
        '     13 0.00000 cerise-1a2 cerise       qw    11/24/2026 15:00:02          1\n'
    )
    scheduler, _ = make(GridEngineScheduler)
    assert scheduler.parse_status(table) == {'12': 'running', '13': 'waiting'}


def test_torque_status_table():
    table = (
        '\nheadnode:\n'
        'Job ID  Username Queue Jobname SessID NDS TSK Memory Time  S Time\n'
        '------- -------- ----- ------- ------ --- --- ------ ----- - -----\n'
        '21.headnode cerise debug cerise-0f8 -- 1 1 -- 00:10:00 R 00:00:01\n'
        '22 cerise debug cerise-1a2 -- 1 1 -- 00:10:00 Q --\n'
    )
    scheduler, _ = make(TorqueScheduler)
    assert scheduler.parse_status(table) == {'21.headnode': 'running', '22': 'waiting'}


def test_cancel_of_a_finished_job_is_fine():
    scheduler, _ = make(
        SlurmScheduler, [ok(stderr='scancel: error: Invalid job id specified', code=1)]
    )
    scheduler.cancel('5', LAYOUT.job('a'))


def test_cancel_failure_is_reported():
    scheduler, _ = make(
        SlurmScheduler, [ok(stderr='scancel: error: Unable to contact slurm', code=1)]
    )
    with pytest.raises(TemporaryResourceError):
        scheduler.cancel('5', LAYOUT.job('a'))


def test_a_copy_that_already_finished_is_not_run_again():
    scheduler, shell = make(
        SlurmScheduler, [ok('@@cerise-adopted finished\n'), _poll_answer('', f'{JOB} 0\n')]
    )
    remote_id = scheduler.submit(request())
    assert 'exit_code' in shell.commands[0][0]
    status = scheduler.poll([PollRequest(JOB, remote_id, LAYOUT.job(JOB))])[JOB]
    assert (status.state, status.exit_code) == ('done', 0)
    scheduler.cancel(remote_id, LAYOUT.job(JOB))  # nothing to cancel, no command
    assert len(shell.commands) == 2


def test_controller_trouble_on_submit_is_temporary():
    scheduler, _ = make(
        SlurmScheduler,
        [
            ok(
                stderr='sbatch: error: Batch job submission failed: Socket timed out on send/recv',
                code=1,
            )
        ],
    )
    with pytest.raises(TemporaryResourceError):
        scheduler.submit(request())
