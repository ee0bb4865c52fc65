"""The CWL runner's command line: the service's own runner, or the configured one."""

import dataclasses
import logging
import sys

from cerise_actors.config import api_config_from_dict
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.warm import CLIENT_SCRIPT
from cerise_actors.staging.runner_command import choose_runner, start_warm_runner
from cerise_actors.staging.runner_install import runner_python

LAYOUT = ResourceLayout('/home/u/.cerise')
PATHS = LAYOUT.job('j1')


def _value(argv, option):
    return argv[argv.index(option) + 1]


def test_our_runner_writes_only_inside_the_job_folder():
    for local in (True, False):
        argv = choose_runner(None, local).argv(LAYOUT, PATHS)
        assert '--disable-color' in argv and '--no-container' in argv and '--cores' not in argv
        assert _value(argv, '--outdir') == '/home/u/.cerise/jobs/j1/work'
        for option in ('--tmpdir-prefix', '--tmp-outdir-prefix'):
            assert _value(argv, option) == '/home/u/.cerise/jobs/j1/tmp/'


def test_locally_our_runner_runs_from_the_services_python():
    choice = choose_runner('', local=True)
    assert choice.configured is None and not choice.deployed
    assert choice.argv(LAYOUT, PATHS)[:3] == [sys.executable, '-m', 'cerise_actors.runner']
    assert choice.description.endswith('on this machine')


def test_elsewhere_our_runner_is_deployed_and_gets_the_jobs_cores():
    choice = choose_runner(None, local=False)
    assert choice.deployed
    argv = choice.argv(LAYOUT, PATHS, cores=4)
    assert argv[:3] == [runner_python(LAYOUT), '-m', 'cerise_runner']
    assert _value(argv, '--cores') == '4'
    assert choice.description.endswith('on the resource')


def test_a_configured_runner_gets_the_api_folder_and_is_split_like_a_shell():
    for variable in ('$CERISE_API_FILES', '${CERISE_API_FILES}'):
        choice = choose_runner(f"{variable}/p/files/run.sh --label 'two words'", local=True)
        assert not choice.deployed
        assert choice.argv(LAYOUT, PATHS, cores=8) == [
            '/home/u/.cerise/api/p/files/run.sh',
            '--label',
            'two words',
        ]
    assert choose_runner('my-runner', local=False).description == (
        "the configured runner 'my-runner'"
    )


def test_cerises_own_runner_is_replaced_by_ours(caplog):
    with caplog.at_level(logging.WARNING):
        choice = choose_runner('python3 $CERISE_API_FILES/cerise/cwltiny.py', local=False)
    assert choice.configured is None and choice.deployed
    assert "names Cerise's bundled runner" in caplog.text


def test_with_the_warm_runner_the_client_goes_in_front_of_the_same_arguments():
    cold = choose_runner(None, local=True)
    warm = dataclasses.replace(cold, warm_socket='/s/runner.sock')
    argv, cold_argv = warm.argv(LAYOUT, PATHS, cores=2), cold.argv(LAYOUT, PATHS, cores=2)
    assert argv[:4] == [sys.executable, '-I', '-S', CLIENT_SCRIPT]
    split = argv.index('--')
    assert argv[4:split] == ['--socket', '/s/runner.sock', '--python', sys.executable]
    # what the client runs cold, or hands to the warm runner, is the cold command line
    assert [sys.executable, '-m', 'cerise_actors.runner'] + argv[split + 1 :] == cold_argv
    assert 'warm runner' in warm.description


def test_the_warm_runner_is_only_for_our_runner_on_the_local_resource_without_a_scheduler():
    def jobs(**changes):
        base = api_config_from_dict({}, source='<test>', env={}).jobs
        return dataclasses.replace(base, **changes)

    local, remote = choose_runner(None, local=True), choose_runner(None, local=False)
    configured = choose_runner('cwltool', local=True)
    assert jobs().warm_runner, 'on by default'
    assert start_warm_runner(local, jobs(warm_runner=False), LAYOUT) is None
    assert start_warm_runner(remote, jobs(), LAYOUT) is None
    assert start_warm_runner(configured, jobs(), LAYOUT) is None
    assert start_warm_runner(local, jobs(scheduler='slurm'), LAYOUT) is None
