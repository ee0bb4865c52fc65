"""Stage-out never follows a link out of the job (issue 18, item 7).

A job folder is built by hand, as a step that unpacks user data could leave
it, with the result JSON a configured `cwl-runner` (one without the default
runner's confinement) would print. StageOut is then run as the stager runs
it, on the local file system and over SFTP to the test bed: the target's
bytes are never published, and the job ends in PermanentFailure naming the
output. On the code before issue 18 these jobs ended in Success with
/etc/passwd (here: a secret file) under `output/<job id>/`.
"""

import concurrent.futures
import json
import os
from pathlib import Path

import pytest

from cerise_actors.errors import PermanentResourceError
from cerise_actors.jobs.states import JobState
from cerise_actors.resource.filesystem import LocalFileSystem
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.stage_out import RUNNER_LOG_NAME, StageOut

from ..remote.conftest import testbed  # noqa: F401  (the fixture)

SECRET = b'secret of the service account: nobody may publish this\n'
SUCCESS = 'INFO Final process status is success\n'
JOB = 'j1'


def never_stop():
    return None


class Job:
    """A finished job on the local resource, and the exchange it publishes to."""

    def __init__(self, root: Path):
        self.secret = root / 'outside' / 'secret.txt'
        self.secret.parent.mkdir()
        self.secret.write_bytes(SECRET)
        self.layout = ResourceLayout(str(root / 'resource'))
        self.exchange = Exchange(root / 'files', 'http://files.example')
        self.exchange.ensure_layout()
        self.paths = self.layout.job(JOB)
        self.work = Path(self.paths.work)
        (self.work / 'results').mkdir(parents=True)
        (self.work / 'results' / 'fine.txt').write_text('fine')
        Path(self.paths.stderr).write_text(SUCCESS)

    def report(self, **outputs):
        doc = {
            name: {'class': cls, 'location': (self.work / rel).as_uri()}
            for name, (cls, rel) in outputs.items()
        }
        Path(self.paths.stdout).write_text(json.dumps(doc))

    def stage_out(self, fs=None):
        stage_out = StageOut(fs or LocalFileSystem(), self.layout, self.exchange)
        return stage_out.run(JOB, 0, 0, never_stop)

    def published_bytes(self):
        """Every regular file's bytes under the exchange (links not followed)."""
        found = []
        for folder, _, files in os.walk(self.exchange.service_dir):
            for name in files:
                path = Path(folder, name)
                if not path.is_symlink():
                    found.append(path.read_bytes())
        return found


@pytest.fixture
def job(tmp_path):
    return Job(tmp_path)


def _refused(result, output):
    assert result.state is JobState.PERMANENT_FAILURE, result
    assert result.reason.startswith(f"output '{output}': "), result.reason
    assert 'symbolic link' in result.reason and 'not published' in result.reason
    assert result.output is None


def test_a_link_to_a_file_outside_in_a_directory_output(job):
    os.symlink(job.secret, job.work / 'results' / 'passwd')
    job.report(dir=('Directory', 'results'))
    result = job.stage_out()
    _refused(result, 'dir')
    assert 'results/passwd is a symbolic link' in result.reason
    assert SECRET not in job.published_bytes()
    # all outputs or none: the folder's other file is not left half-published
    assert not (job.exchange.output_dir(JOB) / 'results').exists()
    # the runner's log still is published, for the user to read
    assert (job.exchange.output_dir(JOB) / RUNNER_LOG_NAME).read_text() == SUCCESS


def test_a_file_output_that_is_a_link(job):
    os.symlink(job.secret, job.work / 'out.txt')
    job.report(out=('File', 'out.txt'))
    result = job.stage_out()
    _refused(result, 'out')
    assert SECRET not in job.published_bytes()


def test_a_file_output_below_a_linked_folder(job):
    os.symlink(job.secret.parent, job.work / 'sub')
    job.report(fine=('File', 'results/fine.txt'), out=('File', 'sub/secret.txt'))
    result = job.stage_out()
    _refused(result, 'out')
    assert 'sub is a symbolic link' in result.reason
    assert SECRET not in job.published_bytes()
    assert not (job.exchange.output_dir(JOB) / 'results' / 'fine.txt').exists()


def test_a_directory_output_that_is_a_link_to_a_folder_outside(job):
    os.symlink(job.secret.parent, job.work / 'linked')
    job.report(dir=('Directory', 'linked'))
    _refused(job.stage_out(), 'dir')
    assert SECRET not in job.published_bytes()


def test_a_link_to_a_folder_inside_a_directory_output_is_not_entered(job):
    os.symlink(job.secret.parent, job.work / 'results' / 'more')
    job.report(dir=('Directory', 'results'))
    _refused(job.stage_out(), 'dir')
    assert SECRET not in job.published_bytes()


def test_a_fifo_in_a_directory_output_does_not_block_stage_out(job):
    os.mkfifo(job.work / 'results' / 'pipe')  # opened for reading, it waits for a writer
    job.report(dir=('Directory', 'results'))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        staging = pool.submit(job.stage_out)
        try:
            result = staging.result(timeout=60)
        finally:
            if not staging.done():  # unblock the reader so the test ends
                with open(job.work / 'results' / 'pipe', 'wb'):
                    pass
    assert result.state is JobState.PERMANENT_FAILURE
    assert 'results/pipe is neither a file nor a folder' in result.reason


def test_a_runner_log_replaced_by_a_link_is_not_published(job):
    os.unlink(job.paths.stderr)
    os.symlink(job.secret, job.paths.stderr)
    job.report(dir=('Directory', 'results'))
    with pytest.raises(PermanentResourceError, match='stderr.txt is a symbolic link'):
        job.stage_out()
    assert SECRET not in job.published_bytes()


def test_a_link_planted_in_the_output_folder_is_replaced_not_written_through(job):
    """A user with a shell on the exchange plants links where outputs will go."""
    target = job.exchange.output_dir(JOB)
    (target / 'results').mkdir(parents=True)
    victim = job.secret.parent / 'victim.txt'
    victim.write_bytes(b'untouched')
    for name in ('results/.fine.txt.part', 'results/fine.txt', f'.{RUNNER_LOG_NAME}.part'):
        os.symlink(victim, target / name)
    job.report(dir=('Directory', 'results'))
    result = job.stage_out()
    assert result.state is JobState.SUCCESS, result
    assert victim.read_bytes() == b'untouched'
    assert (target / 'results' / 'fine.txt').read_text() == 'fine'
    assert not (target / 'results' / 'fine.txt').is_symlink()


def test_a_linked_folder_planted_in_the_output_folder_is_refused(job):
    target = job.exchange.output_dir(JOB)
    target.mkdir(parents=True)
    os.symlink(job.secret.parent, target / 'results')
    job.report(dir=('Directory', 'results'))
    with pytest.raises(PermanentResourceError, match='results is a symbolic link'):
        job.stage_out()
    assert sorted(p.name for p in job.secret.parent.iterdir()) == ['secret.txt']


# --- the same over SFTP, on the test bed --------------------------------------------


@pytest.fixture
def remote_job(testbed, tmp_path):  # noqa: F811
    """A job folder on the test bed, with links made by its user."""
    from cerise_actors.app.resources import build_resource

    job = Job(tmp_path)
    base = f'/home/{testbed.user_for("none")}/.cerise-tests/links-{tmp_path.name[-12:]}'
    resource = build_resource(testbed.api_config('none', base))
    job.layout = ResourceLayout(base)
    job.paths = job.layout.job(JOB)
    job.remote_work = job.paths.work
    work = job.paths.work
    testbed.ssh(
        'none',
        f'mkdir -p {work}/results && printf fine > {work}/results/fine.txt && '
        f'printf {SUCCESS.strip()!r} > {job.paths.stderr}',
    )
    yield job, resource, testbed
    try:
        resource.fs.remove(base)
    finally:
        resource.close()


def _remote_report(testbed, job, **outputs):  # noqa: F811
    doc = {
        name: {'class': cls, 'location': f'file://{job.remote_work}/{rel}'}
        for name, (cls, rel) in outputs.items()
    }
    testbed.ssh('none', f"printf '%s' '{json.dumps(doc)}' > {job.paths.stdout}")


@pytest.mark.parametrize(
    'make,outputs,output',
    [
        ('ln -s /etc/passwd {work}/results/passwd', {'dir': ('Directory', 'results')}, 'dir'),
        ('ln -s /etc/passwd {work}/out.txt', {'out': ('File', 'out.txt')}, 'out'),
        ('ln -s /etc {work}/sub', {'out': ('File', 'sub/passwd')}, 'out'),
        ('ln -s /etc {work}/results/etc', {'dir': ('Directory', 'results')}, 'dir'),
    ],
    ids=['link-in-directory', 'file-is-link', 'linked-folder-on-the-way', 'linked-subfolder'],
)
def test_over_sftp_a_link_out_of_the_job_is_never_published(remote_job, make, outputs, output):
    job, resource, bed = remote_job
    bed.ssh('none', make.format(work=job.remote_work))
    _remote_report(bed, job, **outputs)
    result = job.stage_out(resource.fs)
    _refused(result, output)
    passwd = bed.ssh('none', 'cat /etc/passwd').encode()
    assert all(passwd not in data for data in job.published_bytes())
    assert all(b'root:' not in data for data in job.published_bytes())


def test_over_sftp_a_plain_directory_output_is_still_published(remote_job):
    job, resource, bed = remote_job
    _remote_report(bed, job, dir=('Directory', 'results'))
    result = job.stage_out(resource.fs)
    assert result.state is JobState.SUCCESS, result
    assert (job.exchange.output_dir(JOB) / 'results' / 'fine.txt').read_text() == 'fine'
