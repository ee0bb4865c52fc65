"""The job database's tables and indexes, and bringing an older file up to date.

Run once when a JobStore opens its file. Columns are only ever added
(nullable or with a default) and indexes made if missing, so a database made
by an older version keeps its jobs and gains the new fields, and opening an
up-to-date file changes nothing.
"""

import logging
from typing import Callable, Type

import peewee
from playhouse.migrate import SqliteMigrator, migrate

from . import pages
from .models import Job, LogLine
from .sql import SqlDatabase

logger = logging.getLogger(__name__)

#: a user's unfinished jobs and state counts, from the index alone: the
#: state and delete_requested follow the owner, so counting a user's
#: unfinished jobs reads those rows of the index only (JobStore.active_count)
ACTIVE_INDEX = 'CREATE INDEX IF NOT EXISTS job_owner_state ON job (owner, state, delete_requested)'
#: indexes earlier versions made that no query needs. Each write of a job
#: updates them: the state's moved its entry on every transition (some two
#: of the nine pages a transition wrote to the log), and the few queries on
#: it or on delete_requested read job_listing, which holds both
UNUSED_INDEXES = (
    'job_created_at_id',  # what job_listing was before
    'boundjob_state',
    'boundjob_delete_requested',
)


def prepare(db: peewee.Database, job_model: Type[Job], log_model: Type[LogLine]) -> None:
    """Make the tables and indexes, adding what an older file lacks.

    The indexes on the owner are made here, after the column: a model's own
    index would be made by create_tables, before an older table has it."""
    db.create_tables([job_model, log_model])
    _add_missing_columns(db, job_model, log_model)
    sql: SqlDatabase = db  # its fixed SQL, typed
    for index in (pages.INDEX, pages.OWNER_INDEX, ACTIVE_INDEX):
        sql.execute_sql(index)
    for name in UNUSED_INDEXES:
        sql.execute_sql(f'DROP INDEX IF EXISTS {name}')


def _add_missing_columns(
    db: peewee.Database, job_model: Type[Job], log_model: Type[LogLine]
) -> None:
    migrator = SqliteMigrator(db)
    for model in (job_model, log_model):
        table = model._meta.table_name
        present = {column.name for column in db.get_columns(table)}
        missing = [field for field in model._meta.sorted_fields if field.column_name not in present]
        for field in missing:
            logger.warning(
                'database %s: adding column %s.%s', db.database, table, field.column_name
            )
            if not field.null and isinstance(field.default, str):
                _add_text_column(db, table, field)
            else:
                migrate(migrator.add_column(table, field.column_name, field))
        if model is job_model and 'runner_result' in present:
            _copy_runner_results(db)


def _add_text_column(db: peewee.Database, table: str, field: peewee.Field) -> None:
    """Add a NOT NULL text column with its default in one ALTER TABLE (SQLite
    gives existing rows the default without writing them). peewee's
    add_column would add it nullable, write every row, and copy the whole
    table, every job's input with it, to make the column NOT NULL."""
    ctx = db.get_sql_context()
    render: Callable[[peewee.Node], object] = ctx.sql  # peewee's stubs leave it untyped
    render(field.ddl(ctx))
    definition, _ = ctx.query()
    default = "'" + field.default.replace("'", "''") + "'"
    sql: SqlDatabase = db
    sql.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {definition} DEFAULT {default}')


def _copy_runner_results(db: peewee.Database) -> None:
    """Earlier versions kept the runner's exit code as text in
    `runner_result`; carry it over to the integer column. The old column
    stays, so an older service can still open the file, and what it writes
    there is carried over at every start."""
    sql: SqlDatabase = db
    with db.atomic():
        sql.execute_sql(
            'UPDATE job SET exit_code = CAST(runner_result AS INTEGER) '
            "WHERE exit_code IS NULL AND runner_result GLOB '*[0-9]*' "
            "AND ltrim(runner_result, '-') NOT GLOB '*[^0-9]*' "
            "AND length(runner_result) - length(ltrim(runner_result, '-')) <= 1"
        )
