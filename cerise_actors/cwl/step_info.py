"""What the installed steps offer, as users see it (GET /steps, `cerise-actors steps`).

Users may only compose installed steps, so they need to know each step's
name (as a workflow's `run:` names it), what goes in and what comes out.
Pure functions over the step catalogue (steps.py): a step's inputs and
outputs in either CWL form (a list with `id`s or a map) become a list of
`{name, type, doc, default}`, with the types as CWL writes them.
"""

from typing import Any, Dict, List, Mapping, Optional


def describe_steps(catalogue: Mapping[str, dict], versions: Mapping[str, str]) -> List[dict]:
    """One entry per installed step, sorted by name; `versions` maps project
    name -> installed version."""
    return [
        describe_step(name, doc, versions.get(name.split('/', 1)[0]))
        for name, doc in sorted(catalogue.items())
    ]


def describe_step(name: str, doc: Mapping[str, Any], version: Optional[str]) -> dict:
    project = name.split('/', 1)[0]
    entry = {
        'name': name,
        'project': project,
        'version': version,
        'class': doc.get('class'),
        'label': _text(doc.get('label')),
        'doc': _text(doc.get('doc')),
        'inputs': _parameters(doc.get('inputs')),
        'outputs': _parameters(doc.get('outputs')),
    }
    return entry


def _parameters(section: Any) -> List[dict]:
    """CWL inputs/outputs, list or map form, as a list in document order."""
    if isinstance(section, Mapping):
        items = [(key, value) for key, value in section.items()]
    elif isinstance(section, list):
        items = [(item.get('id'), item) for item in section if isinstance(item, Mapping)]
    else:
        return []
    result = []
    for ident, value in items:
        if not isinstance(ident, str):
            continue
        result.append(_parameter(ident.rsplit('#', 1)[-1].rsplit('/', 1)[-1], value))
    return result


def _parameter(name: str, value: Any) -> Dict[str, Any]:
    if not isinstance(value, Mapping):  # the short form `name: type`
        return {'name': name, 'type': value}
    parameter = {'name': name, 'type': value.get('type')}
    if value.get('doc') is not None:
        parameter['doc'] = _text(value.get('doc'))
    if value.get('label') is not None:
        parameter['label'] = _text(value.get('label'))
    if 'default' in value:
        parameter['default'] = value['default']
    return parameter


def _text(value: Any) -> Optional[str]:
    """CWL allows a doc to be a list of strings."""
    if isinstance(value, list):
        return '\n'.join(str(item) for item in value)
    return None if value is None else str(value)
