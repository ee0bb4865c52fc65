"""The shared base of the batch-scheduler adapters (Slurm, Torque, Grid Engine).

A subclass gives the directives of its job script, how to submit, how to
list the user's jobs, how to find a job by name and how to cancel; this base
turns those into exactly one shell command per operation. A poll runs the
status command and then reads the exit-code files of all polled jobs in
the same command, strictly parsed: a status command that failed or printed
something unexpected is an error, never "finished". Submission first looks
for a job of the same name and adopts it, so a submission whose reply was
lost, or a restart after a crash, never starts a second copy.

The commands are the templates scripts/batch_*.sh; a subclass's own command
lines are one-line templates (shell_template.line_template) rendered into
them, so every value is quoted by shell_template alone.
"""

import abc
import enum
import math
import posixpath
from typing import Dict, List, Optional, Tuple, Union

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
from .shell_template import Raw, line_template, script_template

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


def scheduler_logs(paths: JobPaths) -> Tuple[str, str]:
    """Paths of the scheduler's own stdout and stderr files for a job."""
    return (paths.dir + '/scheduler.out', paths.dir + '/scheduler.err')


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


_SUBMIT, _POLL, _CANCEL = (
    script_template('batch_submit.sh'),
    script_template('batch_poll.sh'),
    script_template('batch_cancel.sh'),
)
#: one line a job of a poll: `facts ID BATCH_ID DIR` (scripts/batch_poll.sh)
_FACTS = line_template('facts {{job_id}} {{remote_id}} {{dir}}')
#: the id in the claim, where a cancel command takes a job id
CLAIMANT = Raw('"$c"')

#: what the poller is told of a job (exit code, claimant, disk full)
Facts = Tuple[Optional[int], Optional[str], bool]


class BatchScheduler(Scheduler, abc.ABC):
    #: prefix of a directive line in the job script, e.g. '#SBATCH'
    directive = ''
    # id_variables (Scheduler): the job script claims its job with the batch
    # id, host part cut off (as `normalise_id` does), or its PID outside a
    # batch job

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
    def directives(self, req: SubmitRequest) -> List[Raw]:
        """Options (without the directive prefix), each rendered by a line template."""

    @abc.abstractmethod
    def submit_command(self, script: str) -> Raw:
        """Submits the job script at path `script` and prints the scheduler's id."""

    @abc.abstractmethod
    def parse_submit(self, stdout: str) -> str:
        """The remote id in what the submit command printed."""

    @abc.abstractmethod
    def find_command(self, name: str) -> Raw:
        """Prints the ids of the user's jobs called `name`, one a line."""

    @abc.abstractmethod
    def status_command(self) -> Raw:
        """Lists the user's jobs."""

    @abc.abstractmethod
    def parse_status(self, stdout: str) -> Dict[str, QueueState]:
        """remote id -> QueueState for the listed jobs."""

    @abc.abstractmethod
    def cancel_command(self, remote_id: Union[str, Raw]) -> Raw:
        """Cancels a job (an id, or CLAIMANT); must succeed (or be ignorable)
        for finished jobs."""

    def normalise_id(self, remote_id: str) -> str:
        return remote_id.strip()

    # --- the Scheduler interface ----------------------------------------------
    def script_header(self, req: SubmitRequest) -> Raw:
        """The directive lines. A value with a line break in it (a queue
        name, the job's folder) would end the directive's comment and run as
        bash: the job is refused instead. `scheduler-options` is the
        configuration's own line, copied as it is (docs/configuration.md)."""
        options = [option.text for option in self.directives(req)]
        if any('\n' in option for option in options):
            raise PermanentResourceError(
                f'a line break in a directive of the job script: {options!r}'
            )
        if self.scheduler_options:
            options.append(self.scheduler_options)
        return Raw(''.join(f'{self.directive} {option}\n' for option in options))

    def submit(self, req: SubmitRequest) -> str:
        delay = fault_submit_delay()
        command = _SUBMIT.render(
            exit_code=req.paths.exit_code,
            claim=req.paths.claim,
            adopted=_ADOPTED,
            finished=FINISHED_ID,
            find=self.find_command(job_name(req.job_id)),
            submit=self.submit_command(req.paths.script),
            delay=bool(delay),
            delay_seconds=str(delay),
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
        paths = jobs[0].paths  # the file names are the same in every job folder
        command = _POLL.render(
            status_marker=_STATUS,
            status=self.status_command(),
            failed_marker=_FAILED,
            exits_marker=_EXITS,
            exit_code=posixpath.basename(paths.exit_code),
            claim=posixpath.basename(paths.claim),
            disk_full=posixpath.basename(paths.disk_full),
            facts=Raw('\n'.join(self._job_facts(job) for job in jobs)),
            end_marker=_END,
        )
        result = self._run(command)
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
        """The line that prints the job's facts (`facts` in batch_poll.sh):
        its id, the batch id followed, and its folder."""
        return _FACTS.render(
            job_id=job.job_id, remote_id=self.normalise_id(job.remote_id), dir=job.paths.dir
        )

    def _split_poll_output(
        self, stdout: str, stderr: str
    ) -> Tuple[Dict[str, QueueState], Dict[str, Facts]]:
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
        facts: Dict[str, Facts] = {}  # job id -> (exit code, claimant, disk full)
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
        remote = self.normalise_id(remote_id)
        # the copy the claim names runs the job, if it is another one
        command = _CANCEL.render(
            claim=paths.claim,
            cancel=self.cancel_command(remote),
            remote_id=remote,
            cancel_claimant=self.cancel_command(CLAIMANT),
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
