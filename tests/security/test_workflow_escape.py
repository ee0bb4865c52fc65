"""Issue 18, items 1 and 3, as an attacker with access to the REST API tries them.

Every probe names an attacker's server on loopback. Whatever the service
answers, the server must never be asked for anything, the attacker's "step"
(which would create a file) must never run, and the job must end in
PermanentFailure with a log line saying why, never in Success.
"""

import json

import pytest

from .attacker import attacker_server

REFUSED = 'Cannot run this job: '


@pytest.fixture
def attacker(tmp_path):
    with attacker_server(tmp_path) as server:
        yield server


def _refused(client, workflow, inputs=None):
    done = client.wait_final(client.submit(workflow, inputs, name='probe')['id'], 180)
    log = client.log(done['id'])
    assert done['state'] == 'PermanentFailure', log
    assert done['output'] == {}
    return log


def _workflow(head, steps='steps: {s: {run: test/hostname.cwl, in: {}, out: [output]}}'):
    return (
        'cwlVersion: v1.0\nclass: Workflow\n' + head + 'inputs: []\n'
        'outputs: {out: {type: File, outputSource: s/output}}\n' + steps + '\n'
    )


def test_the_probe_of_the_issue_is_refused_with_the_tag_named(client, attacker):
    """A !!binary hint once made the check raise, the check let the job
    through, and the runner fetched its step from the workflow's http id."""
    log = _refused(
        client,
        _workflow(
            f'id: {attacker.url}/evil/wf.cwl\nhints:\n- {{class: Foo, x: !!binary aGVsbG8=}}\n'
        ),
    )
    assert REFUSED in log and "'!!binary' at line 5, column 19" in log, log
    attacker.assert_untouched()


@pytest.mark.parametrize(
    'head, steps, says',
    [
        ('id: {url}/evil/wf.cwl\n', None, 'is an absolute URL or path'),
        ('id: /evil/wf.cwl\n', None, 'is an absolute URL or path'),
        (
            '',
            'steps:\n- {{id: "{url}/evil/s", run: test/hostname.cwl, in: [], out: [output]}}',
            'is an absolute URL or path',
        ),
        ('$base: {url}/evil/\n', None, "'$base'"),
        ('$schemas: [{url}/evil/schema.rdf]\n', None, "'$schemas'"),
        ('', 'steps: {{s: {{run: {url}/evil/tool.cwl, in: {{}}, out: [output]}}}}', 'not a URL'),
        (
            '$namespaces: {{evil: {url}/}}\n',
            'steps: {{s: {{run: "evil:tool.cwl", in: {{}}, out: [output]}}}}',
            'not a URL',
        ),
        ('requirements: [{{$import: {url}/evil/req.yml}}]\n', None, '$import'),
        # a prefix named like a scheme: every file:/// of the rewritten workflow
        # would then mean the attacker's URL (found by a red-team probe)
        ('$namespaces: {{file: "{url}/ns/"}}\n', None, "prefix 'file' may not be declared"),
        ('$namespaces: {{cwl: "{url}/ns/"}}\n', None, "prefix 'cwl' may not be declared"),
        ('$namespaces: {{edam: "file:///etc/"}}\n', None, 'must be an http(s) URL'),
        ('hints:\n- !!python/object:os.system x\n', None, "'!!python/object:os.system'"),
        ('hints:\n- !evil {{class: Foo}}\n', None, "'!evil'"),
    ],
    ids=[
        'http-id',
        'absolute-id',
        'list-step-id',
        'base',
        'schemas',
        'run-url',
        'run-prefixed',
        'import',
        'namespace-file',
        'namespace-cwl',
        'namespace-to-file',
        'python-tag',
        'custom-tag',
    ],
)
def test_no_base_id_or_reference_leads_the_runner_to_another_server(
    client, attacker, head, steps, says
):
    text = _workflow(head.format(url=attacker.url))
    if steps is not None:
        text = _workflow(head.format(url=attacker.url), steps.format(url=attacker.url))
    log = _refused(client, text)
    assert REFUSED in log and says in log, log
    attacker.assert_untouched()


def test_an_expression_cannot_make_the_runner_fetch_a_url(client, attacker):
    """Item 3: a File an expression returns may only be a file of the job."""
    workflow = f"""cwlVersion: v1.2
class: Workflow
requirements:
  InlineJavascriptRequirement: {{}}
  StepInputExpressionRequirement: {{}}
inputs: []
outputs: {{out: {{type: File, outputSource: s/output}}}}
steps:
  s:
    run: test/wc.cwl
    in:
      file:
        valueFrom: '$({{"class": "File", "location": "{attacker.url}/latest/meta-data"}})'
    out: [output]
"""
    done = client.wait_final(client.submit(workflow, name='probe')['id'], 180)
    log = client.log(done['id'])
    assert done['state'] != 'Success', log
    assert 'expressions may only name files of the job' in log, log
    attacker.assert_untouched()


WC_OF_FILE = """cwlVersion: v1.0
class: Workflow
inputs: {file: File}
outputs: {out: {type: File, outputSource: s/output}}
steps: {s: {run: test/wc.cwl, in: {file: file}, out: [output]}}
"""


@pytest.mark.parametrize('basename', ['ABS', '../../../../PWNED', 'a/../../PWNED', '..'])
@pytest.mark.parametrize('where', ['input', 'secondary', 'listing', 'default'])
def test_a_literal_file_is_never_written_outside_the_job(client, tmp_path, basename, where):
    """A red-team probe: a File given as `contents` with an absolute basename
    was written by the runner wherever it pointed (it overwrote an installed
    step, then ran it). Every way of giving such a File is refused."""
    target = tmp_path / 'PWNED'
    literal = {
        'class': 'File',
        'basename': str(target) if basename == 'ABS' else basename,
        'contents': 'pwned',
    }
    workflow, inputs = WC_OF_FILE, {}
    if where == 'input':
        inputs = {'file': literal}
    elif where == 'secondary':
        inputs = {'file': {'class': 'File', 'contents': 'x', 'secondaryFiles': [literal]}}
    elif where == 'listing':
        workflow = WC_OF_FILE.replace('{file: File}', '{file: File, d: Directory}')
        inputs = {
            'file': {'class': 'File', 'contents': 'x'},
            'd': {'class': 'Directory', 'basename': 'd', 'listing': [literal]},
        }
    else:
        workflow = WC_OF_FILE.replace(
            '{file: File}', '{file: {type: File, default: ' + json.dumps(literal) + '}}'
        )
    log = _refused(client, workflow, inputs)
    assert REFUSED in log and 'is not a plain file name' in log, log
    assert not target.exists() and not list(tmp_path.rglob('PWNED'))
