"""Tests for checking submitted workflows: what is refused and what is allowed."""

import json

import pytest

from .cwl_workflow_fixtures import HOSTNAME, plan, refused, step, workflow

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
    refused({'cwlVersion': 'v1.0', '$graph': [workflow(id='main')]}, r'packed')


@pytest.mark.parametrize('steps', [None, [], {}])
def test_allows_a_workflow_without_steps(steps):
    doc = workflow(steps=steps, outputs={})
    if steps is None:
        del doc['steps']
    result = plan(doc)
    assert result.steps == ()
    assert json.loads(result.content)['steps'] in ([], {}), 'cwltool requires the field'


def test_refuses_malformed_steps():
    refused(workflow(steps='hostname'), "'steps' must be a list")
    refused(workflow(steps=[step()]), "step number 1 has no 'id'")
    refused(workflow(steps={'a': 'example/hostname.cwl'}), "step 'a' must be an object")


# documents that load other documents


@pytest.mark.parametrize('key', ['$mixin', '$schemas', '$base', '$other'])
def test_refuses_salad_directives_anywhere(key):
    refused(workflow(**{key: 'http://example.com/x'}), f"'\\{key}'")
    nested = workflow(steps={'hostname': step(**{'in': {'x': {'default': {key: '/etc/passwd'}}}})})
    message = refused(nested, f"'\\{key}'")
    assert 'steps.hostname.in.x.default' in message


@pytest.mark.parametrize('key', ['$import', '$include'])
def test_refuses_references_where_nothing_may_be_read(key):
    nested = workflow(steps={'hostname': step(**{'in': {'x': {'default': {key: '/etc/passwd'}}}})})
    refused(nested, 'cannot import other documents')


def test_allows_namespace_declarations():
    plan(workflow(**{'$namespaces': {'edam': 'http://edamontology.org/'}}))


def test_refuses_nested_graph():
    refused(workflow(inputs={'x': {'$graph': []}}), r"'\$graph'")


# run


@pytest.mark.parametrize(
    'run, match',
    [
        (dict(HOSTNAME), 'inline tools'),
        (['example/hostname.cwl'], "'run' must be"),
        (3, "'run' must be"),
        ('file:///etc/passwd.cwl', 'not a URL'),
        ('http://evil.example.com/tool.cwl', 'not a URL'),
        ('example:hostname.cwl', 'not a URL'),
        ('/home/user/.cerise/api/example/steps/example/hostname.cwl', 'not an absolute path'),
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
    ],
)
def test_refuses_bad_run(run, match):
    message = refused(workflow(steps={'mystep': step(run=run)}), match)
    assert "step 'mystep'" in message


def test_refuses_missing_run():
    doc = workflow(steps={'mystep': {'in': {}, 'out': []}})
    refused(doc, "step 'mystep' has no 'run'")


def test_unknown_step_lists_installed_steps():
    message = refused(workflow(steps={'s': step(run='foo/bar.cwl')}), 'installed steps are')
    assert 'example/hostname.cwl' in message
    assert 'other/deep/tool.cwl' in message


def test_unknown_step_list_is_shortened():
    catalogue = {f'p/step{i:02}.cwl': HOSTNAME for i in range(30)}
    message = refused(workflow(steps={'s': step(run='p/x.cwl')}), 'and 10 more', catalogue)
    assert 'p/step19.cwl' in message and 'p/step20.cwl' not in message


def test_unknown_step_with_empty_catalogue():
    refused(workflow(), 'no steps are installed', {})


# requirements and hints

FORBIDDEN = [
    'EnvVarRequirement',
    'ShellCommandRequirement',
    'InitialWorkDirRequirement',
    'DockerRequirement',
    'SoftwareRequirement',
    'cwltool:LoadListingRequirement',
    'http://commonwl.org/cwltool#MPIRequirement',
    'Unknown',
]


@pytest.mark.parametrize('cls', FORBIDDEN)
@pytest.mark.parametrize('where', ['workflow', 'step'])
@pytest.mark.parametrize('form', ['mapping', 'list'])
def test_refuses_requirements_that_change_how_steps_run(cls, where, form):
    value = {cls: {}} if form == 'mapping' else [{'class': cls}]
    if where == 'workflow':
        doc = workflow(requirements=value)
        expected = 'the workflow'
    else:
        doc = workflow(steps={'hostname': step(requirements=value)})
        expected = "step 'hostname'"
    message = refused(doc, 'is not allowed')
    assert expected in message and f"requirement '{cls}'" in message


@pytest.mark.parametrize('cls', FORBIDDEN)
@pytest.mark.parametrize('where', ['workflow', 'step'])
@pytest.mark.parametrize('form', ['mapping', 'list'])
def test_drops_hints_it_does_not_honour_with_a_note(cls, where, form):
    value = {cls: {}} if form == 'mapping' else [{'class': cls}]
    if where == 'workflow':
        doc = workflow(hints=value)
        expected = 'the workflow'
    else:
        doc = workflow(steps={'hostname': step(hints=value)})
        expected = "step 'hostname'"
    result = plan(doc)
    (note,) = result.notes
    assert note.startswith(f"{expected}: ignored the hint '{cls}'")
    rewritten = json.loads(result.content)
    node = rewritten if where == 'workflow' else rewritten['steps']['hostname']
    assert node['hints'] in ({}, [])


def test_keeps_the_hints_it_honours_beside_dropped_ones():
    kept = {'ResourceRequirement': {'coresMin': 2}}
    result = plan(workflow(hints=dict(kept, DockerRequirement={'dockerPull': 'x'})))
    assert json.loads(result.content)['hints'] == kept
    assert 'containers' in result.notes[0] or 'container' in result.notes[0]


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
    {'class': 'InlineJavascriptRequirement', 'expressionLib': ['function f() { return 1; }']},
    {'class': 'SchemaDefRequirement', 'types': [{'name': 'T', 'type': 'enum', 'symbols': ['a']}]},
]


@pytest.mark.parametrize('requirement', ALLOWED, ids=[r['class'] for r in ALLOWED])
def test_allows_harmless_requirements(requirement):
    plan(workflow(requirements=[requirement]))
    plan(workflow(hints=[requirement]))
    body = {k: v for k, v in requirement.items() if k != 'class'}
    plan(workflow(steps={'hostname': step(requirements={requirement['class']: body})}))


def test_refuses_requirement_without_class():
    refused(workflow(hints=[{'coresMin': 3}]), "entry 1 of 'hints'")
    refused(
        workflow(requirements='ScatterFeatureRequirement'),
        "'requirements' must be a list or a mapping",
    )


# JavaScript (evaluated in the runner's sandbox) and extensions


@pytest.mark.parametrize(
    'steps',
    [
        {'hostname': step(expressionLib=['function f() { return 1; }'])},
        {'hostname': step(**{'in': {'x': {'valueFrom': '${ return 1; }'}}})},
        {'hostname': step(**{'in': {'x': {'default': 'a ${b} c'}}})},
        {'hostname': step(**{'in': [{'id': 'x', 'valueFrom': '${1}'}]})},
        {'hostname': step(when='${ return true; }')},
    ],
)
def test_allows_javascript_in_steps(steps):
    requirements = [{'class': 'InlineJavascriptRequirement'}]
    content = json.loads(plan(workflow(steps=steps, requirements=requirements)).content)
    assert content['steps']['hostname']['run'].endswith('/example/steps/example/hostname.cwl')


def test_allows_parameter_references_and_documentation():
    doc = workflow(
        doc=['a ${b}', 'c'],
        label='${label}',
        requirements={'StepInputExpressionRequirement': {}},
        steps={
            'hostname': step(
                doc='${x}', **{'in': {'x': {'source': 'n', 'valueFrom': '$(inputs.n)'}}}
            )
        },
    )
    plan(doc)


def test_refuses_namespaced_keys():
    message = refused(workflow(**{'cwltool:overrides': {}}), "key 'cwltool:overrides'")
    assert 'extensions are not allowed' in message
    refused(
        workflow(steps={'hostname': step(**{'http://commonwl.org/cwltool#requirements': []})}),
        'namespaced keys',
    )


# files in the workflow document: staged like inputs (the stager decides
# which sources may be read; see tests/e2e/test_workflow_policy.py)


@pytest.mark.parametrize(
    'key, value, source',
    [
        ('location', 'file:///etc/passwd', 'file:///etc/passwd'),
        ('location', 'passwd', 'file:///exchange/input/job/passwd'),
        ('location', '../../../etc/passwd', 'file:///etc/passwd'),
        ('path', '/etc/passwd', 'file:///etc/passwd'),
        ('path', 'data/x y.txt', 'file:///exchange/input/job/data/x%20y.txt'),
    ],
)
@pytest.mark.parametrize('cls', ['File', 'Directory'])
def test_plans_file_defaults_relative_to_the_workflow(key, value, source, cls):
    default = {'class': cls, key: value}
    doc = workflow(
        inputs={'f': {'type': cls, 'default': default}},
        steps={'hostname': step(**{'in': {'g': {'default': [default]}}})},
    )
    result = plan(doc, url='file:///exchange/input/job/wf.cwl', work_dir='/res/jobs/1/work')
    assert [(f.source, f.is_directory) for f in result.files] == [(source, cls == 'Directory')] * 2
    assert [f.target.split('/')[:2] for f in result.files] == [['defaults', '1'], ['defaults', '2']]
    content = json.loads(result.content)
    staged = content['inputs']['f']['default']['location']
    assert staged.startswith('file:///res/jobs/1/work/defaults/1/')
    assert 'path' not in content['inputs']['f']['default']
    nested = content['steps']['hostname']['in']['g']['default'][0]['location']
    assert nested.startswith('file:///res/jobs/1/work/defaults/2/')


def test_plans_nested_file_locations():
    default = {
        'class': 'File',
        'contents': 'x',
        'secondaryFiles': [{'class': 'File', 'location': 'x.idx'}],
    }
    listing = {
        'class': 'Directory',
        'basename': 'd',
        'listing': [{'class': 'File', 'path': '/etc/shadow'}],
    }
    doc = workflow(
        inputs={
            'f': {'type': 'File', 'default': default},
            'd': {'type': 'Directory', 'default': listing},
        }
    )
    result = plan(doc, url='file:///ex/wf.cwl', work_dir='/w')
    assert sorted(f.source for f in result.files) == ['file:///etc/shadow', 'file:///ex/x.idx']


def test_allows_file_literals():
    literal = {'class': 'File', 'basename': 'a.txt', 'contents': 'hi'}
    plan(workflow(inputs={'f': {'type': 'File', 'default': literal}}))


@pytest.mark.parametrize(
    'cls', ['cwl:File', 'https://w3id.org/cwl/cwl#File', '#Directory', 'Whatever']
)
def test_refuses_located_objects_whatever_their_class(cls):
    # cwltool accepts 'cwl:File' and the full URI as class File
    default = {'class': cls, 'location': '/etc/hostname'}
    refused(
        workflow(steps={'hostname': step(**{'in': {'f': {'default': default}}})}),
        "has a 'location'",
    )
