"""check_self_contained: the last gate on what the runner is handed (issue 18)."""

import re

import pytest

from cerise_actors.boundary.workflow_policy import (
    NotSelfContained,
    below,
    check_self_contained,
    is_absolute_reference,
)

API = 'file:///srv/cerise/api/'
STEP = API + 'p/steps/p/tool.cwl'


def workflow(**top):
    doc = {
        'cwlVersion': 'v1.2',
        'class': 'Workflow',
        'inputs': [],
        'outputs': [],
        'steps': [{'id': 's', 'run': STEP, 'in': [], 'out': []}],
    }
    doc.update(top)
    return doc


def test_a_rewritten_workflow_of_installed_steps_passes():
    check_self_contained(workflow(), API)
    check_self_contained(workflow(id='main'), API)
    check_self_contained(workflow(**{'$namespaces': {'edam': 'http://edamontology.org/'}}), API)
    check_self_contained(workflow(requirements=[{'$import': API + 'p/steps/p/types.yml'}]), API)
    types = [{'name': 'T', 'type': 'record', 'fields': [{'name': 'a', 'type': 'int'}]}]
    check_self_contained(
        workflow(requirements=[{'class': 'SchemaDefRequirement', 'types': types}]), API
    )
    check_self_contained(workflow(inputs={'x': {'type': 'Any', 'default': {'name': '/data'}}}), API)


@pytest.mark.parametrize(
    'changes, says',
    [
        ({'id': 'http://127.0.0.1/wf.cwl'}, 'absolute URL or path'),
        ({'id': '/wf.cwl'}, 'absolute URL or path'),
        ({'id': 3}, 'not a string'),
        ({'$base': 'http://127.0.0.1/'}, "'$base'"),
        ({'$schemas': ['http://127.0.0.1/s.rdf']}, "'$schemas'"),
        ({'$namespaces': {'file': 'http://127.0.0.1/ns/'}}, "prefix 'file' may not"),
        ({'$namespaces': {'HTTPS': 'http://127.0.0.1/ns/'}}, "prefix 'HTTPS' may not"),
        ({'$namespaces': {'sld': 'http://127.0.0.1/ns/'}}, "prefix 'sld' may not"),
        ({'$namespaces': {'a b': 'http://x/'}}, 'not a plain name'),
        ({'$namespaces': {'edam': 'file:///etc/'}}, 'must be an http(s) URL'),
        ({'$namespaces': ['edam']}, 'must map prefixes'),
        ({'requirements': [{'$import': 'http://127.0.0.1/r.yml'}]}, "'$import'"),
        ({'inputs': {'/x': 'string'}}, 'absolute URL or path'),
        # a review: URL parsers strip leading white space, and .. climbs to the API
        ({'id': '\thttp://127.0.0.1/wf.cwl'}, 'ids must be plain names'),
        ({'id': ' http://127.0.0.1/wf.cwl'}, 'ids must be plain names'),
        ({'id': '../../api/p/steps/p/tool.cwl#T'}, 'ids must be plain names'),
        ({'id': 'main\n'}, 'ids must be plain names'),
        ({'inputs': {'../x': 'string'}}, 'names must be plain'),
        (  # cwl:tool made cwltool read the workflow as a job order with overrides
            {'cwl:tool': STEP, 'cwltool:overrides': {STEP: {'requirements': {}}}},
            'namespaced keys are not allowed',
        ),
        (  # a type named as an installed step's own type would stand for it
            {
                'requirements': [
                    {
                        'class': 'SchemaDefRequirement',
                        'types': [
                            {
                                'name': API + 'p/steps/p/types.yml#T',
                                'type': 'enum',
                                'symbols': ['a'],
                            }
                        ],
                    }
                ]
            },
            'type and field names must be plain',
        ),
        ({'class': 'CommandLineTool'}, 'not a Workflow'),
        ({'steps': 'x'}, 'neither a list nor a map'),
    ],
)
def test_anything_naming_outside_is_refused(changes, says):
    with pytest.raises(NotSelfContained, match=re.escape(says)):
        check_self_contained(workflow(**changes), API)


@pytest.mark.parametrize(
    'run',
    [
        'http://127.0.0.1/tool.cwl',
        '/srv/cerise/api/p/steps/p/tool.cwl',
        API + 'p/steps/../../../etc/tool.cwl',
        API + 'p/steps/%2e%2e/x.cwl',
        API + 'p/steps/p/tool.cwl?x',
        'file:///srv/cerise/api2/p/tool.cwl',
        {'class': 'CommandLineTool'},
        None,
    ],
)
def test_every_run_is_an_installed_file(run):
    doc = workflow(steps={'s': {'run': run, 'in': {}, 'out': []}})
    with pytest.raises(NotSelfContained, match='not an installed step'):
        check_self_contained(doc, API)


def test_what_cannot_be_walked_is_refused():
    """Fails closed: a value no JSON document holds, or a prefix that is no folder."""
    with pytest.raises(NotSelfContained):
        check_self_contained(workflow(doc=b'bytes'), API)
    with pytest.raises(NotSelfContained):
        check_self_contained(workflow(doc={1, 2}), API)
    with pytest.raises(NotSelfContained):
        check_self_contained(workflow(), 'http://127.0.0.1/api/')
    deep = workflow()
    node = deep
    for _ in range(300):
        node['x'] = {}
        node = node['x']
    with pytest.raises(NotSelfContained, match='too deeply'):
        check_self_contained(deep, API)


def test_references_and_folders():
    assert is_absolute_reference('http://x') and is_absolute_reference('evil:x')
    assert is_absolute_reference('/x') and is_absolute_reference('//host/x')
    assert not is_absolute_reference('main') and not is_absolute_reference('#main')
    assert below(API + 'p/x.cwl', API) and not below(API + 'p/../x.cwl', API)
    assert not below(API, API) and not below(API + 'p//x.cwl', API)
