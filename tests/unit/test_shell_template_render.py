"""The render function of resource/shell_template.py: the one place bash is
put together from values. Hostile values come out as one word each (real
bash reads them back), and every mistake raises instead of rendering a
broken script. Also: the templates are package data, read once, each
opening with what it is and who renders it."""

import importlib.resources
import subprocess

import pytest

from cerise_actors.errors import PermanentResourceError
from cerise_actors.resource.layout import ResourceLayout
from cerise_actors.resource.scheduler import SubmitRequest
from cerise_actors.resource.shell import Shell
from cerise_actors.resource.shell_template import (
    Raw,
    Template,
    TemplateError,
    line_template,
    script_template,
)
from cerise_actors.resource.slurm import SlurmScheduler

HOSTILE = [
    '',
    ' ',
    'a b',
    "it's",
    '"double"',
    '$HOME',
    '$(touch pwned)',
    '`touch pwned`',
    '; touch pwned',
    'x\ntouch pwned',
    '*',
    '-rf',
    '\\',
    '{{name}}',
    'ü ñ',
]


def _bash_words(script: str, cwd) -> list:
    """The words bash sees in `printf '%s\\0' WORDS`."""
    result = subprocess.run(
        ['bash', '-c', script], capture_output=True, cwd=cwd, timeout=30, check=True
    )
    return result.stdout.decode().split('\0')[:-1]


@pytest.mark.parametrize('value', HOSTILE)
def test_a_str_is_one_word_whatever_it_holds(value, tmp_path):
    script = line_template("printf '%s\\0' {{value}}").render(value=value)
    assert _bash_words(script, tmp_path) == [value]
    assert not (tmp_path / 'pwned').exists()


def test_a_list_is_one_word_per_item(tmp_path):
    script = line_template("printf '%s\\0' {{argv}}").render(argv=HOSTILE)
    assert _bash_words(script, tmp_path) == HOSTILE
    assert line_template('run {{argv}}').render(argv=('a', 'b c')) == "run a 'b c'"
    assert not (tmp_path / 'pwned').exists()


def test_ints_are_digits_and_raw_goes_in_as_it_is():
    template = line_template('sleep {{n}}; kill {{sig}} {{job}}')
    assert template.render(n=81, sig=-9, job=Raw('"$c"')) == 'sleep 81; kill -9 "$c"'
    # a Raw is not read again for placeholders
    assert line_template('x {{a}}').render(a=Raw('{{a}} $x')) == 'x {{a}} $x'


def test_sections_are_kept_or_dropped_whole():
    template = Template('a\n{{#on}}\nb {{v}}\n{{/on}}\n{{^on}}\nc\n{{/on}}\nd\n')
    assert template.render(on=True, v='x y') == "a\nb 'x y'\nd\n"
    assert template.render(on=False, v='x y') == 'a\nc\nd\n'


@pytest.mark.parametrize(
    'values',
    [
        {},  # a missing value
        {'a': 'x', 'b': 'unused'},  # a value no placeholder takes
        {'a': 1.5},  # a float: neither a word nor digits
        {'a': None},
        {'a': True},  # a section's value for a placeholder
        {'a': ['x', 2]},  # a list with something else than str
        {'a': b'x'},
    ],
)
def test_wrong_values_raise(values):
    with pytest.raises(TemplateError):
        line_template('echo {{a}}').render(**values)


def test_a_section_takes_only_true_or_false():
    with pytest.raises(TemplateError):
        Template('{{#on}}\nx\n{{/on}}\n').render(on=1)


@pytest.mark.parametrize(
    'text',
    [
        'echo {{ a }}',  # not a tag
        'echo {{A}}',
        'echo {{a}',
        'echo {{#on}}x{{/on}}',  # a section inside a line
        '{{#on}}\nx\n',  # never closed
        '{{#on}}\nx\n{{/off}}\n',
        '{{/on}}\n',
        '{{#a}}\n{{#b}}\nx\n{{/b}}\n{{/a}}\n',  # nested
        '{{#a}}\n{{a}}\n{{/a}}\n',  # a section and a value of one name
        '# the folder {{dir}}\n',  # a quoted line break would end the comment
    ],
)
def test_malformed_templates_raise_when_made(text):
    with pytest.raises(TemplateError):
        Template(text)


def test_a_line_template_is_one_line():
    with pytest.raises(TemplateError):
        line_template('a\nb')


def test_templates_are_package_data_read_once_and_say_what_they_are():
    folder = importlib.resources.files('cerise_actors.resource').joinpath('scripts')
    names = [item.name for item in folder.iterdir() if item.name.endswith('.sh')]
    templates = {name: script_template(name) for name in names}
    assert {
        'job.sh',
        'direct_submit.sh',
        'direct_poll.sh',
        'direct_cancel.sh',
        'batch_submit.sh',
        'batch_poll.sh',
        'batch_cancel.sh',
    } <= set(templates)
    for name, template in templates.items():
        assert script_template(name) is template, 'read once'
        text = template._text
        text.encode('ascii')
        if name == 'job.sh':  # the directives must follow the first line at once
            assert text.startswith('#!/bin/bash\n{{directives}}\n# cerise-actors: ')
        else:
            assert text.startswith('# cerise-actors: '), name
        assert 'rendered by' in text.split('\n\n')[0].lower(), name


class _Unused(Shell):
    def run(self, command, timeout=60.0, env=None, retry_safe=True):
        raise AssertionError('no command expected')


def test_a_line_break_in_a_directive_refuses_the_job():
    """Before, a queue name with a line break ended the `#SBATCH` comment
    and the rest ran as bash in the job script."""
    scheduler = SlurmScheduler(_Unused(), queue_name='q\ntouch pwned')
    req = SubmitRequest('j', ResourceLayout('/b').job('j'), ['r'])
    with pytest.raises(PermanentResourceError, match='line break'):
        scheduler.script(req)
