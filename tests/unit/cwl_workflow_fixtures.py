"""Helpers shared by the test_cwl_workflow_* modules: a step catalogue, a valid
workflow to change, and shortcuts to plan or refuse a submitted workflow."""

import json

import pytest

from cerise_actors.cwl.workflow import plan_workflow
from cerise_actors.errors import InvalidWorkflow

API = '/home/user/.cerise/api'

HOSTNAME = {
    'cwlVersion': 'v1.0',
    'class': 'CommandLineTool',
    'baseCommand': 'hostname',
    'inputs': [],
    'stdout': 'output.txt',
    'outputs': {'output': {'type': 'File', 'outputBinding': {'glob': 'output.txt'}}},
}

CATALOGUE = {
    'example/hostname.cwl': HOSTNAME,
    'example/big.cwl': dict(HOSTNAME, hints={'ResourceRequirement': {'coresMin': 8}}),
    'example/expr.cwl': dict(
        HOSTNAME, requirements=[{'class': 'ResourceRequirement', 'coresMin': '$(inputs.n)'}]
    ),
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
        'cwlVersion': 'v1.0',
        'class': 'Workflow',
        'inputs': {},
        'outputs': {'output': {'type': 'File', 'outputSource': 'hostname/output'}},
        'steps': {'hostname': {'run': 'example/hostname.cwl', 'in': {}, 'out': ['output']}},
    }
    doc.update(changes)
    return doc


def step(**changes):
    result = {'run': 'example/hostname.cwl', 'in': {}, 'out': ['output']}
    result.update(changes)
    return result


def plan(doc, catalogue=CATALOGUE, **options):
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return plan_workflow(raw, catalogue, API, **options)


def refused(doc, match, catalogue=CATALOGUE):
    with pytest.raises(InvalidWorkflow, match=match) as info:
        plan(doc, catalogue)
    return str(info.value)
