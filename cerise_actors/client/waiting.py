"""Waiting for a job to end, and telling whoever watches how it goes.

Job.wait delegates here. The loop polls with a growing interval, rides out
short outages of the service (a restart) and reports them, and while the job
runs reads its log for step progress (progress.py), which `submit --wait`
prints; a log without step lines (an older service) just gives none.
"""

import time
from typing import TYPE_CHECKING, Callable, Optional

from .errors import ClientError, JobNotFound, ServiceError, ServiceUnreachable, WaitTimeout
from .progress import step_progress

if TYPE_CHECKING:  # pragma: no cover
    from .job import Job

FINAL_STATES = frozenset(
    {'Success', 'Cancelled', 'PermanentFailure', 'TemporaryFailure', 'SystemError'}
)
#: the longest outage of the service a wait rides out, in seconds
OUTAGE_GRACE = 60.0
#: seconds between two "service unreachable" reports during one outage
OUTAGE_REPORT_EVERY = 5.0


def wait_for_job(
    job: 'Job',
    timeout: Optional[float],
    progress: Optional[Callable[[str], None]],
    interval: float,
    on_progress: Optional[Callable[[dict, str], None]],
) -> str:
    """Job.wait (see there); the final state."""
    job_id = job._require_id('wait')
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    delay, last, outage, told, told_steps = 0.1, None, None, None, None

    def tell(status: str) -> None:
        if on_progress is not None:
            on_progress(job.data, status)

    while True:
        try:
            state = job.refresh()['state']
            if outage is not None:
                tell(f'service reachable again after {time.monotonic() - outage:.0f} s')
            outage = None
        except JobNotFound:
            raise
        except (ServiceUnreachable, ServiceError) as exc:
            if isinstance(exc, ServiceError) and exc.status != 503:
                raise
            now = time.monotonic()
            if outage is None:
                outage, told = now, None
            if now - outage > OUTAGE_GRACE:
                raise
            if told is None or now - told >= OUTAGE_REPORT_EVERY:
                told = now
                what = 'unreachable' if isinstance(exc, ServiceUnreachable) else 'unavailable'
                tell(f'service {what}, retrying ({now - outage:.0f} s)')
            state = last
        if state != last and state is not None:
            last = state
            if progress is not None:
                progress(state)
            tell(state)
        if state == 'Running' and on_progress is not None and outage is None:
            steps = _step_progress(job)
            if steps and steps != told_steps:
                told_steps = steps
                tell(f'Running: {steps} ({time.monotonic() - start:.0f} s)')
        if state in FINAL_STATES:
            return state
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            raise WaitTimeout(
                f'job {job_id} ({job.name!r}) is still {last} after {timeout:g} s',
                job_id,
                last,
            )
        sleep = min(delay, interval)
        if deadline is not None:
            sleep = min(sleep, max(deadline - now, 0.0))
        time.sleep(sleep)
        delay = min(delay * 1.5, interval)


def _step_progress(job: 'Job') -> Optional[str]:
    try:
        return step_progress(job.log)
    except ClientError:  # the progress is a nicety: never fail a wait for it
        return None
