"""End to end through HTTP: JavaScript in workflows runs, and runs in the runner's sandbox.

Expressions in a submitted workflow (and in installed steps) are evaluated by
cerise_actors/runner in a V8 isolate with no `process`, no `require`, no module
loading, no file access and time and memory limits. Each escape attempt below must
end the job in PermanentFailure with the JavaScript error in the job log, leave no
file behind (the attempts that would write one aim at a marker under tmp_path), leave
the installed specialisation on the resource as it was, and leave the service able
to run the next job. The limits come from CERISE_JS_TIMEOUT and CERISE_JS_MAX_MEMORY,
which a local job inherits from the service's environment.

The attempts through the global object's constructor (HOST_PROCESS, HOST_REQUIRE) are
not hypothetical: run by plain cwltool, whose JavaScript engine is Node.js, the same
workflows write the marker.
"""

import hashlib
import json

import pytest

from .. import workflows as wf

NAME = 'js'


def _tree(folder):
    """{relative path: sha1} of every file under `folder`."""
    return {
        str(path.relative_to(folder)): hashlib.sha1(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob('*'))
        if path.is_file()
    }


@pytest.fixture
def start_service(monkeypatch, make_service):
    """A service started with these environment variables (the JavaScript limits)."""

    def start(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return make_service()

    return start


def _run_javascript_workflow(client, number=5, name='Ada'):
    """JAVASCRIPT must succeed: the workflow's and the steps' expressions were evaluated."""
    done = client.wait_final(client.submit(wf.JAVASCRIPT, {'number': number, 'name': name})['id'])
    log = client.log(done['id'])
    assert done['state'] == 'Success', log
    return done, log


def test_javascript_in_the_workflow_and_in_installed_steps(client):
    done, log = _run_javascript_workflow(client, number=5, name='Ada')
    # ${ self + 1 } in the workflow, then twice() of the ExpressionTool's expressionLib
    assert done['output']['doubled'] == 12
    # $(greet(self)) from the workflow's expressionLib, then the ExpressionTool's message
    assert done['output']['message'] == 'hello Ada x2 = 12'
    # the CommandLineTool's arguments: $(inputs.text.toUpperCase()) and ${ count * 3 }
    assert client.output_text(done, 'shouted') == 'ADA 15\n'
    assert 'Success: 1 output file(s) published.' in log
    assert 'WARNING' not in log and 'ERROR' not in log, log


def test_input_values_reach_expressions_as_data_not_code(client, tmp_path):
    marker = tmp_path / 'escaped'
    name = f"'); require('fs').writeFileSync({json.dumps(str(marker))}, 'x'); ('"
    done, _ = _run_javascript_workflow(client, number=1, name=name)
    assert done['output']['message'] == f'hello {name} x2 = 4'
    assert client.output_text(done, 'shouted') == f'{name.upper()} 3\n'
    assert not marker.exists()


def _write(marker):
    """JavaScript that writes `marker` with node's fs module, given node's `process` as p."""
    return (
        "var fs = p.getBuiltinModule ? p.getBuiltinModule('fs') : p.mainModule.require('fs'); "
        f"fs.writeFileSync({json.dumps(str(marker))}, 'escaped');"
    )


# The global object's constructor comes from outside a node `vm` context: with the
# Node.js engine cwltool uses by default, these reach node's `process` and `require`
# and write the marker. In the sandbox they find V8's own Function, and nothing else.
HOST_PROCESS = "Function('return this')().constructor.constructor('return process')()"
HOST_REQUIRE = "Function('return this')().constructor.constructor('return require')()"


def _escape_cases(marker):
    """(workflow, words the job log must show) for each escape attempt."""
    m = json.dumps(str(marker))
    return {
        'this-constructor': (
            wf.js_step_input(
                "${ var p = this.constructor.constructor('return process')(); "
                + _write(marker)
                + " return 'escaped'; }"
            ),
            ['TypeError: Cannot read properties of undefined', "reading 'constructor'"],
        ),
        'function-constructor': (
            wf.js_step_input(
                "${ var p = (function () {}).constructor('return process')(); "
                + _write(marker)
                + " return 'escaped'; }"
            ),
            ['ReferenceError: process is not defined'],
        ),
        'global-constructor-process': (
            wf.js_step_input(f"${{ var p = {HOST_PROCESS}; {_write(marker)} return 'escaped'; }}"),
            ['ReferenceError: process is not defined'],
        ),
        'global-constructor-require': (
            wf.js_step_input(
                f"${{ var r = {HOST_REQUIRE}; r('child_process').execSync('touch ' + {m}); "
                "return 'escaped'; }"
            ),
            ['ReferenceError: require is not defined'],
        ),
        'require': (
            wf.js_step_input(
                f"${{ require('child_process').execSync('touch ' + {m}); return 'escaped'; }}"
            ),
            ['ReferenceError: require is not defined'],
        ),
        'dynamic-import': (
            wf.js_step_input(
                f"${{ return import('fs').then(function (fs) {{ fs.writeFileSync({m}, 'x'); }}); }}"
            ),
            ['JavaScript expression returned a Promise', 'import() loads no modules'],
        ),
        'read': (
            wf.js_step_input("${ return read('/etc/passwd'); }"),
            ['ReferenceError: read is not defined'],
        ),
        'load': (
            wf.js_step_input("${ load('/etc/passwd'); return 'loaded'; }"),
            ['ReferenceError: load is not defined'],
        ),
        'deep-recursion': (
            wf.js_step_input('${ function down(n) { return down(n + 1) + 1; } return down(0); }'),
            ['RangeError: Maximum call stack size exceeded'],
        ),
        'lib-global-constructor': (
            wf.js_step_input(
                "${ return 'not reached'; }", [f'var p = {HOST_PROCESS}; {_write(marker)}']
            ),
            ['ReferenceError: process is not defined'],
        ),
        'lib-require': (
            wf.js_step_input(
                "$(run('touch'))",
                [
                    f"function run(cmd) {{ return {HOST_REQUIRE}('child_process')"
                    f".execSync(cmd + ' ' + {m}).toString(); }}"
                ],
            ),
            ['ReferenceError: require is not defined'],
        ),
    }


ESCAPES = list(_escape_cases('marker'))


def _refused(client, service, workflow, words, marker):
    """Run `workflow`: PermanentFailure, `words` in the log, nothing written, service well."""
    installed = _tree(service.root / 'resource' / 'api')
    done = client.wait_final(client.submit(workflow, name=NAME)['id'])
    log = client.log(done['id'])
    assert done['state'] == 'PermanentFailure', log
    for word in words:
        assert word in log, log
    assert 'The workflow failed: the workflow runner reported permanentFail.' in log, log
    assert not any(done['output'].values()), done['output']  # nothing was produced
    assert not marker.exists(), 'the expression wrote a file'
    assert _tree(service.root / 'resource' / 'api') == installed, 'the installed steps changed'
    _run_javascript_workflow(client)  # the service, and JavaScript, still work
    return log


@pytest.mark.parametrize('case', ESCAPES)
def test_escape_from_a_workflow_expression_fails_the_job(service, tmp_path, case):
    marker = tmp_path / 'escaped'
    workflow, words = _escape_cases(marker)[case]
    _refused(service.client, service, workflow, words, marker)


def test_unawaited_import_loads_nothing(client, tmp_path):
    # the expression's value is fine, so the job succeeds; the module never loads
    marker = tmp_path / 'escaped'
    expression = (
        "${ import('fs').then(function (fs) { fs.writeFileSync("
        + json.dumps(str(marker))
        + ", 'x'); }); return 'escaped?'; }"
    )
    done = client.wait_final(client.submit(wf.js_step_input(expression), name=NAME)['id'])
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'output') == 'escaped?\n'
    assert not marker.exists()


def test_endless_loop_is_stopped_at_the_services_time_limit(start_service, tmp_path):
    service = start_service(CERISE_JS_TIMEOUT='2')
    log = _refused(
        service.client,
        service,
        wf.js_step_input('${ while (true) {} }'),
        ['JavaScript expression took longer than 2 s and was stopped'],
        tmp_path / 'escaped',
    )
    # the job inherited the service's environment: the runner says which limits it has
    assert 'JavaScript in a V8 sandbox' in log and 'at most 2 s and 256 MiB per expression' in log


def test_a_gigabyte_array_is_stopped_at_the_services_memory_limit(start_service, tmp_path):
    service = start_service(CERISE_JS_MAX_MEMORY='64', CERISE_JS_TIMEOUT='120')
    log = _refused(
        service.client,
        service,
        wf.js_step_input('${ return new Array(1e9).fill(0).length; }'),
        ['JavaScript expression used more than 64 MiB of memory and was stopped'],
        tmp_path / 'escaped',
    )
    assert 'at most 120 s and 64 MiB per expression' in log
