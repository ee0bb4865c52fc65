"""`cerise-actors steps [--json]`: the installed steps a workflow may use.

One line per step: its name as a workflow's `run:` names it, its inputs and
outputs with their CWL types, and the first line of its doc; `--json` prints
GET /steps as it is. Kept apart from cli_commands.py, which holds the job
commands, but run the same way (see run_client_command).
"""

import json
from typing import Any, List


def add_steps_command(subparsers, common) -> None:
    steps = subparsers.add_parser(
        'steps', parents=[common], help='list the installed steps a workflow may use'
    )
    steps.add_argument('--json', action='store_true', help='print the JSON of GET /steps')


def steps_command(service, args) -> int:
    steps = service.steps()
    if args.json:
        print(json.dumps(steps, indent=2))
        return 0
    if not steps:
        print('no steps are installed')
    for step in steps:
        print(describe(step))
    return 0


def describe(step: dict) -> str:
    """`name (project version): in1: type, ... -> out: type  doc`"""
    ins = ', '.join(_parameter(p) for p in step.get('inputs') or [])
    outs = ', '.join(_parameter(p) for p in step.get('outputs') or [])
    doc = (step.get('doc') or step.get('label') or '').strip().splitlines()
    line = f'{step["name"]}  ({ins or "no inputs"}) -> ({outs or "no outputs"})'
    return f'{line}  {doc[0]}' if doc else line


def _parameter(parameter: dict) -> str:
    return f'{parameter.get("name")}: {_type(parameter.get("type"))}'


def _type(value: Any) -> str:
    """CWL types as users write them: `string`, `File[]`, `int?`, `a | b`."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        names: List[str] = [_type(item) for item in value]
        if len(names) == 2 and 'null' in names:
            return f'{names[1 - names.index("null")]}?'
        return ' | '.join(names)
    if isinstance(value, dict):
        if value.get('type') == 'array':
            return f'{_type(value.get("items"))}[]'
        if value.get('type') == 'enum':
            return 'enum'
        if value.get('type') == 'record':
            return 'record'
    return json.dumps(value)
