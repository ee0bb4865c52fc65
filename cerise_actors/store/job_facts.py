"""What the store keeps in mind between a job's changes, so as not to read it again.

`Facts`: each job's owner and deletion flag; `ActiveCounts`: a bound of each
owner's unfinished jobs for the per-user limit. Both hold only because the
StoreActor's thread is the only writer of jobs, and both are forgotten
whenever a change or a batch is undone.
"""

from typing import Dict, Optional, Tuple

from .sql import COUNT_ACTIVE, OWNER_AND_DELETION, UNFINISHED, Connection


class ActiveCounts:
    """How many unfinished jobs each owner has, at most, so that a job made
    under the per-user limit need not count them (every one of them, up to
    the limit: in a burst, most of a creation's work).

    Only a creation adds to an owner's unfinished jobs, and it adds one here;
    a final state and a deletion take one away (a job removed is not
    followed: its owner's bound stays higher, never lower, than the count).
    Below the limit a bound lets the job be made; at the limit the jobs are
    counted, in the creation's transaction, and the count is the new bound.
    Whatever is undone (a change, a batch, or SQLite's own rollback) may
    have been counted: every bound is forgotten then (and every fact, see
    Facts). This holds because this store's thread is the only one that
    writes jobs."""

    def __init__(self, sql: Connection, facts: 'Facts') -> None:
        self._sql = sql
        self._facts = facts
        self._most: Dict[str, int] = {}

    def count(self, owner: str, most: int) -> int:
        """How many of `owner`'s jobs are unfinished and not being deleted,
        counted up to `most` (no further: that is all the limit needs)."""
        counted: int = self._sql.execute(COUNT_ACTIVE, [owner, *UNFINISHED, most]).fetchone()[0]
        return counted

    def below(self, owner: str, most: int) -> bool:
        """Whether `owner` has fewer than `most` unfinished jobs."""
        bound = self._most.get(owner)
        if bound is not None and bound < most:
            return True
        counted = self.count(owner, most)
        if counted < most:
            self._most[owner] = counted
            return True
        # counted only up to `most`: not a bound of more jobs than that (a
        # limit lowered at a restart), so none is kept and the next counts again
        self._most.pop(owner, None)
        return False

    def added(self, owner: str) -> None:
        """`owner` has one more (a job was made)."""
        if owner in self._most:
            self._most[owner] += 1

    def removed(self, owner: str) -> None:
        """`owner` has one fewer (a job of theirs ended or is being deleted)."""
        if owner in self._most:
            self._most[owner] -= 1

    def ending(self, job_id: str) -> Optional[str]:
        """Whose bound a final state of the job would lower: its owner's,
        unless it is being deleted (counted out then) or no bound is kept."""
        if self._most:
            owner, deleted = self._facts(job_id)
            if owner in self._most and not deleted:
                return owner
        return None

    def forget(self) -> None:
        self._most.clear()
        self._facts.forget()


class Facts:
    """Each job's owner and whether its deletion was asked, as last read or
    written here: the StoreActor's publications and the limit's bounds need
    them around a job's every change, and each read of them was a statement.
    An owner never changes, the deletion flag only by JobStore.request_delete,
    which says so (`known`); a job removed, or anything undone, is forgotten,
    and all of them beyond the jobs a busy service has in flight."""

    _MOST = 10_000

    def __init__(self, sql: Connection) -> None:
        self._sql = sql
        self._known: Dict[str, Tuple[str, bool]] = {}

    def __call__(self, job_id: str) -> Tuple[str, bool]:
        """The job's owner and whether its deletion was asked (('', False) if unknown)."""
        facts = self._known.get(job_id)
        if facts is None:
            row = self._sql.execute(OWNER_AND_DELETION, (job_id,)).fetchone()
            if row is None:
                return ('', False)
            facts = self.known(job_id, row[0], bool(row[1]))
        return facts

    def known(self, job_id: str, owner: str, deleted: bool) -> Tuple[str, bool]:
        if len(self._known) >= self._MOST:
            self._known.clear()
        facts = self._known[job_id] = (owner, deleted)
        return facts

    def forget(self, job_id: Optional[str] = None) -> None:
        if job_id is None:
            self._known.clear()
        else:
            self._known.pop(job_id, None)
