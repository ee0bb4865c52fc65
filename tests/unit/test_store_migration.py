"""A database made by an older version keeps working with today's JobStore.

Versions before 0.1 kept the workflow runner's exit code as text in a
`runner_result` column and had no `exit_code` column. The file is built here
with plain sqlite3, in the shape such a version left it, and then opened.
"""

import logging
import sqlite3

import pytest

from cerise_actors.jobs.states import JobState as S
from cerise_actors.store.job_store import JobStore

OLD_SCHEMA = [
    'CREATE TABLE "job" ('
    '"id" VARCHAR(36) NOT NULL PRIMARY KEY, "name" TEXT NOT NULL, '
    '"workflow_url" TEXT NOT NULL, "workflow_content" BLOB, "input_json" TEXT NOT NULL, '
    '"staged_input_json" TEXT, "output_json" TEXT, "state" VARCHAR(20) NOT NULL, '
    '"runner_result" TEXT, "remote_job_id" TEXT, "remote_dir" TEXT, '
    '"cores" INTEGER NOT NULL, "time_limit" INTEGER NOT NULL, '
    '"delete_requested" INTEGER NOT NULL, "created_at" REAL NOT NULL, '
    '"updated_at" REAL NOT NULL)',
    'CREATE TABLE "logline" ('
    '"id" INTEGER NOT NULL PRIMARY KEY, "job_id" VARCHAR(36) NOT NULL, '
    '"time" REAL NOT NULL, "level" VARCHAR(8) NOT NULL, "message" TEXT NOT NULL)',
]

OLD_COLUMNS = (
    'id, name, workflow_url, workflow_content, input_json, staged_input_json, output_json, '
    'state, runner_result, remote_job_id, remote_dir, cores, time_limit, delete_requested, '
    'created_at, updated_at'
)

# id -> (state, runner_result, the exit_code it must become)
OLD_JOBS = {
    'old-finished-3': (S.FINISHED, '3', 3),
    'old-killed': (S.PERMANENT_FAILURE, '-9', -9),
    'old-submitted': (S.SUBMITTED, None, None),
    'old-garbage': (S.SYSTEM_ERROR, 'x', None),
}


def _old_rows():
    rows = []
    for n, (job_id, (state, result, _)) in enumerate(OLD_JOBS.items()):
        rows.append(
            (
                job_id,
                f'name {n}',
                f'file:///w{n}.cwl',
                b'cwlVersion: v1.0\n' if state is not S.SUBMITTED else None,
                f'{{"n": {n}}}',
                None if state is S.SUBMITTED else f'{{"staged": {n}}}',
                '{"out": 1}' if state is S.FINISHED else None,
                state.value,
                result,
                None if state is S.SUBMITTED else f'remote-{n}',
                None if state is S.SUBMITTED else f'/scratch/{job_id}',
                n + 1,
                60 * n,
                0,
                1000.0 + n,
                2000.0 + n,
            )
        )
    return rows


@pytest.fixture
def old_db(tmp_path):
    path = tmp_path / 'old.db'
    db = sqlite3.connect(path)
    with db:
        for statement in OLD_SCHEMA:
            db.execute(statement)
        db.executemany(
            f'INSERT INTO job ({OLD_COLUMNS}) VALUES ({", ".join("?" * 16)})', _old_rows()
        )
        db.executemany(
            'INSERT INTO logline (job_id, time, level, message) VALUES (?, ?, ?, ?)',
            [(job_id, 1000.0, 'INFO', f'old line of {job_id}') for job_id in OLD_JOBS],
        )
    db.close()
    return path


def _columns(path, table):
    db = sqlite3.connect(path)
    try:
        return [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]
    finally:
        db.close()


def _snapshot(path):
    """Schema and every row of the file, to compare two openings."""
    db = sqlite3.connect(path)
    try:
        return (
            sorted(db.execute('SELECT type, name, tbl_name, sql FROM sqlite_master').fetchall()),
            db.execute('SELECT * FROM job ORDER BY id').fetchall(),
            db.execute('SELECT * FROM logline ORDER BY id').fetchall(),
        )
    finally:
        db.close()


def _open(path):
    return JobStore(path)


def test_old_jobs_survive_and_get_their_exit_code(old_db, caplog):
    assert 'exit_code' not in _columns(old_db, 'job')
    with caplog.at_level(logging.WARNING, logger='cerise_actors.store.job_store'):
        store = _open(old_db)
    try:
        assert any('exit_code' in record.getMessage() for record in caplog.records)
        assert sorted(job.id for job in store.page()[0]) == sorted(OLD_JOBS)
        rows = {row[0]: row for row in _old_rows()}
        for job_id, (state, _, exit_code) in OLD_JOBS.items():
            job = store.get(job_id, full=True)
            assert job is not None, job_id
            assert job.exit_code == exit_code, job_id
            assert job.state is state
            row = rows[job_id]
            assert (job.name, job.workflow_url, job.workflow_content, job.input_json) == (
                row[1],
                row[2],
                row[3],
                row[4],
            )
            assert (job.staged_input_json, job.output_json) == (row[5], row[6])
            assert (job.remote_job_id, job.remote_dir, job.cores, job.time_limit) == row[9:13]
            assert (job.delete_requested, job.created_at, job.updated_at) == (False, *row[14:16])
            assert store.log_lines(job_id) == [(1000.0, 'INFO', f'old line of {job_id}')]
    finally:
        store.close()
    columns = _columns(old_db, 'job')
    assert 'exit_code' in columns
    # the old column stays, untouched, for an older service opening the file
    assert 'runner_result' in columns
    db = sqlite3.connect(old_db)
    try:
        assert dict(db.execute('SELECT id, runner_result FROM job')) == {
            job_id: result for job_id, (_, result, _) in OLD_JOBS.items()
        }
    finally:
        db.close()


def test_a_migrated_database_takes_new_jobs_and_transitions(old_db):
    store = _open(old_db)
    try:
        new = store.create('new', 'file:///new.cwl', '{"a": 1}')
        assert store.get(new.id).exit_code is None
        assert store.transition(new.id, S.SUBMITTED, S.STAGING_IN, 'staging')
        assert store.transition(new.id, S.STAGING_IN, S.WAITING, 'staged', remote_job_id='r1')
        assert store.transition(new.id, S.WAITING, S.FINISHED, 'done', exit_code=0)
        assert store.get(new.id).exit_code == 0
        assert store.get(new.id).state is S.FINISHED
        # the old jobs move on too
        assert store.transition('old-finished-3', S.FINISHED, S.STAGING_OUT, 'staging out')
        assert store.transition('old-finished-3', S.STAGING_OUT, S.SUCCESS, 'published')
        assert store.get('old-finished-3').state is S.SUCCESS
        assert store.get('old-finished-3').exit_code == 3
        assert store.cancel('old-submitted').state is S.CANCELLED
        store.update('old-garbage', exit_code=-15)
        assert store.get('old-garbage').exit_code == -15
        assert [job.id for job in store.page()[0]][-1] == new.id
        assert len(store.page()[0]) == len(OLD_JOBS) + 1
        assert [line[2] for line in store.log_lines('old-finished-3')] == [
            'old line of old-finished-3',
            'staging out',
            'published',
        ]
    finally:
        store.close()


def test_opening_a_migrated_database_again_changes_nothing(old_db, caplog):
    _open(old_db).close()
    before = _snapshot(old_db)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='cerise_actors.store.job_store'):
        store = _open(old_db)
        try:
            assert {job.id: job.exit_code for job in map(store.get, OLD_JOBS)} == {
                job_id: exit_code for job_id, (_, _, exit_code) in OLD_JOBS.items()
            }
        finally:
            store.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert _snapshot(old_db) == before


def test_a_new_database_has_exit_code_and_no_runner_result(tmp_path):
    path = tmp_path / 'sub' / 'new.db'
    _open(path).close()
    columns = _columns(path, 'job')
    assert 'exit_code' in columns
    assert 'runner_result' not in columns
    assert _columns(path, 'logline') == ['id', 'job_id', 'time', 'level', 'message']
    # and opening it again changes nothing either
    before = _snapshot(path)
    _open(path).close()
    assert _snapshot(path) == before


# --- the owner column (per-user jobs) ------------------------------------------
def _index_names(path):
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        db.close()


def _owner_column(path):
    """(type, notnull, default) of job.owner as the file declares it."""
    db = sqlite3.connect(path)
    try:
        rows = [row for row in db.execute('PRAGMA table_info("job")') if row[1] == 'owner']
    finally:
        db.close()
    return rows[0][2:5] if rows else None


@pytest.fixture
def ownerless_db(tmp_path):
    """A file as the version before owners left it: today's schema without
    job.owner and its indexes, with a job in each of two states."""
    path = tmp_path / 'ownerless.db'
    store = JobStore(path)
    running = store.create('running', 'file:///w.cwl', '{}').id
    store.transition(running, S.SUBMITTED, S.STAGING_IN)
    store.create('submitted', 'file:///w.cwl', '{}', job_id='submitted')
    store.close()
    db = sqlite3.connect(path)
    with db:
        db.execute('DROP INDEX job_owner_listing')
        db.execute('DROP INDEX job_owner_state')
        db.execute('ALTER TABLE job DROP COLUMN owner')
    db.close()
    assert _owner_column(path) is None
    return path


@pytest.mark.parametrize('made_by', ['old_db', 'ownerless_db'])
def test_an_older_file_gains_the_owner_column_and_its_indexes(made_by, request, caplog):
    path = request.getfixturevalue(made_by)
    old_columns = ', '.join(f'"{name}"' for name in _columns(path, 'job') if name != 'exit_code')
    with caplog.at_level(logging.WARNING):
        store = _open(path)
    try:
        assert any('job.owner' in record.getMessage() for record in caplog.records)
        ids = [job.id for job in store.page()[0]]
        assert ids and all(store.get(job_id).owner == '' for job_id in ids)
        # the jobs made before users are the owner '' jobs, nobody else's
        assert [job.id for job in store.page(owner='')[0]] == ids
        assert store.page(owner='alice')[0] == [] and store.get(ids[0], owner='alice') is None
        assert sum(store.state_counts(owner='').values()) == len(ids)
        mine = store.create('new', 'file:///new.cwl', '{}', owner='alice', max_active=1)
        assert [job.id for job in store.page(owner='alice')[0]] == [mine.id]
        assert store.get(mine.id, owner='alice').owner == 'alice'
    finally:
        store.close()
    assert _owner_column(path) == ('VARCHAR(64)', 1, "''")
    assert {'job_owner_listing', 'job_owner_state'} <= _index_names(path)
    db = sqlite3.connect(path)
    try:
        # every old row reads '' in the new column (exit_code is carried over, above)
        old = db.execute(f"SELECT {old_columns} FROM job WHERE owner = '' ORDER BY id").fetchall()
        assert len(old) == len(ids)
    finally:
        db.close()


def test_opening_a_file_with_owners_again_changes_nothing(ownerless_db, caplog):
    _open(ownerless_db).close()
    before = _snapshot(ownerless_db)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _open(ownerless_db).close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert _snapshot(ownerless_db) == before
