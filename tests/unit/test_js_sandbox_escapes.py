"""Escape attempts against the JavaScript sandbox, and its time and memory limits.

Each attempt must fail with a clear message and leave nothing behind; the
same engine then goes on evaluating (see test_js_sandbox.py for what works).
"""

import time

import pytest

from cerise_actors.runner import sandbox

from .test_js_sandbox import engine, evaluate, fails  # noqa: F401 (engine is a fixture)

# -- ways out -------------------------------------------------------------------


def test_the_constructor_trick_finds_no_process(engine, tmp_path):
    """In node's vm this reaches the host's process (the classic escape); here there is none."""
    marker = tmp_path / 'escaped'
    jslib = (
        "var p = this.constructor.constructor('return process')();\n"
        f"p.getBuiltinModule('fs').writeFileSync({str(marker)!r}, 'x');"
    )
    assert fails(engine, '(1)', jslib).startswith('ReferenceError: process is not defined')
    message = fails(engine, "(({}).constructor.constructor('return process')())")
    assert message.startswith('ReferenceError: process is not defined')
    assert not marker.exists()


def test_there_is_no_require(engine):
    message = fails(engine, "(require('child_process').execSync('id'))")
    assert message.startswith('ReferenceError: require is not defined')


def test_dynamic_import_loads_nothing_and_does_not_hang(engine, tmp_path):
    marker = tmp_path / 'imported'
    start = time.monotonic()
    code = f"(import('fs').then(function (fs) {{ fs.writeFileSync({str(marker)!r}, 'x'); }}))"
    message = fails(engine, code)
    assert message.startswith('JavaScript expression returned a Promise')
    assert 'import() loads no modules' in message
    assert 'returned a Promise' in fails(engine, "(import('data:text/javascript,1'))")
    assert time.monotonic() - start < 5
    message = fails(engine, '(1)', "import fs from 'fs';")
    assert message.startswith('SyntaxError: Cannot use import statement outside a module')
    assert not marker.exists()


@pytest.mark.parametrize(
    'name',
    [
        'process',
        'require',
        'module',
        'exports',
        'Buffer',
        'read',
        'readbuffer',
        'readline',
        'readFile',
        'load',
        'print',
        'write',
        'quit',
        'os',
        'system',
        'Realm',
        'd8',
        'Deno',
        'Bun',
        'fetch',
        'XMLHttpRequest',
        'WebSocket',
        'importScripts',
        'setTimeout',
        'console',
    ],
)
def test_no_host_functions(engine, name):
    assert evaluate(engine, f'(typeof {name})') == 'undefined'


def test_an_endless_loop_is_stopped(engine):
    start = time.monotonic()
    message = fails(engine, '{ while (true) {} }', timeout=1)
    assert message.startswith('JavaScript expression took longer than 1 s and was stopped')
    assert time.monotonic() - start < 1 + sandbox.GRACE
    assert evaluate(engine, '(1 + 1)') == 2


def test_the_time_limit_is_capped(engine):
    assert engine.time_limit(60) == 20  # cwltool's default --eval-timeout
    assert engine.time_limit(5) == 5
    assert engine.time_limit(None) == 20


@pytest.mark.parametrize(
    'expression',
    [
        '{ var a = []; while (true) { a.push("abcdefgh" + a.length); } }',
        '(new Array(1e9).fill(0).length)',  # aborts V8's process: only the worker dies
        '{ var s = []; for (var i = 0; i < 64; i++) { s.push(new Float64Array(1 << 24)); } '
        'return s.length; }',  # 8 GiB of ArrayBuffers, outside V8's heap
    ],
)
def test_a_huge_allocation_is_stopped_and_the_next_evaluation_works(engine, expression):
    message = fails(engine, expression)
    assert message.startswith(
        'JavaScript expression used more than 256 MiB of memory'
    ) or message.startswith('RangeError: Array buffer allocation failed'), message
    assert evaluate(engine, '([1, 2].length)') == 2


def test_deep_recursion_is_a_range_error(engine):
    message = fails(engine, '{ function f(n) { return f(n + 1) + 1; } return f(0); }')
    assert message.startswith('RangeError: Maximum call stack size exceeded')
