"""Tests for checking and rewriting submitted workflows."""
import json
import subprocess
import sys
import textwrap

import pytest

from cerise_actors.cwl.errors import InvalidWorkflow
from cerise_actors.cwl.steps import (
    load_step_catalogue, substitute_project_files)
from cerise_actors.cwl.workflow import WorkflowPlan, parse_cwl, plan_workflow

API = '/home/user/.cerise/api'

HOSTNAME = {
    'cwlVersion': 'v1.0', 'class': 'CommandLineTool',
    'baseCommand': 'hostname', 'inputs': [], 'stdout': 'output.txt',
    'outputs': {'output': {'type': 'File',
                           'outputBinding': {'glob': 'output.txt'}}},
}

CATALOGUE = {
    'example/hostname.cwl': HOSTNAME,
    'example/big.cwl': dict(HOSTNAME, hints={
        'ResourceRequirement': {'coresMin': 8}}),
    'example/expr.cwl': dict(HOSTNAME, requirements=[
        {'class': 'ResourceRequirement', 'coresMin': '$(inputs.n)'}]),
    'other/deep/tool.cwl': HOSTNAME,
}

WORKFLOW_YAML = b"""\
#!/usr/bin/env cwl-runner
cwlVersion: v1.0
class: Workflow
inputs: []
outputs:
  output:
    type: File
    outputSource: hostname/output
steps:
  hostname:
    run: example/hostname.cwl
    in: []
    out:
      - output
"""


def workflow(**changes):
    """A valid workflow dict, with top-level keys replaced by ``changes``."""
    doc = {
        'cwlVersion': 'v1.0', 'class': 'Workflow', 'inputs': {},
        'outputs': {'output': {'type': 'File',
                               'outputSource': 'hostname/output'}},
        'steps': {'hostname': {'run': 'example/hostname.cwl', 'in': {},
                               'out': ['output']}},
    }
    doc.update(changes)
    return doc


def step(**changes):
    result = {'run': 'example/hostname.cwl', 'in': {}, 'out': ['output']}
    result.update(changes)
    return result


def plan(doc, catalogue=CATALOGUE):
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return plan_workflow(raw, catalogue, API)


def refused(doc, match, catalogue=CATALOGUE):
    with pytest.raises(InvalidWorkflow, match=match) as info:
        plan(doc, catalogue)
    return str(info.value)


# parse_cwl

def test_parse_yaml_and_json():
    assert parse_cwl(WORKFLOW_YAML)['class'] == 'Workflow'
    assert parse_cwl(json.dumps(workflow()).encode()) == workflow()


def test_parse_keeps_yaml_12_scalars_as_written():
    doc = parse_cwl(b'class: Workflow\na: yes\nb: on\nc: 2020-01-01\n'
                    b'd: true\ne: 3\n')
    assert doc['a'] == 'yes' and doc['b'] == 'on'
    assert doc['c'] == '2020-01-01'
    assert doc['d'] is True and doc['e'] == 3


def test_parse_error_quotes_line():
    with pytest.raises(InvalidWorkflow,
                       match='not valid YAML or JSON: mapping values are not '
                             'allowed here at line 3, column 7'):
        parse_cwl(b'class: Workflow\nsteps:\n  a: b: c\n')


def test_parse_broken_json_is_reported():
    with pytest.raises(InvalidWorkflow, match='not valid YAML or JSON'):
        parse_cwl(b'{"class": "Workflow", "steps": [}')


@pytest.mark.parametrize('raw, match', [
    (b'- a\n- b\n', 'expected a mapping.*list'),
    (b'just text', 'expected a mapping.*str'),
    (b'', 'empty'),
    (b'\xff\xfe\x00', 'not UTF-8'),
])
def test_parse_refuses_non_mappings(raw, match):
    with pytest.raises(InvalidWorkflow, match=match):
        parse_cwl(raw)


# the happy path

def test_plan_rewrites_run_and_serialises_json():
    result = plan(WORKFLOW_YAML)
    assert isinstance(result, WorkflowPlan)
    doc = json.loads(result.content.decode('utf-8'))
    assert doc['steps']['hostname']['run'] == (
        f'{API}/example/steps/example/hostname.cwl')
    assert doc['outputs'] == {'output': {'type': 'File',
                                         'outputSource': 'hostname/output'}}
    assert result.steps == ('example/hostname.cwl',)
    assert (result.cores, result.time_limit) == (0, 0)
    assert result.content == json.dumps(doc, indent=2).encode('utf-8')


def test_plan_list_form_steps_project_from_first_component():
    doc = workflow(steps=[
        step(id='#a', run='other/deep/tool.cwl'),
        step(id='b'),
        step(id='c', run='other/deep/tool.cwl'),
    ])
    result = plan(doc)
    runs = [s['run'] for s in json.loads(result.content)['steps']]
    assert runs == [f'{API}/other/steps/other/deep/tool.cwl',
                    f'{API}/example/steps/example/hostname.cwl',
                    f'{API}/other/steps/other/deep/tool.cwl']
    assert result.steps == ('other/deep/tool.cwl', 'example/hostname.cwl')


def test_plan_does_not_touch_other_content():
    doc = workflow(
        inputs={'n': {'type': 'int', 'default': 3, 'doc': 'use ${n}'},
                'f': {'type': 'File',
                      'default': {'class': 'File', 'basename': 'a.txt',
                                  'contents': 'hello'}}},
        steps={'hostname': step(), 'second': step(
            **{'in': {'x': {'source': 'n', 'valueFrom': '$(self + 1)'}},
               'scatter': 'x'})},
        requirements=[{'class': 'ScatterFeatureRequirement'},
                      {'class': 'StepInputExpressionRequirement'}])
    result = json.loads(plan(doc).content)
    assert result['inputs'] == doc['inputs']
    assert result['requirements'] == doc['requirements']
    assert result['steps']['second']['in'] == doc['steps']['second']['in']


# what the document is

@pytest.mark.parametrize('cls', ['CommandLineTool', 'ExpressionTool'])
def test_refuses_tools(cls):
    message = refused(workflow(**{'class': cls}), f'this is a {cls}')
    assert 'submit a Workflow' in message


def test_refuses_missing_class():
    doc = workflow()
    del doc['class']
    refused(doc, "no 'class'")


def test_refuses_packed():
    refused({'cwlVersion': 'v1.0', '$graph': [workflow(id='main')]},
            r'packed')


@pytest.mark.parametrize('steps', [None, [], {}])
def test_refuses_no_steps(steps):
    doc = workflow(steps=steps)
    if steps is None:
        del doc['steps']
    refused(doc, 'has no steps')


def test_refuses_malformed_steps():
    refused(workflow(steps='hostname'), "'steps' must be a list")
    refused(workflow(steps=[step()]), "step number 1 has no 'id'")
    refused(workflow(steps={'a': 'example/hostname.cwl'}),
            "step 'a' must be an object")


# documents that load other documents

@pytest.mark.parametrize('key', ['$import', '$include', '$mixin', '$schemas',
                                 '$namespaces', '$base', '$other'])
def test_refuses_salad_directives_anywhere(key):
    refused(workflow(**{key: 'http://example.com/x'}), f"'\\{key}'")
    nested = workflow(steps={'hostname': step(**{'in': {'x': {
        'default': {key: '/etc/passwd'}}}})})
    message = refused(nested, f"'\\{key}'")
    assert 'steps.hostname.in.x.default' in message


def test_refuses_import_of_run():
    refused(workflow(steps={'hostname': step(run={'$import': 'tool.cwl'})}),
            r"'\$import'")


def test_refuses_nested_graph():
    refused(workflow(inputs={'x': {'$graph': []}}), r"'\$graph'")


# run

@pytest.mark.parametrize('run, match', [
    (dict(HOSTNAME), 'inline tools'),
    (['example/hostname.cwl'], "'run' must be"),
    (3, "'run' must be"),
    ('file:///etc/passwd.cwl', 'not a URL'),
    ('http://evil.example.com/tool.cwl', 'not a URL'),
    ('example:hostname.cwl', 'not a URL'),
    ('/home/user/.cerise/api/example/steps/example/hostname.cwl',
     'not an absolute path'),
    ('example/../example/hostname.cwl', 'not a plain step name'),
    ('../example/hostname.cwl', 'not a plain step name'),
    ('./example/hostname.cwl', 'not a plain step name'),
    ('example/./hostname.cwl', 'not a plain step name'),
    ('example//hostname.cwl', 'not a plain step name'),
    ('example/hostname.cwl/', 'not a plain step name'),
    ('example\\hostname.cwl', 'not a plain step name'),
    ('hostname.cwl', '<project>/<path>.cwl'),
    ('example/hostname', '<project>/<path>.cwl'),
    ('foo/bar.cwl', "unknown step 'foo/bar.cwl'"),
])
def test_refuses_bad_run(run, match):
    message = refused(workflow(steps={'mystep': step(run=run)}), match)
    assert "step 'mystep'" in message


def test_refuses_missing_run():
    doc = workflow(steps={'mystep': {'in': {}, 'out': []}})
    refused(doc, "step 'mystep' has no 'run'")


def test_unknown_step_lists_installed_steps():
    message = refused(workflow(steps={'s': step(run='foo/bar.cwl')}),
                      'installed steps are')
    assert 'example/hostname.cwl' in message
    assert 'other/deep/tool.cwl' in message


def test_unknown_step_list_is_shortened():
    catalogue = {f'p/step{i:02}.cwl': HOSTNAME for i in range(30)}
    message = refused(workflow(steps={'s': step(run='p/x.cwl')}),
                      'and 10 more', catalogue)
    assert 'p/step19.cwl' in message and 'p/step20.cwl' not in message


def test_unknown_step_with_empty_catalogue():
    refused(workflow(), 'no steps are installed', {})


# requirements and hints

FORBIDDEN = ['InlineJavascriptRequirement', 'EnvVarRequirement',
             'ShellCommandRequirement', 'InitialWorkDirRequirement',
             'DockerRequirement', 'SoftwareRequirement',
             'SchemaDefRequirement', 'cwltool:LoadListingRequirement',
             'http://commonwl.org/cwltool#MPIRequirement', 'Unknown']


@pytest.mark.parametrize('cls', FORBIDDEN)
@pytest.mark.parametrize('where', ['workflow', 'step'])
@pytest.mark.parametrize('section', ['requirements', 'hints'])
@pytest.mark.parametrize('form', ['mapping', 'list'])
def test_refuses_forbidden_requirements(cls, where, section, form):
    value = ({cls: {}} if form == 'mapping'
             else [{'class': cls}])
    if where == 'workflow':
        doc = workflow(**{section: value})
        expected = 'the workflow'
    else:
        doc = workflow(steps={'hostname': step(**{section: value})})
        expected = "step 'hostname'"
    message = refused(doc, 'is not allowed')
    assert expected in message and cls in message
    assert ('requirement' if section == 'requirements' else 'hint') in message


def test_javascript_requirement_message_explains():
    refused(workflow(requirements=[{'class': 'InlineJavascriptRequirement',
                                    'expressionLib': ['function f(){}']}]),
            'JavaScript')


ALLOWED = [
    {'class': 'ScatterFeatureRequirement'},
    {'class': 'MultipleInputFeatureRequirement'},
    {'class': 'StepInputExpressionRequirement'},
    {'class': 'SubworkflowFeatureRequirement'},
    {'class': 'ResourceRequirement', 'coresMin': 2},
    {'class': 'LoadListingRequirement', 'loadListing': 'deep_listing'},
    {'class': 'WorkReuse', 'enableReuse': False},
    {'class': 'NetworkAccess', 'networkAccess': True},
    {'class': 'TimeLimit', 'timeLimit': 10},
    {'class': 'ToolTimeLimit', 'timelimit': 10},
]


@pytest.mark.parametrize('requirement', ALLOWED,
                         ids=[r['class'] for r in ALLOWED])
def test_allows_harmless_requirements(requirement):
    plan(workflow(requirements=[requirement]))
    plan(workflow(hints=[requirement]))
    body = {k: v for k, v in requirement.items() if k != 'class'}
    plan(workflow(steps={'hostname': step(
        requirements={requirement['class']: body})}))


def test_refuses_requirement_without_class():
    refused(workflow(hints=[{'coresMin': 3}]), "entry 1 of 'hints'")
    refused(workflow(requirements='ScatterFeatureRequirement'),
            "'requirements' must be a list or a mapping")


# JavaScript and extensions

def test_refuses_expression_lib_anywhere():
    refused(workflow(steps={'hostname': step(expressionLib=['x'])}),
            'expressionLib')


@pytest.mark.parametrize('steps', [
    {'hostname': step(**{'in': {'x': {'valueFrom': '${ return 1; }'}}})},
    {'hostname': step(**{'in': {'x': {'default': 'a ${b} c'}}})},
    {'hostname': step(**{'in': [{'id': 'x', 'valueFrom': '${1}'}]})},
    {'hostname': step(when='${ return true; }')},
])
def test_refuses_javascript_in_steps(steps):
    refused(workflow(steps=steps), 'JavaScript')


def test_refuses_javascript_in_workflow_inputs():
    refused(workflow(inputs={'x': {'type': 'File',
                                   'secondaryFiles': '${ return [] }'}}),
            "'inputs.x.secondaryFiles' contains a JavaScript")


def test_allows_parameter_references_and_documentation():
    doc = workflow(
        doc=['a ${b}', 'c'], label='${label}',
        requirements={'StepInputExpressionRequirement': {}},
        steps={'hostname': step(
            doc='${x}',
            **{'in': {'x': {'source': 'n', 'valueFrom': '$(inputs.n)'}}})})
    plan(doc)


def test_refuses_namespaced_keys():
    message = refused(workflow(**{'cwltool:overrides': {}}),
                      "key 'cwltool:overrides'")
    assert 'extensions are not allowed' in message
    refused(workflow(steps={'hostname': step(
        **{'http://commonwl.org/cwltool#requirements': []})}),
        'namespaced keys')


# files in the workflow document

@pytest.mark.parametrize('key, value', [
    ('location', 'file:///etc/passwd'),
    ('location', 'passwd'),
    ('path', '/etc/passwd'),
])
@pytest.mark.parametrize('cls', ['File', 'Directory'])
def test_refuses_file_defaults_with_location(key, value, cls):
    default = {'class': cls, key: value}
    refused(workflow(inputs={'f': {'type': cls, 'default': default}}),
            f"the {cls} at 'inputs.f.default' has a '{key}'")
    refused(workflow(steps={'hostname': step(
        **{'in': {'f': {'default': default}}})}), f"has a '{key}'")


def test_refuses_nested_file_locations():
    default = {'class': 'File', 'contents': 'x', 'secondaryFiles': [
        {'class': 'File', 'location': 'http://example.com/x'}]}
    refused(workflow(inputs={'f': {'type': 'File', 'default': default}}),
            'secondaryFiles')
    listing = {'class': 'Directory', 'basename': 'd', 'listing': [
        {'class': 'File', 'path': '/etc/shadow'}]}
    refused(workflow(inputs={'d': {'type': 'Directory',
                                   'default': listing}}), "has a 'path'")


def test_allows_file_literals():
    literal = {'class': 'File', 'basename': 'a.txt', 'contents': 'hi'}
    plan(workflow(inputs={'f': {'type': 'File', 'default': literal}}))


# resources

def test_cores_and_time_limit_default_to_zero():
    result = plan(workflow())
    assert (result.cores, result.time_limit) == (0, 0)


@pytest.mark.parametrize('changes, cores', [
    ({'hints': {'ResourceRequirement': {'coresMin': 3}}}, 3),
    ({'requirements': [{'class': 'ResourceRequirement', 'coresMin': 5}]}, 5),
    ({'hints': [{'class': 'ResourceRequirement', 'coresMax': 6}]}, 6),
    ({'hints': {'ResourceRequirement': {'coresMin': 1.5}}}, 2),
    ({'hints': {'ResourceRequirement': {'coresMin': 16}},
      'requirements': {'ResourceRequirement': {'coresMin': 2}}}, 2),
    ({'steps': {'hostname': step(hints={
        'ResourceRequirement': {'coresMin': 7}})}}, 7),
    ({'steps': {'hostname': step(run='example/big.cwl')}}, 8),
    ({'steps': {'hostname': step(run='example/big.cwl'),
                'other': step()},
      'hints': {'ResourceRequirement': {'coresMin': 12}}}, 12),
    ({'steps': {'hostname': step(run='example/expr.cwl')}}, 0),
])
def test_cores(changes, cores):
    assert plan(workflow(**changes)).cores == cores


@pytest.mark.parametrize('value', ['$(inputs.n)', 'four', True, -1, [2]])
def test_refuses_bad_cores(value):
    refused(workflow(hints={'ResourceRequirement': {'coresMin': value}}),
            'the workflow: ResourceRequirement coresMin')


def test_refuses_expression_cores_in_step():
    refused(workflow(steps={'hostname': step(requirements=[
        {'class': 'ResourceRequirement', 'coresMin': '$(inputs.n)'}])}),
        "step 'hostname'.*expression")


def test_broken_installed_step_is_reported_as_service_problem():
    catalogue = dict(CATALOGUE, **{'example/hostname.cwl': dict(
        HOSTNAME, hints={'ResourceRequirement': {'coresMin': -2}})})
    refused(workflow(), "installed step 'example/hostname.cwl'.*maintainers",
            catalogue)


@pytest.mark.parametrize('changes, limit', [
    ({'hints': {'TimeLimit': 101}}, 101),
    ({'hints': {'TimeLimit': {'timeLimit': 60}}}, 60),
    ({'hints': [{'class': 'TimeLimit', 'timeLimit': 61}]}, 61),
    ({'requirements': {'ToolTimeLimit': {'timelimit': 62}}}, 62),
    ({'requirements': [{'class': 'ToolTimeLimit', 'timelimit': 63}]}, 63),
    ({'hints': {'ToolTimeLimit': {'timelimit': 64}, 'TimeLimit': 10}}, 64),
    ({'hints': {'TimeLimit': 3600.0}}, 3600),
])
def test_time_limit(changes, limit):
    assert plan(workflow(**changes)).time_limit == limit


def test_step_time_limits_do_not_limit_the_job():
    doc = workflow(steps={'hostname': step(hints={'TimeLimit': 5})})
    assert plan(doc).time_limit == 0


@pytest.mark.parametrize('hints', [
    {'TimeLimit': -1}, {'TimeLimit': 'an hour'}, {'TimeLimit': 1.5},
    {'TimeLimit': {'timeLimit': '$(60)'}}, {'ToolTimeLimit': {'other': 1}},
    {'ToolTimeLimit': {'timelimit': True}},
])
def test_refuses_bad_time_limit(hints):
    refused(workflow(hints=hints), 'the workflow: (Tool)?TimeLimit')


def test_short_time_limit_form_is_rewritten_as_object():
    doc = workflow(hints={'TimeLimit': 101}, steps={
        'hostname': step(requirements={'ToolTimeLimit': 7})})
    content = json.loads(plan(doc).content)
    assert content['hints'] == {'TimeLimit': {'timeLimit': 101}}
    assert content['steps']['hostname']['requirements'] == {
        'ToolTimeLimit': {'timelimit': 7}}


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
    refused(workflow(inputs={'x': {'type': 'Any', 'default': value}}),
            'nested too deeply')


def test_refuses_values_that_are_not_json():
    raw = WORKFLOW_YAML + b'doc: !!binary aGVsbG8=\n'
    refused(raw, 'cannot be written as JSON')


# the rewritten workflow is valid CWL for a real runner

HOSTNAME_YAML = """\
cwlVersion: v1.0
class: CommandLineTool
baseCommand: hostname
inputs: []
stdout: output.txt
outputs:
  output:
    type: File
    outputBinding: { glob: output.txt }
"""

ADD_HEADING_YAML = """\
cwlVersion: v1.0
class: CommandLineTool
baseCommand: $CERISE_PROJECT_FILES/add_heading.sh
arguments: [$CERISE_PROJECT_FILES]
hints:
  ResourceRequirement: {coresMin: 2}
inputs:
  in_text:
    type: File
    inputBinding:
      position: 1
stdout: output.txt
outputs:
  out_text:
    type: File
    outputBinding: { glob: output.txt }
"""

SUBMITTED = textwrap.dedent("""\
    cwlVersion: v1.0
    class: Workflow
    requirements:
      - class: ScatterFeatureRequirement
      - class: StepInputExpressionRequirement
    hints:
      TimeLimit: 101
      ResourceRequirement: {coresMin: 1}
    inputs:
      texts: File[]
      extra:
        type: File
        default: {class: File, basename: extra.txt, contents: "hi"}
    outputs:
      host:
        type: File
        outputSource: hostname/output
      headed:
        type: File[]
        outputSource: heading/out_text
    steps:
      - id: hostname
        run: example/hostname.cwl
        in: []
        out: [output]
      - id: heading
        run: example/add_heading.cwl
        scatter: in_text
        in:
          in_text:
            source: texts
            valueFrom: $(self)
        out: [out_text]
    """).encode()


def test_rewritten_workflow_validates_with_cwltool(tmp_path):
    project = tmp_path / 'local' / 'example'
    steps_dir = project / 'steps' / 'example'
    steps_dir.mkdir(parents=True)
    (steps_dir / 'hostname.cwl').write_text(HOSTNAME_YAML)
    (steps_dir / 'add_heading.cwl').write_text(ADD_HEADING_YAML)
    catalogue = load_step_catalogue({'example': project})

    remote_api = tmp_path / 'remote api'
    files_dir = remote_api / 'example' / 'files'
    files_dir.mkdir(parents=True)
    for name, document in catalogue.items():
        target = remote_api / 'example' / 'steps' / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(
            substitute_project_files(document, str(files_dir))))

    result = plan_workflow(SUBMITTED, catalogue, str(remote_api))
    assert result.steps == ('example/hostname.cwl', 'example/add_heading.cwl')
    assert (result.cores, result.time_limit) == (2, 101)
    workflow_file = tmp_path / 'job' / 'workflow.json'
    workflow_file.parent.mkdir()
    workflow_file.write_bytes(result.content)

    process = subprocess.run(
        [sys.executable, '-m', 'cwltool', '--validate', str(workflow_file)],
        capture_output=True, text=True, timeout=300)
    log = process.stdout + process.stderr
    assert process.returncode == 0, log
    assert 'failed validation' not in log, log
    assert 'is valid CWL' in log, log


@pytest.mark.parametrize('cls', ['cwl:File', 'https://w3id.org/cwl/cwl#File',
                                 '#Directory', 'Whatever'])
def test_refuses_located_objects_whatever_their_class(cls):
    # cwltool accepts 'cwl:File' and the full URI as class File
    default = {'class': cls, 'location': '/etc/hostname'}
    refused(workflow(steps={'hostname': step(
        **{'in': {'f': {'default': default}}})}), "has a 'location'")
