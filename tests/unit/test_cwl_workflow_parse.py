"""Tests for reading submitted workflow documents (YAML or JSON), including
hostile documents."""

import json
import subprocess
import sys
import tracemalloc

import pytest

from cerise_actors.cwl.parse import load_cwl_text, parse_cwl
from cerise_actors.errors import InvalidWorkflow

from .cwl_workflow_fixtures import WORKFLOW_YAML, refused, workflow

# parse_cwl


def test_parse_yaml_and_json():
    assert parse_cwl(WORKFLOW_YAML)['class'] == 'Workflow'
    assert parse_cwl(json.dumps(workflow()).encode()) == workflow()


def test_parse_keeps_yaml_12_scalars_as_written():
    doc = parse_cwl(b'class: Workflow\na: yes\nb: on\nc: 2020-01-01\nd: true\ne: 3\n')
    assert doc['a'] == 'yes' and doc['b'] == 'on'
    assert doc['c'] == '2020-01-01'
    assert doc['d'] is True and doc['e'] == 3


def test_parse_error_quotes_line():
    with pytest.raises(
        InvalidWorkflow,
        match='not valid YAML or JSON: mapping values are not '
        'allowed (here|in this context) at line 3, column 7',
    ):
        parse_cwl(b'class: Workflow\nsteps:\n  a: b: c\n')


def test_parse_broken_json_is_reported():
    with pytest.raises(InvalidWorkflow, match='not valid YAML or JSON'):
        parse_cwl(b'{"class": "Workflow", "steps": [}')


@pytest.mark.parametrize(
    'raw, match',
    [
        (b'- a\n- b\n', 'expected a mapping.*list'),
        (b'just text', 'expected a mapping.*str'),
        (b'', 'empty'),
        (b'\xff\xfe\x00', 'not UTF-8'),
    ],
)
def test_parse_refuses_non_mappings(raw, match):
    with pytest.raises(InvalidWorkflow, match=match):
        parse_cwl(raw)


# hostile documents


def test_refuses_alias_bomb():
    lines = ['class: Workflow', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
    for i in range(1, 10):
        refs = ', '.join([f'*a{i - 1}'] * 10)
        lines.append(f'a{i}: &a{i} [{refs}]')
    lines.append('steps: {s: {run: example/hostname.cwl, in: *a9}}')
    refused('\n'.join(lines).encode(), 'too large')


def test_refuses_deep_nesting():
    value = 'x'
    for _ in range(150):
        value = [value]
    refused(workflow(inputs={'x': {'type': 'Any', 'default': value}}), 'nested too deeply')


@pytest.mark.parametrize(
    'text',
    [
        'a: ' + '[' * 100000,  # flow style
        '{"x": ' + '[' * 200000 + ']' * 200000 + '}',  # valid JSON too deep for json
        ''.join(' ' * i + f'k{i}:\n' for i in range(3000)),  # block style
    ],
    ids=['flow', 'json', 'block'],
)
def test_deep_nesting_is_refused_without_crashing_in_a_thread(text):
    """libyaml recurses in C without a limit: such documents must not reach it."""
    code = (
        'import sys, threading\n'
        'from cerise_actors.cwl.parse import parse_cwl\n'
        'from cerise_actors.errors import InvalidWorkflow\n'
        'def run():\n'
        '    try:\n'
        '        parse_cwl(sys.stdin.buffer.read())\n'
        '        print("parsed")\n'
        '    except InvalidWorkflow as exc:\n'
        '        print("refused:", exc)\n'
        't = threading.Thread(target=run); t.start(); t.join()\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code], input=text.encode(), capture_output=True, timeout=300
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().startswith(('refused:', 'parsed')), result.stdout


@pytest.mark.parametrize(
    'value, shown',
    [
        ('!!binary aGVsbG8=', '!!binary'),
        ('!!set {a, b}', '!!set'),
        ('!!python/object:os.system x', '!!python/object:os.system'),
        ('!custom x', '!custom'),
        ('! x', "'!'"),
        ('!!str x', '!!str'),
        ('!<tag:example.org,2000:x> y', 'tag:example.org,2000:x'),
    ],
)
def test_refuses_every_explicit_yaml_tag_with_its_line(value, shown):
    """Only the core schema: a tag makes values no later check expects (issue 18)."""
    raw = WORKFLOW_YAML + f'doc: {value}\n'.encode()
    line = WORKFLOW_YAML.count(b'\n') + 1
    refused(raw, shown)
    refused(raw, f'at line {line}, column 6')


@pytest.mark.parametrize(
    'text',
    [
        '[' + '0,' * (2 * 1024 * 1024) + '0]',  # 4 MiB, two million values in one line
        'a:\n' + '- 0\n' * (1024 * 1024),  # the same as a block list
        '# [ a comment with brackets\n' + '[' * 500,  # deep, after a bracket
        # deeper than PyYAML 6.0.4's own limit of 1,000, which may refuse it first
        '[' * 100_000,
    ],
    ids=['flow', 'block', 'deep', 'deepest'],
)
def test_a_huge_or_deep_document_is_refused_before_it_is_built(text):
    """The node and depth limits act on the parser's events: the refused
    document is never built, so memory stays small."""
    tracemalloc.start()
    try:
        with pytest.raises(InvalidWorkflow, match='too large|too deeply|nesting depth'):
            load_cwl_text(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f'{peak / 2**20:.0f} MiB traced'
