"""`$import` and `$include` are expanded by the service; ToolTimeLimit stays from v1.1 on."""

import json

import pytest

from cerise_actors.errors import InvalidInput, InvalidWorkflow

from .cwl_workflow_fixtures import plan, step, workflow

BASE = 'file:///ex/input/job/wf.cwl'


class Files:
    """A reader over a dict of URL -> text; records what was read."""

    def __init__(self, files):
        self.files = files
        self.read = []

    def __call__(self, url):
        self.read.append(url)
        if url not in self.files:
            raise InvalidInput(f'{url} does not exist')
        return self.files[url].encode()


def test_imports_and_includes_resolve_next_to_the_document_that_holds_them():
    files = Files(
        {
            'file:///ex/input/job/types/t.yml': '{$import: ../more/u.yml}',
            'file:///ex/input/job/more/u.yml': 'name: U\ntype: enum\nsymbols: [a, b]\n',
            'file:///ex/input/job/lib.js': 'function f() { return 1; }\n',
        }
    )
    doc = workflow(
        requirements=[
            {'class': 'SchemaDefRequirement', 'types': [{'$import': 'types/t.yml'}]},
            {'class': 'InlineJavascriptRequirement', 'expressionLib': [{'$include': 'lib.js'}]},
        ]
    )
    content = json.loads(plan(doc, url=BASE, read=files).content)
    schema, js = content['requirements']
    assert schema['types'] == [{'name': 'U', 'type': 'enum', 'symbols': ['a', 'b']}]
    assert js['expressionLib'] == ['function f() { return 1; }\n']
    assert files.read == [
        'file:///ex/input/job/types/t.yml',
        'file:///ex/input/job/more/u.yml',
        'file:///ex/input/job/lib.js',
    ]


def test_what_is_imported_faces_the_same_checks():
    files = Files(
        {
            'file:///ex/input/job/req.yml': 'class: EnvVarRequirement\nenvDef: {A: b}\n',
            'file:///ex/input/job/tool.yml': 'class: CommandLineTool\nbaseCommand: rm\n',
        }
    )
    with pytest.raises(InvalidWorkflow, match="'EnvVarRequirement' is not allowed"):
        plan(workflow(requirements=[{'$import': 'req.yml'}]), url=BASE, read=files)
    with pytest.raises(InvalidWorkflow, match='inline tools'):
        plan(workflow(steps={'s': step(run={'$import': 'tool.yml'})}), url=BASE, read=files)


def test_a_reader_refusal_is_the_jobs_error():
    with pytest.raises(InvalidInput, match='nope.yml does not exist'):
        plan(workflow(inputs={'$import': 'nope.yml'}), url=BASE, read=Files({}))


def test_import_cycles_and_floods_are_bounded():
    loop = Files({'file:///ex/input/job/a.yml': '{$import: a.yml}'})
    with pytest.raises(InvalidWorkflow, match='nested more than 10 deep'):
        plan(workflow(inputs={'x': {'$import': 'a.yml'}}), url=BASE, read=loop)
    many = Files({'file:///ex/input/job/x.txt': 'x'})
    doc = workflow(
        inputs={f'i{n}': {'type': 'string', 'doc': {'$include': 'x.txt'}} for n in range(101)}
    )
    with pytest.raises(InvalidWorkflow, match='more than 100 imports'):
        plan(doc, url=BASE, read=many)


def test_a_directive_must_stand_alone():
    with pytest.raises(InvalidWorkflow, match="'\\$import' at 'inputs' must be the only key"):
        plan(workflow(inputs={'$import': 'a.yml', 'x': 'string'}), url=BASE, read=Files({}))


@pytest.mark.parametrize('version', ['v1.1', 'v1.2'])
def test_tool_time_limit_limits_each_tool_from_v1_1_on(version):
    doc = workflow(
        cwlVersion=version,
        requirements=[{'class': 'ToolTimeLimit', 'timelimit': 20}],
        hints=[{'class': 'TimeLimit', 'timeLimit': 100}],
    )
    result = plan(doc)
    assert result.time_limit == 100, "the job's limit is Cerise's TimeLimit hint"
    content = json.loads(result.content)
    assert content['requirements'] == [{'class': 'ToolTimeLimit', 'timelimit': 20}]
    assert content['hints'] == []


def test_tool_time_limit_in_v1_0_is_the_jobs_limit_as_before():
    doc = workflow(cwlVersion='v1.0', hints={'ToolTimeLimit': {'timelimit': 30}})
    result = plan(doc)
    assert result.time_limit == 30 and json.loads(result.content)['hints'] == {}


def test_files_installed_with_the_steps_are_imported_from_their_installed_copy():
    installed = {'example/types.yml': 'SchemaDefRequirement'}
    doc = workflow(
        requirements=[{'$import': 'example/types.yml'}],
        hints=[{'$import': 'example/types.yml'}],
        inputs={'x': {'type': 'example/types.yml#Hello'}, 'y': {'type': 'string'}},
    )
    result = plan(doc, url=BASE, read=Files({}), installed_files=installed)
    content = json.loads(result.content)
    copy = 'file:///home/user/.cerise/api/example/steps/example/types.yml'
    assert content['requirements'] == [{'$import': copy}]
    assert content['hints'] == [{'$import': copy}] and result.notes == ()
    assert content['inputs']['x']['type'] == f'{copy}#Hello'


def test_only_installed_non_step_files_are_imported_so():
    doc = workflow(requirements=[{'$import': 'example/hostname.cwl'}])
    with pytest.raises(InvalidInput, match='hostname.cwl does not exist'):
        plan(
            doc,
            url=BASE,
            read=Files({}),
            installed_files={'example/types.yml': 'SchemaDefRequirement'},
        )


def test_names_from_an_expanded_import_become_the_workflows_own():
    files = Files({'file:///ex/input/job/t.yml': 'class: SchemaDefRequirement\ntypes: []\n'})
    doc = workflow(
        requirements=[{'$import': 't.yml'}],
        inputs={'x': {'type': 't.yml#Hello'}, 'u': {'type': 'string', 'doc': 'http://a/b#c'}},
    )
    content = json.loads(plan(doc, url=BASE, read=files).content)
    assert content['inputs']['x']['type'] == '#Hello'
    assert content['inputs']['u']['doc'] == 'http://a/b#c', 'other URLs with a fragment stay'


def test_an_imported_list_is_spliced_into_the_list_that_imports_it():
    files = Files(
        {
            'file:///ex/input/job/t.yml': '- {name: A, type: enum, symbols: [a]}\n- {name: B, type: enum, symbols: [b]}\n'
        }
    )
    doc = workflow(
        requirements=[{'class': 'SchemaDefRequirement', 'types': [{'$import': 't.yml'}]}]
    )
    content = json.loads(plan(doc, url=BASE, read=files).content)
    assert [t['name'] for t in content['requirements'][0]['types']] == ['A', 'B']


@pytest.mark.parametrize('section', ['requirements', 'hints'])
def test_an_installed_file_imported_as_a_requirement_must_hold_types(section):
    installed = {'example/env.yml': 'EnvVarRequirement', 'example/run.sh': None}
    for name in installed:
        doc = workflow(**{section: [{'$import': name}]})
        with pytest.raises(InvalidWorkflow, match=f"'{name}' may not be imported as one of"):
            plan(doc, url=BASE, read=Files({}), installed_files=installed)
        step_doc = workflow(steps={'hostname': step(**{section: [{'$import': name}]})})
        with pytest.raises(InvalidWorkflow, match="step 'hostname'"):
            plan(step_doc, url=BASE, read=Files({}), installed_files=installed)
