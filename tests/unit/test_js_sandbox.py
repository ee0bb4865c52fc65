"""The runner's JavaScript sandbox (cerise_actors/runner/sandbox.py): CWL expressions are
evaluated in V8 through mini-racer, with the results cwltool gets from node, and every
way out (process, require, import(), d8's file functions, endless loops, huge
allocations) fails with a clear message, leaves nothing behind, and never starts node."""

import os
import shutil
import subprocess
import threading

import pytest
from cwl_utils import sandboxjs
from cwl_utils.errors import JavascriptException, WorkflowException
from cwl_utils.expression import do_eval
from cwl_utils.sandboxjs import NodeJSEngine, code_fragment_to_js, get_js_engine, set_js_engine
from cwltool.validate_js import jshint_js

from cerise_actors.runner import sandbox, workers
from cerise_actors.runner.sandbox import MIB, SandboxedJSEngine

JS_GLOBALS = ['self', 'inputs', 'runtime', 'console']


@pytest.fixture(scope='module')
def engine():
    engine = SandboxedJSEngine(timeout=20, max_memory=256 * MIB)
    yield engine
    engine.close()


@pytest.fixture
def installed(engine):
    """The engine as cwl_utils' (and so cwltool's) JavaScript engine during the test."""
    previous = get_js_engine()
    set_js_engine(engine)
    yield engine
    set_js_engine(previous)


@pytest.fixture
def no_node(monkeypatch, tmp_path):
    """PATH without node, and any attempt to start node or look it up fails the test."""
    empty = tmp_path / 'empty-bin'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    attempts = []
    real_popen = subprocess.Popen
    real_which = shutil.which

    def is_node(args):
        words = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        return any(os.path.basename(os.fsdecode(w)) in ('node', 'nodejs') for w in words)

    class GuardedPopen(real_popen):
        def __init__(self, args, *rest, **kwargs):
            if is_node(args):
                attempts.append(args)
                raise AssertionError(f'node started: {args}')
            super().__init__(args, *rest, **kwargs)

    def which(name, *rest, **kwargs):
        if is_node([name]):
            attempts.append(name)
            raise AssertionError(f'node looked up: {name}')
        return real_which(name, *rest, **kwargs)

    monkeypatch.setattr(subprocess, 'Popen', GuardedPopen)
    monkeypatch.setattr(shutil, 'which', which)
    return attempts


def evaluate(engine, expression, jslib='', **kwargs):
    """What cwltool's evaluator does for $(...) and ${...}: the text after the $."""
    return engine.eval(expression, jslib, **kwargs)


def fails(engine, expression, jslib='', **kwargs):
    with pytest.raises(JavascriptException) as caught:
        evaluate(engine, expression, jslib, **kwargs)
    return str(caught.value)


# -- values ---------------------------------------------------------------------


def test_arithmetic(engine):
    assert evaluate(engine, '(1 + 2 * 3)') == 7
    assert evaluate(engine, '(7 / 2)') == 3.5
    assert evaluate(engine, '(Math.max(3, 9) % 4)') == 1


def test_strings(engine):
    assert evaluate(engine, "('ab' + 'cd').toUpperCase()") == 'ABCD'
    assert evaluate(engine, "('a/b/c.txt'.split('/').pop())") == 'c.txt'
    assert evaluate(engine, "('\\u00e9t\\u00e9 \\u2603')") == 'été ☃'


def test_arrays_and_objects_round_trip(engine):
    value = {'a': [1, 2.5, 'x', None, True, False], 'b': {'c': {}, 'd': []}}
    assert evaluate(engine, '({a: [1, 2.5, "x", null, true, false], b: {c: {}, d: []}})') == value


def test_values_are_converted_as_by_json_like_node(engine):
    assert evaluate(engine, '([1, NaN, Infinity, function () {}, undefined])') == [
        1,
        None,
        None,
        None,
        None,
    ]
    assert evaluate(engine, '({a: undefined, b: 1, f: function () {}})') == {'b': 1}
    assert evaluate(engine, '(new Date(0))') == '1970-01-01T00:00:00.000Z'
    assert evaluate(engine, '(null)') is None
    assert evaluate(engine, '(-0)') == 0


def test_a_value_without_json_form_is_an_error(engine):
    """As with node, whose output 'undefined' is no JSON: an error, not a silent null."""
    assert 'returned undefined' in fails(engine, '(undefined)')
    assert 'returned undefined' in fails(engine, '{ var x = 1; }')
    assert 'serialize a BigInt' in fails(engine, '(1n)')


def test_function_bodies_and_the_expression_lib(engine):
    jslib = (
        'var inputs = {"n": 4, "file": {"basename": "a.txt"}};\n'
        'function double(x) { return 2 * x; }\n'
        'var suffix = "!";'
    )
    assert evaluate(engine, '{ return double(inputs.n) + 1; }', jslib) == 9
    assert evaluate(engine, '(inputs.file.basename + suffix)', jslib) == 'a.txt!'


def test_expressions_through_cwltools_evaluation(installed):
    """cwl_utils.expression.do_eval, as cwltool's Builder calls it, uses the sandbox."""
    requirements = [
        {
            'class': 'InlineJavascriptRequirement',
            'expressionLib': ['function greet(name) { return "Hello, " + name; }'],
        }
    ]
    job = {'x': 20, 'name': 'world', 'items': [1, 2, 3]}

    def ev(ex, context=None):
        return do_eval(ex, job, requirements, '/out', '/tmp', {'cores': 2}, context=context)

    assert ev('$(inputs.x + 1)') == 21
    assert ev('${ return greet(inputs.name); }') == 'Hello, world'
    assert ev('x=$(inputs.x * 2) and $(inputs.items.length) items') == 'x=40 and 3 items'
    assert ev('$(self.length)', context=[1, 2]) == 2
    assert ev('$(runtime.cores)') == 2
    assert ev('$(inputs.items.map(function (i) { return i * i; }))') == [1, 4, 9]
    with pytest.raises(WorkflowException, match='ReferenceError: nosuch is not defined'):
        ev('$(nosuch + 1)')


def test_parameter_references_need_no_javascript(engine):
    """Without InlineJavascriptRequirement cwltool resolves $(inputs.x) with regex_eval,
    NodeJSEngine's own, which runs no code: no worker is started for it."""
    assert SandboxedJSEngine.regex_eval is NodeJSEngine.regex_eval
    fresh = SandboxedJSEngine()
    previous = get_js_engine()
    set_js_engine(fresh)
    try:
        job = {'file': {'class': 'File', 'path': '/data/a.txt'}, 'list': [5, 6]}
        assert do_eval('$(inputs.file.path)', job, [], None, None, {}) == '/data/a.txt'
        assert do_eval('$(inputs.list[1])', job, [], None, None, {}) == 6
        assert do_eval('$(inputs.list.length)', job, [], None, None, {}) == 2
        with pytest.raises(WorkflowException, match='InlineJavascriptRequirement'):
            do_eval('$(inputs.list.length + 1)', job, [], None, None, {})
        assert not list(fresh._workers)
    finally:
        set_js_engine(previous)
        fresh.close()


def test_every_evaluation_starts_from_fresh_globals(engine):
    evaluate(engine, '{ globalThis.leak = 1; Object.prototype.polluted = 2; return 0; }')
    assert evaluate(engine, '(typeof leak)') == 'undefined'
    assert evaluate(engine, '(({}).polluted === undefined)') is True


def test_console_only_with_js_console(engine, caplog):
    """Like node's engine: no console unless cwltool runs with --js-console."""
    assert 'console is not defined' in fails(engine, '{ console.log("x"); return 1; }')
    with caplog.at_level('INFO', logger='cwl_utils'):
        assert evaluate(engine, '{ console.log("hi", {a: 1}); return 1; }', js_console=True) == 1
    assert '[log] hi {"a":1}' in caplog.text


def test_errors_say_what_and_where(engine):
    message = fails(engine, '(inputs.x + 1)')
    assert message.startswith('ReferenceError: inputs is not defined\n')
    assert 'Javascript expression was: (inputs.x + 1)' in message
    message = fails(engine, '(1 +)')
    assert message.startswith("SyntaxError: Unexpected token ')'")
    assert fails(engine, '{ throw new Error("my own"); }').startswith('Error: my own')
    message = fails(engine, '(nosuch)', debug=True)
    assert 'script was:' in message and '"use strict";' in message


def test_a_dead_worker_is_replaced(engine):
    assert evaluate(engine, '(1)') == 1
    for worker in list(engine._workers):
        worker.process.kill()
        worker.process.wait(10)
    assert evaluate(engine, '(2)') == 2


def test_a_worker_that_cannot_start_is_reported(monkeypatch, tmp_path):
    script = tmp_path / 'broken_worker.py'
    script.write_text("import sys\nsys.exit('ImportError: no py_mini_racer here')\n")
    monkeypatch.setattr(workers, 'WORKER_SCRIPT', script)
    broken = SandboxedJSEngine()
    message = fails(broken, '(1)')
    assert message.startswith('The JavaScript sandbox could not start: exit status 1: ')
    assert message.splitlines()[0].endswith('ImportError: no py_mini_racer here')


def test_what_the_code_does_to_json_stays_in_its_result(engine):
    assert 'could not be read back' in fails(
        engine, '{ Object.prototype.toJSON = function () { return "x"; }; return 1; }'
    )
    assert evaluate(engine, '{ JSON.stringify = function () { return "5"; }; return [1]; }') == [1]


def test_evaluations_in_parallel_threads(engine):
    results = {}

    def work(i):
        results[i] = [evaluate(engine, f'({i} * {j})') for j in range(5)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == {i: [i * j for j in range(5)] for i in range(4)}


# -- jshint and node ---------------------------------------------------------------


def test_jshint_runs_in_the_sandbox(installed):
    errors, _ = jshint_js(code_fragment_to_js('(inputs.x + 1)'), JS_GLOBALS)
    assert errors == []
    errors, _ = jshint_js(code_fragment_to_js('(foo + 1)'), JS_GLOBALS)
    assert len(errors) == 1 and "W117: 'foo' is not defined." in errors[0]
    errors, _ = jshint_js(code_fragment_to_js('{ let a = 1; return a; }'), JS_GLOBALS)
    assert 'CWL only supports ES5.1' in errors[0]
    _, found = jshint_js('function double(x) { return 2 * x; }', JS_GLOBALS)
    assert found == ['double']


def test_node_is_never_started(no_node):
    previous = get_js_engine()
    installed = sandbox.install()
    try:
        assert get_js_engine() is installed
        assert isinstance(installed, SandboxedJSEngine)
        assert installed.eval('(1 + 1)') == 2
        errors, _ = jshint_js(code_fragment_to_js('(foo)'), JS_GLOBALS)
        assert "'foo' is not defined" in errors[0]
        assert sandboxjs.exec_js_process('7', context='{}') == (0, '7', '')
        assert sandboxjs.exec_js_process('7', context='{}') == (0, '7', '')
        assert sandboxjs.exec_js_process('undefined')[:2] == (0, 'undefined')
        code, out, err = sandboxjs.exec_js_process('while (true) {}', timeout=1)
        assert (code, out) == (-1, '') and 'longer than 1 s' in err
        for call in (sandboxjs.new_js_proc, sandboxjs.check_js_threshold_version):
            with pytest.raises(JavascriptException, match='Node.js is not used'):
                call('process.stdout.write(1)')
    finally:
        set_js_engine(previous)
        installed.close()
    assert no_node == []


# -- settings ---------------------------------------------------------------------


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv('CERISE_JS_TIMEOUT', '2.5')
    monkeypatch.setenv('CERISE_JS_MAX_MEMORY', '1G')
    engine = SandboxedJSEngine()
    assert (engine.timeout, engine.max_memory) == (2.5, 1024 * MIB)
    monkeypatch.setenv('CERISE_JS_MAX_MEMORY', '300')
    assert SandboxedJSEngine().max_memory == 300 * MIB
    assert sandbox.parse_memory('512MiB') == sandbox.parse_memory('512m') == 512 * MIB


@pytest.mark.parametrize(
    'variable, value',
    [
        ('CERISE_JS_TIMEOUT', 'soon'),
        ('CERISE_JS_TIMEOUT', '0'),
        ('CERISE_JS_TIMEOUT', 'inf'),
        ('CERISE_JS_MAX_MEMORY', 'lots'),
        ('CERISE_JS_MAX_MEMORY', '1T'),
        ('CERISE_JS_MAX_MEMORY', '1'),
    ],
)
def test_malformed_limits_are_refused(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        SandboxedJSEngine()
