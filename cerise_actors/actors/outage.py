"""What the poller tells jobs' logs while the compute resource cannot be reached.

A failed status query never fails a job (the poller asks again, backing
off). Users should still learn why their job seems stuck: once contact has
been lost for `contact-timeout` seconds, each tracked job's log says so,
once per outage, and says again when contact returns. Kept apart from the
poller's rounds: this is only the bookkeeping of one outage and its words.
"""

import time
from typing import Iterable, Optional

from ..errors import ResourceError
from .base import StoreClient


class Outage:
    """The current outage, if any, and whether jobs' logs were told of it."""

    def __init__(self, store: StoreClient, contact_timeout: float):
        self._store = store
        self._contact_timeout = contact_timeout
        self._failing_since: Optional[float] = None  # monotonic time of the first failed query
        self._reported = False

    @property
    def reachable(self) -> bool:
        """Whether the last status query reached the resource (readiness)."""
        return self._failing_since is None

    def failed(self, exc: ResourceError, jobs: Iterable[str]) -> None:
        """A status query failed; after `contact_timeout` the logs of `jobs` say so, once."""
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        if not self._reported and now - self._failing_since >= self._contact_timeout:
            self._reported = True
            for job_id in jobs:
                self._store.add_log(
                    job_id,
                    f'No contact with the compute resource for '
                    f'{now - self._failing_since:.0f} s ({exc}); the job keeps its '
                    f'state and is followed again when contact returns.',
                    'WARNING',
                )

    def answered(self, jobs: Iterable[str]) -> None:
        """A status query reached the resource; jobs told of the outage hear it ended."""
        if self._reported:
            for job_id in jobs:
                self._store.add_log(job_id, 'Contact with the compute resource restored.')
        self._failing_since = None
        self._reported = False
