"""Group commit: the StoreActor's changes, made while more asks wait, committed together.

In a burst every job makes some ten changes to the job database, each its
own transaction: the same few pages (the job's row, the listing indexes,
the log) are written to the WAL again for each, and every write and lock
is a system call that hands the interpreter's lock to another thread and
back. Here the StoreActor opens one transaction when it takes a message
and commits it once its inbox is empty (or after `most` messages): while
askers wait, their changes share one commit.

Nothing changes for those who ask. Each change is still made, with its log
line, by one compare-and-swap in the store's one thread, in order; a change
that fails (a refused transition, a user at their limit) is undone alone
(store/sql.py: Connection.move and insert take back their first statement
when the next fails). And nobody learns of a
change before it is committed: the answers to the asks of a batch (their
futures, `StoreFuture`) and what the store tells others (its publications,
`later`) are held until the commit and then given in the order they were
made, publications of a change before its answer, as before. If the commit
fails (a full disk), no change of the batch is kept and each of its asks
gets that error, as a single failed commit gave its one ask before.
"""

import functools
import logging
import sys
import threading
from typing import (
    Any,
    Callable,
    ContextManager,
    FrozenSet,
    List,
    Optional,
    Protocol,
    Tuple,
    TypeVar,
)

import peewee

from ..errors import StorageFull
from .mailbox import ExcInfo, LockFuture

logger = logging.getLogger(__name__)

#: the batch of the store thread that is handling a message, if any
_local = threading.local()

T = TypeVar('T')
C = TypeVar('C', bound=type)
#: what runs once the batch is committed: an action, its arguments, and the
#: future it completes (None for a publication, which no one waits for)
_Held = Tuple[Callable[..., object], Tuple[object, ...], Optional[LockFuture]]


class _Inbox(Protocol):
    """The store's inbox, as far as a batch looks at it."""

    def empty(self) -> bool: ...


class GroupCommit:
    """One open transaction over the messages the store handles in a row."""

    def __init__(
        self,
        transaction: Callable[[], ContextManager[object]],
        inbox: _Inbox,
        most: int = 64,
        translate: Callable[[BaseException], BaseException] = lambda e: e,
        in_transaction: Callable[[], bool] = lambda: True,
    ) -> None:
        """`transaction()` makes a peewee transaction context; `inbox` is the
        store's (its emptiness ends a batch); `translate(exc)` is what the
        held asks get when the commit fails with `exc`; `in_transaction()`
        says whether SQLite still holds the batch's transaction (it rolls
        back on its own after some errors: then the batch is aborted, so no
        later change runs outside it and no rolled-back change is answered)."""
        self._in_transaction = in_transaction
        self._transaction = transaction
        self._translate = translate
        self._inbox = inbox
        self._most = most
        self._open: Optional[ContextManager[object]] = None
        self._held: List[_Held] = []
        self._messages = 0

    @property
    def open(self) -> bool:
        return self._open is not None

    def begin(self) -> None:
        """Before a message: join the open batch, or open one."""
        if self._open is None:
            transaction = self._transaction()
            self._open = transaction
            transaction.__enter__()
            _local.batch = self
        self._messages += 1

    def later(self, action: Callable[..., object], *args: object) -> None:
        """Run `action(*args)` once the batch is committed (now if none is open)."""
        if self._open is None:
            action(*args)
        else:
            self._held.append((action, args, None))

    def hold(self, future: LockFuture, complete: Callable[[T], object], result: T) -> None:
        """Complete `future` with `result` once the batch is committed."""
        self._held.append((complete, (result,), future))

    def after(self) -> None:
        """After a message: commit if no other waits, or the batch is long; abort
        if SQLite has left the batch's transaction (fail closed)."""
        if self._open is None:
            return
        if not self._in_transaction():
            self.abort(RolledBack(_ROLLED_BACK))
            logger.error('the job database: %s', _ROLLED_BACK)
        elif self._inbox.empty() or self._messages >= self._most:
            self.commit()

    def commit(self) -> None:
        """Commit, then give what was held; on failure, fail the held answers."""
        transaction, self._open = self._open, None
        if transaction is None:  # after() and the StoreActor's on_stop check `open`
            raise RuntimeError('no batch of the job store is open to commit')
        held, self._held, self._messages = self._held, [], 0
        _local.batch = None
        try:
            transaction.__exit__(None, None, None)
        except Exception as exc:
            _fail(held, self._translate(exc))
            raise
        for action, args, _ in held:
            action(*args)

    def abort(self, exc: BaseException) -> None:
        """Roll the batch back (a statement failed in a way that may have ended
        the transaction): none of its changes is kept, its asks get `exc`."""
        if self._open is None:
            return
        transaction, self._open = self._open, None
        held, self._held, self._messages = self._held, [], 0
        _local.batch = None
        try:
            transaction.__exit__(type(exc), exc, exc.__traceback__)
        except Exception:  # noqa: BLE001 - already rolled back by SQLite
            pass
        _fail(held, exc)


class _Grouped(Protocol):
    """An actor whose public methods run in its group commit (in_group_commit)."""

    _group: Optional[GroupCommit]


class RolledBack(peewee.OperationalError):
    """SQLite rolled the batch's transaction back on its own (after an error
    that was handled where it happened): none of the batch's changes is kept."""


_ROLLED_BACK = 'SQLite rolled back the open transaction; these changes were not kept'


def _fail(held: List[_Held], exc: BaseException) -> None:
    """Held answers get `exc`; held publications are dropped (nothing happened)."""
    for _, _, future in held:
        if future is not None:
            LockFuture.set_exception(future, (type(exc), exc, exc.__traceback__))


class StoreFuture(LockFuture):
    """A LockFuture whose value, set in the store's thread during a batch, is
    given only once the batch is committed."""

    def set(self, value: Any = None) -> None:  # the asked method's answer
        batch: Optional[GroupCommit] = getattr(_local, 'batch', None)
        if batch is None:
            LockFuture.set(self, value)
        else:
            batch.hold(self, lambda v: LockFuture.set(self, v), value)
            batch.after()

    def set_exception(self, exc_info: Optional[ExcInfo] = None) -> None:
        exc_info = exc_info or sys.exc_info()
        batch: Optional[GroupCommit] = getattr(_local, 'batch', None)
        if batch is None:
            LockFuture.set_exception(self, exc_info)
        else:
            batch.hold(self, lambda e: LockFuture.set_exception(self, e), exc_info)
            batch.after()


def _disk_full(exc: BaseException) -> bool:
    """Whether SQLite said "database or disk is full", also when peewee's
    rollback afterwards failed and hid it ("no transaction is active")."""
    seen = 0
    current: Optional[BaseException] = exc
    while current is not None and seen < 5:
        if 'disk is full' in str(current):
            return True
        current, seen = current.__context__, seen + 1
    return False


#: what a full disk under the job database is told as
_FULL = 'the job database cannot be written: its disk is full'


def translated(exc: BaseException) -> BaseException:
    """What the held asks of a batch get for `exc` (see in_group_commit)."""
    if isinstance(exc, peewee.OperationalError) and _disk_full(exc):
        full = StorageFull(_FULL)
        full.__cause__ = exc
        return full
    return exc


def in_group_commit(cls: C) -> C:
    """Wrap every public method of `cls` so that it runs in the store's group
    commit (`self._group`), and so that SQLite's "database or disk is full"
    reaches callers as StorageFull (the API answers 507 with a reason) rather
    than as a driver error (a bare 500). Every other error, such as
    TooManyActiveJobs (a 429), reaches the asker as it is.

    The methods `cls._reads_only` names change nothing: with no batch open
    they run without one (no transaction to begin and commit) and are
    answered at once, since all they read is committed; with one open they
    join it, and their answers wait for its commit as every other's."""
    reads: FrozenSet[str] = getattr(cls, '_reads_only', frozenset())

    def translating(method: Callable[..., T], only_reads: bool) -> Callable[..., T]:
        @functools.wraps(method)
        def wrapper(self: _Grouped, *args: object, **kwargs: object) -> T:
            group = self._group
            try:
                if group is not None and (group.open or not only_reads):
                    group.begin()
                try:
                    return method(self, *args, **kwargs)
                except peewee.OperationalError as exc:  # the transaction may be gone
                    if group is not None:
                        group.abort(translated(exc))
                    raise
                finally:
                    if group is not None:
                        group.after()
            except peewee.OperationalError as exc:
                if not _disk_full(exc):
                    raise
                logger.error('the job database cannot be written: %s', exc)
                raise StorageFull(_FULL) from exc

        return wrapper

    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith('_') and not name.startswith('on_'):
            setattr(cls, name, translating(value, name in reads))
    return cls
