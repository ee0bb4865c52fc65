"""Tests for the cores and time limit a workflow asks for."""

import json

import pytest

from .cwl_workflow_fixtures import CATALOGUE, HOSTNAME, plan, refused, step, workflow

# resources


def test_cores_and_time_limit_default_to_zero():
    result = plan(workflow())
    assert (result.cores, result.time_limit) == (0, 0)


@pytest.mark.parametrize(
    'changes, cores',
    [
        ({'hints': {'ResourceRequirement': {'coresMin': 3}}}, 3),
        ({'requirements': [{'class': 'ResourceRequirement', 'coresMin': 5}]}, 5),
        ({'hints': [{'class': 'ResourceRequirement', 'coresMax': 6}]}, 6),
        ({'hints': {'ResourceRequirement': {'coresMin': 1.5}}}, 2),
        (
            {
                'hints': {'ResourceRequirement': {'coresMin': 16}},
                'requirements': {'ResourceRequirement': {'coresMin': 2}},
            },
            2,
        ),
        ({'steps': {'hostname': step(hints={'ResourceRequirement': {'coresMin': 7}})}}, 7),
        ({'steps': {'hostname': step(run='example/big.cwl')}}, 8),
        (
            {
                'steps': {'hostname': step(run='example/big.cwl'), 'other': step()},
                'hints': {'ResourceRequirement': {'coresMin': 12}},
            },
            12,
        ),
        ({'steps': {'hostname': step(run='example/expr.cwl')}}, 0),
    ],
)
def test_cores(changes, cores):
    assert plan(workflow(**changes)).cores == cores


@pytest.mark.parametrize('value', ['$(inputs.n)', 'four', True, -1, [2]])
def test_refuses_bad_cores(value):
    refused(
        workflow(hints={'ResourceRequirement': {'coresMin': value}}),
        'the workflow: ResourceRequirement coresMin',
    )


def test_refuses_expression_cores_in_step():
    refused(
        workflow(
            steps={
                'hostname': step(
                    requirements=[{'class': 'ResourceRequirement', 'coresMin': '$(inputs.n)'}]
                )
            }
        ),
        "step 'hostname'.*expression",
    )


def test_broken_installed_step_is_reported_as_service_problem():
    catalogue = dict(
        CATALOGUE,
        **{'example/hostname.cwl': dict(HOSTNAME, hints={'ResourceRequirement': {'coresMin': -2}})},
    )
    refused(workflow(), "installed step 'example/hostname.cwl'.*maintainers", catalogue)


@pytest.mark.parametrize(
    'changes, limit',
    [
        ({'hints': {'TimeLimit': 101}}, 101),
        ({'hints': {'TimeLimit': {'timeLimit': 60}}}, 60),
        ({'hints': [{'class': 'TimeLimit', 'timeLimit': 61}]}, 61),
        ({'requirements': {'ToolTimeLimit': {'timelimit': 62}}}, 62),
        ({'requirements': [{'class': 'ToolTimeLimit', 'timelimit': 63}]}, 63),
        ({'hints': {'ToolTimeLimit': {'timelimit': 64}, 'TimeLimit': 10}}, 64),
        ({'hints': {'TimeLimit': 3600.0}}, 3600),
    ],
)
def test_time_limit(changes, limit):
    assert plan(workflow(**changes)).time_limit == limit


def test_step_time_limits_do_not_limit_the_job():
    doc = workflow(steps={'hostname': step(hints={'TimeLimit': 5})})
    assert plan(doc).time_limit == 0


@pytest.mark.parametrize(
    'hints',
    [
        {'TimeLimit': -1},
        {'TimeLimit': 'an hour'},
        {'TimeLimit': 1.5},
        {'TimeLimit': {'timeLimit': '$(60)'}},
        {'ToolTimeLimit': {'other': 1}},
        {'ToolTimeLimit': {'timelimit': True}},
    ],
)
def test_refuses_bad_time_limit(hints):
    refused(workflow(hints=hints), 'the workflow: (Tool)?TimeLimit')


def test_time_limits_are_read_then_left_out_for_the_runner():
    """The service enforces the limit; cwltool would refuse these classes."""
    doc = workflow(
        hints={'TimeLimit': 101, 'ResourceRequirement': {'coresMin': 1}},
        requirements=[
            {'class': 'ToolTimeLimit', 'timelimit': 101},
            {'class': 'ScatterFeatureRequirement'},
        ],
        steps={'hostname': step(requirements={'ToolTimeLimit': 7})},
    )
    result = plan(doc)
    assert result.time_limit == 101
    content = json.loads(result.content)
    assert content['hints'] == {'ResourceRequirement': {'coresMin': 1}}
    assert content['requirements'] == [{'class': 'ScatterFeatureRequirement'}]
    assert content['steps']['hostname']['requirements'] == {}
