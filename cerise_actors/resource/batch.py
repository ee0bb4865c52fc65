"""The shared base of the batch-scheduler adapters (Slurm, Torque, Grid Engine).

A subclass gives the directives of its job script, how to submit, how to
list the user's jobs, how to find a job by name and how to cancel; this base
turns those into exactly one shell command per operation. A poll runs the
status command and then reads the exit-code files of all polled jobs in
the same command, strictly parsed: a status command that failed or printed
something unexpected is an error, never "finished". Submission first looks
for a job of the same name and adopts it, so a submission whose reply was
lost, or a restart after a crash, never starts a second copy.
"""

import abc
import enum
import math
import posixpath
import shlex
from typing import Dict, List, Optional

from ..defaults import COMMAND_TIMEOUT, CORES_PER_NODE
from ..errors import PermanentResourceError, TemporaryResourceError
from .layout import JobPaths
from .scheduler import (
    PollRequest,
    RemoteState,
    RemoteStatus,
    Scheduler,
    SubmitRequest,
    fault_submit_delay,
)
from .shell import Shell

_STATUS, _FAILED, _EXITS, _END, _ADOPTED = (
    '@@cerise-status',
    '@@cerise-status-failed',
    '@@cerise-exit-codes',
    '@@cerise-end',
    '@@cerise-adopted',
)


#: the remote id of a job found already finished when (re)submitting it: it
#: ran before a crash, and its exit-code file tells the rest
FINISHED_ID = 'finished'


class QueueState(str, enum.Enum):
    """What a scheduler's job table says about a job, in our words."""

    WAITING = 'waiting'
    RUNNING = 'running'
    ENDED = 'ended'  # still listed, but over: the exit-code file decides


_TRANSIENT = (
    'timed out',
    'unable to contact',
    'try again',
    'temporarily',
    'connection refused',
    'not responding',
    'communication',
)


def _looks_transient(text: str) -> bool:
    """Scheduler errors that say the scheduler, not the job, had a problem."""
    text = text.lower()
    return any(words in text for words in _TRANSIENT)


def job_name(job_id: str) -> str:
    return f'cerise-{job_id}'


def scheduler_logs(paths: JobPaths):
    """Quoted paths of the scheduler's own stdout and stderr files for a job."""
    return (shlex.quote(paths.dir + '/scheduler.out'), shlex.quote(paths.dir + '/scheduler.err'))


def last_line(stdout: str) -> str:
    """The last non-empty line a submit command printed (where the id is)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ''


def nodes_for(cores: int, cores_per_node: int) -> int:
    """Whole nodes for `cores` (Cerise always allocates whole nodes)."""
    return max(1, math.ceil(cores / cores_per_node)) if cores > 0 else 1


def walltime(seconds: int) -> str:
    """HH:MM:SS, as all three schedulers accept."""
    hours, rest = divmod(int(seconds), 3600)
    return f'{hours:02d}:{rest // 60:02d}:{rest % 60:02d}'


def _facts_function(paths: JobPaths) -> str:
    """bash `facts ID BATCH_ID DIR`, printing `ID CODE` (the exit-code file),
    `ID claim=OTHER` (the claim names another job than the one followed) and
    `ID disk-full`; builtins but for the exit code's `cat`. Defined once, so
    a poll of 2,000 jobs sends one short line per job, not three long ones.
    The file names are the layout's (the same in every job folder)."""
    exit_code, claim, disk_full = (
        shlex.quote(posixpath.basename(name))
        for name in (paths.exit_code, paths.claim, paths.disk_full)
    )
    return (
        'facts() { local c=\n'
        f'  [ -f "$3"/{exit_code} ] && echo "$1" "$(cat "$3"/{exit_code})"\n'
        f'  read -r c <"$3"/{claim} 2>/dev/null\n'
        '  [ -n "$c" ] && [ "$c" != "$2" ] && echo "$1" "claim=$c"\n'
        f'  [ -e "$3"/{disk_full} ] && echo "$1" disk-full\n'
        '  return 0\n'
        '}'
    )


class BatchScheduler(Scheduler, abc.ABC):
    #: prefix of a directive line in the job script, e.g. '#SBATCH'
    directive = ''
    #: the environment variables that may hold the job's id in the job script,
    #: the first one set wins
    id_variables: tuple = ()

    @property
    def claim_id(self) -> str:
        """The job script claims its job with the batch id, host part cut off
        (as `normalise_id` does), or its PID outside a batch job."""
        value = '$$'
        for variable in reversed(self.id_variables):
            value = f'${{{variable}:-{value}}}'
        return f'me={value}; me=${{me%%.*}}'

    def __init__(
        self,
        shell: Shell,
        cores_per_node: int = CORES_PER_NODE,
        slots_per_node: Optional[int] = None,
        queue_name: Optional[str] = None,
        scheduler_options: Optional[str] = None,
        command_timeout: float = COMMAND_TIMEOUT,
    ):
        super().__init__(shell, command_timeout)
        self.cores_per_node = cores_per_node
        self.slots_per_node = slots_per_node
        self.queue_name = queue_name
        self.scheduler_options = scheduler_options

    # --- what a subclass says ---------------------------------------------
    @abc.abstractmethod
    def directives(self, req: SubmitRequest) -> List[str]:
        """Option strings (without the directive prefix), values already quoted."""

    @abc.abstractmethod
    def submit_command(self, script: str) -> str:
        """Submits `script` (quoted path) and prints the scheduler's id."""

    @abc.abstractmethod
    def parse_submit(self, stdout: str) -> str:
        """The remote id in what the submit command printed."""

    @abc.abstractmethod
    def find_command(self, name: str) -> str:
        """Prints the ids of the user's jobs called `name` (quoted), one a line."""

    @abc.abstractmethod
    def status_command(self) -> str:
        """Lists the user's jobs."""

    @abc.abstractmethod
    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        """remote id -> QueueState for the listed jobs."""

    @abc.abstractmethod
    def cancel_command(self, remote_id: str) -> str:
        """Cancels a job; must succeed (or be ignorable) for finished jobs."""

    def normalise_id(self, remote_id: str) -> str:
        return remote_id.strip()

    # --- the Scheduler interface ----------------------------------------------
    def script_header(self, req: SubmitRequest) -> str:
        lines = [f'{self.directive} {option}' for option in self.directives(req)]
        if self.scheduler_options:
            lines.append(f'{self.directive} {self.scheduler_options}')
        return '\n'.join(lines) + '\n'

    def submit(self, req: SubmitRequest) -> str:
        name = shlex.quote(job_name(req.job_id))
        exit_code = shlex.quote(req.paths.exit_code)
        claim = shlex.quote(req.paths.claim)
        delay = fault_submit_delay()
        command = (
            f'if [ -f {exit_code} ]; then echo "{_ADOPTED} {FINISHED_ID}"; exit 0; fi\n'
            f'if [ -s {claim} ]; then echo "{_ADOPTED} $(cat {claim})"; exit 0; fi\n'
            f'existing=$({self.find_command(name)})\n'
            f'if [ -n "$existing" ]; then echo "{_ADOPTED} $existing"; exit 0; fi\n'
            f'{self.submit_command(shlex.quote(req.paths.script))}'
            + (f'\nrc=$?; sleep {delay}; exit $rc' if delay else '')
        )
        result = self._shell.run(command, timeout=self._timeout, retry_safe=False)
        if result.exit_code != 0:
            message = (
                f'the scheduler did not take the job (exit code {result.exit_code}): '
                f'{(result.stderr or result.stdout).strip()}'
            )
            if _looks_transient(result.stderr + result.stdout):
                raise TemporaryResourceError(message)
            raise PermanentResourceError(message)
        for line in result.stdout.splitlines():
            if line.startswith(_ADOPTED):
                ids = line[len(_ADOPTED) :].split()
                if ids:
                    return self.normalise_id(ids[0])
        remote_id = self.parse_submit(result.stdout)
        if not remote_id:
            raise TemporaryResourceError(
                f"no job id in the scheduler's answer: {result.stdout.strip()!r}"
            )
        return self.normalise_id(remote_id)

    def poll(self, jobs: List[PollRequest]) -> Dict[str, RemoteStatus]:
        if not jobs:
            return {}
        lines = [
            f'echo {_STATUS}',
            f'{self.status_command()} || echo "{_FAILED} $?"',
            f'echo {_EXITS}',
            _facts_function(jobs[0].paths),
        ]
        lines.extend(self._job_facts(job) for job in jobs)
        lines.append(f'echo {_END}')
        result = self._run('\n'.join(lines))
        listed, facts = self._split_poll_output(result.stdout, result.stderr)
        statuses = {}
        for job in jobs:
            code, claimant, disk_full = facts.get(job.job_id, (None, None, False))
            state = listed.get(self.normalise_id(claimant or job.remote_id))
            if code is not None:
                remote = RemoteState.DONE
            elif state is QueueState.WAITING:
                remote = RemoteState.WAITING
            elif state is QueueState.RUNNING:
                remote = RemoteState.RUNNING
            else:
                remote = RemoteState.GONE
            statuses[job.job_id] = RemoteStatus(remote, code, claimant, disk_full)
        return statuses

    def _job_facts(self, job: PollRequest) -> str:
        """The line that prints the job's facts (`_facts_function`): its
        id, the batch id followed, and its folder."""
        q = shlex.quote
        return f'facts {q(job.job_id)} {q(self.normalise_id(job.remote_id))} {q(job.paths.dir)}'

    def _split_poll_output(self, stdout: str, stderr: str):
        lines = stdout.splitlines()
        if _STATUS not in lines or _EXITS not in lines or _END not in lines:
            raise TemporaryResourceError(f'incomplete status answer: {stderr.strip()[:500]}')
        status_lines = lines[lines.index(_STATUS) + 1 : lines.index(_EXITS)]
        failed = [line for line in status_lines if line.startswith(_FAILED)]
        if failed:
            raise TemporaryResourceError(
                f'status command failed ({failed[0][len(_FAILED) :].strip()}): '
                f'{stderr.strip()[:500]}'
            )
        listed = {
            self.normalise_id(k): v for k, v in self.parse_status('\n'.join(status_lines)).items()
        }
        facts = {}  # job id -> (exit code, claimant, disk full)
        for line in lines[lines.index(_EXITS) + 1 : lines.index(_END)]:
            job_id, _, fact = line.partition(' ')
            code, claimant, disk_full = facts.get(job_id, (None, None, False))
            fact = fact.strip()
            if fact.startswith('claim='):
                claimant = fact[len('claim=') :] or None
            elif fact == 'disk-full':
                disk_full = True
            elif fact.lstrip('-').isdigit():
                code = int(fact)
            # else: an exit-code file being written: judge it next round
            facts[job_id] = (code, claimant, disk_full)
        return listed, facts

    def cancel(self, remote_id: str, paths: JobPaths) -> None:
        if remote_id == FINISHED_ID:
            return
        remote = shlex.quote(self.normalise_id(remote_id))
        # the copy the claim names runs the job, if it is another one
        command = (
            f'c=; read -r c <{shlex.quote(paths.claim)} 2>/dev/null\n'
            f'{self.cancel_command(remote)}\nrc=$?\n'
            f'if [ -n "$c" ] && [ "$c" != {remote} ]; then {self.cancel_command("$c")}; rc=$?; fi\n'
            'exit $rc'
        )
        result = self._run(command)
        if result.exit_code != 0 and not self.cancel_error_is_harmless(
            result.stderr + result.stdout
        ):
            raise TemporaryResourceError(
                f'could not cancel job {remote_id}: {(result.stderr or result.stdout).strip()}'
            )

    def cancel_error_is_harmless(self, text: str) -> bool:
        """True if the cancel failed only because the job already ended."""
        text = text.lower()
        return any(
            words in text
            for words in (
                'invalid job id',
                'does not exist',
                'unknown job',
                'already completing',
                'job has finished',
                'not found',
            )
        )


def parse_table(
    stdout: str,
    id_column: int,
    state_column: int,
    states: Dict[str, QueueState],
    header_lines: int = 0,
) -> Dict[str, QueueState]:
    """Rows of a whitespace-separated status table -> id -> QueueState; a state
    the table does not know counts as running."""
    result = {}
    for line in stdout.splitlines()[header_lines:]:
        fields = line.split()
        if not fields or set(line.strip()) <= {'-', ' '}:
            continue
        if len(fields) <= max(id_column, state_column):
            raise TemporaryResourceError(f'unexpected status line {line!r}')
        result[fields[id_column]] = states.get(fields[state_column], QueueState.RUNNING)
    return result
