"""Tests for checking submitted workflows: what is refused and what is allowed."""

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
def test_refuses_no_steps(steps):
    doc = workflow(steps=steps)
    if steps is None:
        del doc['steps']
    refused(doc, 'has no steps')


def test_refuses_malformed_steps():
    refused(workflow(steps='hostname'), "'steps' must be a list")
    refused(workflow(steps=[step()]), "step number 1 has no 'id'")
    refused(workflow(steps={'a': 'example/hostname.cwl'}), "step 'a' must be an object")


# documents that load other documents


@pytest.mark.parametrize(
    'key', ['$import', '$include', '$mixin', '$schemas', '$namespaces', '$base', '$other']
)
def test_refuses_salad_directives_anywhere(key):
    refused(workflow(**{key: 'http://example.com/x'}), f"'\\{key}'")
    nested = workflow(steps={'hostname': step(**{'in': {'x': {'default': {key: '/etc/passwd'}}}})})
    message = refused(nested, f"'\\{key}'")
    assert 'steps.hostname.in.x.default' in message


def test_refuses_import_of_run():
    refused(workflow(steps={'hostname': step(run={'$import': 'tool.cwl'})}), r"'\$import'")


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
    'InlineJavascriptRequirement',
    'EnvVarRequirement',
    'ShellCommandRequirement',
    'InitialWorkDirRequirement',
    'DockerRequirement',
    'SoftwareRequirement',
    'SchemaDefRequirement',
    'cwltool:LoadListingRequirement',
    'http://commonwl.org/cwltool#MPIRequirement',
    'Unknown',
]


@pytest.mark.parametrize('cls', FORBIDDEN)
@pytest.mark.parametrize('where', ['workflow', 'step'])
@pytest.mark.parametrize('section', ['requirements', 'hints'])
@pytest.mark.parametrize('form', ['mapping', 'list'])
def test_refuses_forbidden_requirements(cls, where, section, form):
    value = {cls: {}} if form == 'mapping' else [{'class': cls}]
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
    refused(
        workflow(
            requirements=[
                {'class': 'InlineJavascriptRequirement', 'expressionLib': ['function f(){}']}
            ]
        ),
        'JavaScript',
    )


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


# JavaScript and extensions


def test_refuses_expression_lib_anywhere():
    refused(workflow(steps={'hostname': step(expressionLib=['x'])}), 'expressionLib')


@pytest.mark.parametrize(
    'steps',
    [
        {'hostname': step(**{'in': {'x': {'valueFrom': '${ return 1; }'}}})},
        {'hostname': step(**{'in': {'x': {'default': 'a ${b} c'}}})},
        {'hostname': step(**{'in': [{'id': 'x', 'valueFrom': '${1}'}]})},
        {'hostname': step(when='${ return true; }')},
    ],
)
def test_refuses_javascript_in_steps(steps):
    refused(workflow(steps=steps), 'JavaScript')


def test_refuses_javascript_in_workflow_inputs():
    refused(
        workflow(inputs={'x': {'type': 'File', 'secondaryFiles': '${ return [] }'}}),
        "'inputs.x.secondaryFiles' contains a JavaScript",
    )


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


# files in the workflow document


@pytest.mark.parametrize(
    'key, value',
    [
        ('location', 'file:///etc/passwd'),
        ('location', 'passwd'),
        ('path', '/etc/passwd'),
    ],
)
@pytest.mark.parametrize('cls', ['File', 'Directory'])
def test_refuses_file_defaults_with_location(key, value, cls):
    default = {'class': cls, key: value}
    refused(
        workflow(inputs={'f': {'type': cls, 'default': default}}),
        f"the {cls} at 'inputs.f.default' has a '{key}'",
    )
    refused(
        workflow(steps={'hostname': step(**{'in': {'f': {'default': default}}})}), f"has a '{key}'"
    )


def test_refuses_nested_file_locations():
    default = {
        'class': 'File',
        'contents': 'x',
        'secondaryFiles': [{'class': 'File', 'location': 'http://example.com/x'}],
    }
    refused(workflow(inputs={'f': {'type': 'File', 'default': default}}), 'secondaryFiles')
    listing = {
        'class': 'Directory',
        'basename': 'd',
        'listing': [{'class': 'File', 'path': '/etc/shadow'}],
    }
    refused(workflow(inputs={'d': {'type': 'Directory', 'default': listing}}), "has a 'path'")


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
