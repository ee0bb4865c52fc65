"""The service deploys its own CWL runner to a resource that has only python3 and bash.

Issue 11's "done when": as the test bed's `cerise-bare` user (no cwltool, no
node on its PATH) the hostname example and a workflow with JavaScript run to
Success on ssh + none and on Slurm, with the runner installed from the
service's wheelhouse; the installation reaches no package index (the bare
user's pip is pointed at a dead proxy while these tests run); and the
JavaScript escape fails cleanly, touching nothing on the resource.

One service per scheduler is shared by the tests of that scheduler: every
new base folder installs the runner again (a venv and ~40 wheels).
"""

import json
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cerise_actors.staging.wheelhouse import find_folder

from .. import workflows as wf
from .conftest import RemoteService

pytestmark = pytest.mark.remote  # needs the test bed (testbed/testbed.sh)

WHEELHOUSE = Path('/tmp/cerise-wheelhouse')
#: the bare user's pip config while these tests run: any download fails at once
PIP_CONF = '~/.config/pip/pip.conf'
PIP_CONF_TEXT = (
    '# written by tests/remote/test_remote_runner.py, removed when it ends\n'
    '[global]\nproxy = http://127.0.0.1:9\nindex-url = http://127.0.0.1:9/simple\n'
    'retries = 0\ntimeout = 3\n'
)

#: a project step whose input is computed by JavaScript in the runner's sandbox
JS_STEP = """cwlVersion: v1.0
class: Workflow
requirements:
  InlineJavascriptRequirement: {{expressionLib: {lib}}}
  StepInputExpressionRequirement: {{}}
inputs: {{name: string}}
outputs:
  output: {{type: File, outputSource: s/output}}
steps:
  s:
    run: test/echo.cwl
    in:
      text:
        source: name
        valueFrom: "{expression}"
    out: [output]
"""
JS_WORKFLOW = JS_STEP.format(
    lib='["function times(a, b) { return a * b; }"]',
    expression="${ return 'Hello ' + self.toUpperCase() + ', ' + [6, 7].reduce(times); }",
)

#: how an expression reaches node's `process` to run `touch MARKER`: the first
#: two do so in cwltool's node sandbox (`this` is an object of node's own realm);
#: the third finds no process in node either
PROCESS = {
    # in the sandbox `this` is undefined in an expression: a TypeError
    'this in an expression': ('', "this.constructor.constructor('return process')()"),
    # at the top of the expressionLib `this` is the global object
    'this in the expressionLib': (
        "var p = this.constructor.constructor('return process')();",
        'p',
    ),
    'an object literal': ('', "({}).constructor.constructor('return process')()"),
}
TOUCH = ".mainModule.require('child_process').execSync('touch MARKER').toString()"


def escape_workflow(how: str, marker: str) -> str:
    lib, process = PROCESS[how]
    return JS_STEP.format(
        lib=json.dumps([lib] if lib else []),
        expression='${ return ' + process + TOUCH.replace('MARKER', marker) + '; }',
    )


def bare_ssh(testbed, command: str, check=True) -> str:
    return testbed.ssh('none', command, check=check, user=testbed.bare_user)


@pytest.fixture(scope='session')
def wheelhouse(testbed):
    """A wheelhouse with wheels for the test bed's python3: /tmp/cerise-wheelhouse, built once."""
    out = bare_ssh(testbed, 'python3 -c "import sys; print(*sys.version_info[:2])"; uname -m')
    major, minor, machine = out.split()[:3]
    python = f'{major}.{minor}'
    if find_folder(WHEELHOUSE, python, machine) is None:  # cpXY-<machine>/, or the older cpXY/
        command = [sys.executable, '-m', 'cerise_actors', 'wheelhouse']
        command += ['--python', python, '--platform', machine, '--dest', str(WHEELHOUSE)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f'{command}: {result.stdout}{result.stderr}'
    folder = find_folder(WHEELHOUSE, python, machine)
    assert any(folder.glob('cwltool-*.whl')) and any(folder.glob('mini_racer-*.whl'))
    return WHEELHOUSE


@pytest.fixture(scope='module')
def no_package_index(testbed):
    """The bare user's pip cannot download anything while the tests of this file run."""
    if bare_ssh(testbed, f'test -e {PIP_CONF} && echo there || true').strip():
        pytest.fail(f'~{testbed.bare_user}/{PIP_CONF[2:]} exists already; remove it first')
    bare_ssh(
        testbed,
        f'mkdir -p ~/.config/pip && printf %s {shlex.quote(PIP_CONF_TEXT)} > {PIP_CONF}',
    )
    try:
        # the block works: the system's pip cannot fetch a package now
        tried = bare_ssh(
            testbed,
            'd=$(mktemp -d) && timeout 60 python3 -m pip download --no-deps -d "$d" six 2>&1'
            ' | tail -3; echo "exit ${PIPESTATUS[0]}"; rm -rf "$d"',
        )
        assert '127.0.0.1:9' in tried and tried.endswith('exit 1\n'), tried
        yield
    finally:
        bare_ssh(
            testbed,
            f'grep -q test_remote_runner {PIP_CONF} && rm -f {PIP_CONF} && rmdir ~/.config/pip',
            check=False,
        )


@pytest.fixture(scope='module', params=['none', 'slurm'])
def bare(request, testbed, wheelhouse, no_package_index, tmp_path_factory):
    """A started service whose resource is the bare user, with the runner deployed."""
    scheduler = request.param
    found = bare_ssh(
        testbed, 'for c in cwltool cwl-runner node nodejs; do command -v $c; done; true'
    )
    assert found.strip() == '', f'the bare user finds {found!r} on its PATH'
    root = tmp_path_factory.mktemp(f'bare-{scheduler}')
    with pytest.MonkeyPatch.context() as patch:
        # read when the service is built (app/system.py), so on every start
        patch.setenv('CERISE_WHEELHOUSE', str(wheelhouse))
        service = RemoteService(testbed, scheduler, root, user=testbed.bare_user, cwl_runner=None)
        started = time.monotonic()
        try:
            service.start()
            service.install_seconds = time.monotonic() - started
            print(
                f'\n{scheduler}: start-up with the runner deployed: {service.install_seconds:.1f} s'
            )
            yield service
        finally:
            service.cleanup()
    gone = bare_ssh(testbed, f'test -e {shlex.quote(service.base)} && echo left || true')
    assert gone.strip() == '', f'{service.base} was not removed'


def test_hostname_and_javascript_run_to_success(bare):
    client = bare.client
    jobs = {
        'hostname': client.submit(wf.HOSTNAME),
        'js': client.submit(JS_WORKFLOW, {'name': 'bare'}),
    }
    done = {name: client.wait_final(job['id'], timeout=300) for name, job in jobs.items()}
    for name, job in done.items():
        assert job['state'] == 'Success', (name, client.log(job['id'])[-2500:])
    assert client.output_text(done['hostname'], 'output').strip() == socket.gethostname()
    assert client.output_text(done['js'], 'output') == 'Hello BARE, 42\n'
    for job in done.values():
        log = client.log(job['id'])
        assert re.search(
            r'Started on the compute resource \(id [^)]+\), running cerise-runner ', log
        )
        warm = ', forked from the warm runner' if bare.scheduler == 'none' else '.'
        assert f'on the resource{warm}' in log  # the remote warm runner: ssh + none only
        script = bare.testbed.ssh(
            bare.scheduler, f'cat {bare.base}/jobs/{job["id"]}/run.sh', user=bare.testbed.bare_user
        )
        assert f'{bare.base}/api/.cerise-runner/venv/bin/python' in script


def test_the_runner_is_installed_in_the_base_folder(bare):
    runner = f'{bare.base}/api/.cerise-runner'
    installed = bare_ssh(bare.testbed, f'cat {runner}/installed')
    assert installed.startswith('python 3.'), installed
    out = bare_ssh(
        bare.testbed,
        f'{runner}/venv/bin/python -c "import cwltool, py_mini_racer; print(\'imports ok\')"',
    )
    assert out.strip() == 'imports ok'


def test_the_javascript_escapes_fail_and_touch_nothing(bare):
    client = bare.client
    markers = {how: f'{bare.base}/escaped-{i}' for i, how in enumerate(PROCESS)}
    jobs = {
        how: client.submit(escape_workflow(how, markers[how]), {'name': 'x'}) for how in PROCESS
    }
    for how, job in jobs.items():
        done = client.wait_final(job['id'], timeout=300)
        log = client.log(job['id'])
        assert done['state'] == 'PermanentFailure', (how, log[-2500:])
        expected = (
            "TypeError: Cannot read properties of undefined (reading 'constructor')"
            if how == 'this in an expression'
            else 'ReferenceError: process is not defined'
        )
        assert expected in log, (how, log[-2500:])
    left = bare_ssh(bare.testbed, f'ls {bare.base} | grep escaped || true')
    assert left.strip() == '', left


def test_a_second_start_does_not_install_the_runner_again(bare):
    runner = f'{bare.base}/api/.cerise-runner'
    stat = f'stat -c "%n %i %Y" {runner}/venv {runner}/installed {runner}/venv/bin/python'
    before = bare_ssh(bare.testbed, stat)
    bare.stop()
    started = time.monotonic()
    bare.start()
    seconds = time.monotonic() - started
    print(f'\n{bare.scheduler}: second start on the same base folder: {seconds:.1f} s')
    assert bare_ssh(bare.testbed, stat) == before
    assert seconds < bare.install_seconds
    client = bare.client
    done = client.wait_final(client.submit(wf.HOSTNAME)['id'], timeout=300)
    assert done['state'] == 'Success', client.log(done['id'])[-2500:]
