"""Issue 18, item 10: generated hostile workflows never lead outside, on either side.

Hypothesis writes workflow documents from hostile parts: explicit YAML tags,
absolute and URL ids, `$base`, `$schemas`, `$namespaces`, `run:` values of
every kind, `$import`s and `$include`s (nested through files in the exchange
area) of exchange files, URLs and system files, and expressions returning
Files of random schemes. Each document goes through

- the service: `plan_workflow` (parse, expand imports, check, rewrite) and
  the cwltool check of staging (`WorkflowValidator`), reading imports only
  through the exchange area, as staging does;
- the runner: its confined loader (runner/loader.py) on what the service
  would hand it, and on the document itself as if the service's checks were
  gone.

The oracle is not the code under test but Python's audit hooks: while a
document is handled, every file opened, socket used and process started is
recorded, and anything outside the installed steps, the job's own files, the
exchange area and the Python installation is an escape. Expressions are
judged by the runner's check of their values (runner/confine.py).
"""

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cerise_actors.errors import CeriseError
from cerise_actors.runner import confine, loader
from cerise_actors.staging.api_install import local_projects
from cerise_actors.staging.exchange import Exchange
from cerise_actors.staging.sources import Sources
from cerise_actors.staging.validate import WorkflowValidator

from ..helpers import TEST_API_DIR
from .audit import WATCH, escapes

REPO_DIR = Path(__file__).resolve().parents[2]
ATTACKER = 'http://127.0.0.1:9'  # nothing listens there; any connect is an escape anyway
EXAMPLES = int(os.environ.get('CERISE_PROPERTY_EXAMPLES', '2000'))

# -- the parts hostile documents are made of -------------------------------------------

IDS = st.sampled_from(
    ['main', '#main', f'{ATTACKER}/evil/wf.cwl', '/etc/wf.cwl', 'file:///etc/x', 'evil:x',
     'ftp://127.0.0.1/x', '//127.0.0.1/x', '\\\\host\\x', 's', '#s']
)  # fmt: skip
RUNS = st.sampled_from(
    ['test/hostname.cwl', f'{ATTACKER}/evil/tool.cwl', '/bin/true.cwl', 'evil:tool.cwl',
     'test/../../../bin/sh.cwl', f'file://{TEST_API_DIR}/test/steps/test/hostname.cwl',
     'file:///etc/passwd', 'test/hostname.cwl#main', '../input/x/evil.cwl', 'evil.cwl',
     'test/%2e%2e/%2e%2e/x.cwl', 'data:text/plain,cwlVersion', 's3://bucket/tool.cwl']
)  # fmt: skip
TARGETS = st.sampled_from(
    ['types.yml', 'lib.js', 'nested.yml', f'{ATTACKER}/evil.yml', 'file:///etc/passwd',
     '../../../../etc/passwd', '/etc/hostname', 'test/types.yml', 'nested.yml#x',
     'ftp://127.0.0.1/x.yml', 'missing.yml']
)  # fmt: skip
TAGS = st.sampled_from(
    ['!!binary', '!!set', '!!python/object/apply:os.system', '!!python/name:os.system',
     '!evil', '!', '!!str', '!!omap', '!<tag:yaml.org,2002:python/none>']
)  # fmt: skip
SCHEMES = st.sampled_from(['http', 'https', 'ftp', 's3', 'file', 'data', 'keep', 'gs', ''])
DIRECTIVES = st.sampled_from(['$base', '$schemas', '$namespaces', '$mixin', '$graph'])


class Tagged:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def to_yaml(value) -> str:
    """Flow-style YAML, with Tagged values written with their tag."""
    if isinstance(value, Tagged):
        return f'{value.tag} {to_yaml(value.value)}'
    if isinstance(value, dict):
        return '{' + ', '.join(f'{json.dumps(k)}: {to_yaml(v)}' for k, v in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(to_yaml(v) for v in value) + ']'
    return json.dumps(value)


@st.composite
def hostile_workflows(draw):
    """(the workflow's text, the texts of the exchange files it may import)."""

    def sometimes(n: int) -> bool:  # one time in n: most documents get far
        return draw(st.integers(0, n - 1)) == 0

    step = {'run': draw(RUNS) if sometimes(2) else 'test/hostname.cwl', 'in': {}, 'out': ['output']}
    if sometimes(6):
        step['run'] = {'$import': draw(TARGETS)}
    if sometimes(8):  # an inline tool
        step['run'] = {'class': 'CommandLineTool', 'baseCommand': 'touch', 'inputs': [],
                       'outputs': {'output': 'stdout'}}  # fmt: skip
    doc = {'cwlVersion': draw(st.sampled_from(['v1.0', 'v1.2'])), 'class': 'Workflow'}
    if sometimes(2):
        doc['id'] = draw(IDS)
    for directive in draw(st.lists(DIRECTIVES, max_size=2)) if sometimes(4) else []:
        doc[directive] = draw(st.sampled_from([f'{ATTACKER}/', [f'{ATTACKER}/s.rdf'],
                                               {'evil': f'{ATTACKER}/'}, '/etc/',
                                               {'file': f'{ATTACKER}/ns/'},
                                               {'edam': 'http://edamontology.org/'},
                                               {'file': 'file:///etc/'}]))  # fmt: skip
    requirements = []
    if sometimes(3):
        requirements.append({'$import': draw(TARGETS)})
    if sometimes(3):
        requirements.append({'class': 'InlineJavascriptRequirement',
                             'expressionLib': [{'$include': draw(TARGETS)}]})  # fmt: skip
    if requirements:
        doc['requirements'] = requirements
    hints = [{'class': 'Foo', 'x': 'y'}]
    if sometimes(6):
        hints[0]['x'] = Tagged(draw(TAGS), 'aGVsbG8=')
    if sometimes(6):
        hints.append(Tagged(draw(TAGS), {'class': 'EnvVarRequirement'}))
    doc['hints'] = hints
    doc['inputs'] = []
    doc['outputs'] = {'out': {'type': 'File', 'outputSource': 's/output'}}
    if sometimes(2):
        step_with_id = dict(step, id=draw(IDS) if sometimes(2) else 's')
        doc['steps'] = [step_with_id]
        doc['outputs']['out']['outputSource'] = f'{step_with_id["id"].lstrip("#")}/output'
    else:
        doc['steps'] = {'s': step}
    nested = {'class': 'SchemaDefRequirement', 'types': [{'$import': draw(TARGETS)}]}
    files = {
        'types.yml': 'name: Colour\ntype: enum\nsymbols: [red, green]\n',
        'lib.js': 'function f(x) { return x; }\n',
        'nested.yml': to_yaml(nested),
    }
    return to_yaml(doc), files


def file_objects(draw_scheme, location_path):
    scheme = draw_scheme
    if scheme == '':
        return location_path
    if scheme == 'file':
        return 'file://' + location_path
    return f'{scheme}://127.0.0.1/{location_path.lstrip("/")}'


# -- the two sides ---------------------------------------------------------------------


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp('property')
    exchange_dir = root / 'exchange'
    (exchange_dir / 'input' / 'probe').mkdir(parents=True)
    (exchange_dir / 'output').mkdir()
    job = root / 'jobs' / 'j1'
    for sub in ('work', 'tmp'):
        (job / sub).mkdir(parents=True)
    (job / 'input.json').write_text('{}')
    exchange = Exchange(exchange_dir, 'http://127.0.0.1:1/files')
    projects = local_projects(TEST_API_DIR)
    from cerise_actors.cwl.steps import installed_file_names, load_step_catalogue

    _warm_up(exchange_dir, job, projects)
    python_roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    python_roots |= {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)}
    python_roots.discard(os.path.realpath(str(REPO_DIR)))  # the repository: only its package
    python_roots.add(os.path.realpath(str(REPO_DIR / 'cerise_actors')))
    return {
        'exchange': exchange,
        'dir': exchange_dir,
        'job': job,
        'catalogue': load_step_catalogue(projects),
        'installed': installed_file_names(projects),
        'validator': WorkflowValidator(projects),
        'allowed': tuple(
            sorted(python_roots | {os.path.realpath(p) for p in (TEST_API_DIR, exchange_dir, job)})
        ),
        'python': tuple(sorted(python_roots)),
    }


def _warm_up(exchange_dir, job, projects) -> None:
    """Import and load once before watching: first imports read files of the
    system (/proc/stat, say), which no document asked for."""
    from cerise_actors.cwl.steps import installed_file_names, load_step_catalogue

    from ..workflows import HOSTNAME

    world = {
        'exchange': Exchange(exchange_dir, 'http://127.0.0.1:1/files'),
        'dir': exchange_dir,
        'job': job,
        'catalogue': load_step_catalogue(projects),
        'installed': installed_file_names(projects),
        'validator': WorkflowValidator(projects),
    }
    runner_side(world, service_side(world, HOSTNAME, {}))


def service_side(world, text: str, files: dict) -> None:
    """What staging does with a workflow: plan, then cwltool's check."""
    from cerise_actors.cwl.workflow import plan_workflow

    folder = world['dir'] / 'input' / 'probe'
    for name, content in files.items():
        (folder / name).write_text(content)
    url = (folder / 'wf.cwl').as_uri()
    (folder / 'wf.cwl').write_text(text)
    sources = Sources(world['exchange'])

    def read(wanted: str) -> bytes:
        from cerise_actors.errors import InvalidWorkflow

        if world['exchange'].name_of(wanted) is None:
            raise InvalidWorkflow(f'{wanted}: only the exchange area')
        return sources.read_workflow(wanted)

    plan = plan_workflow(
        text.encode(),
        world['catalogue'],
        str(TEST_API_DIR),
        url=url,
        read=read,
        work_dir=str(world['job'] / 'work'),
        installed_files=world['installed'],
    )
    world['validator'].check(url, text.encode(), {}, read, plan.content, str(TEST_API_DIR))
    return plan.content


def unconfined_runner(world, content: bytes) -> None:
    """cwltool's own loader on what the service hands the runner, as a
    configured `cwl-runner` would load it: the service's checks alone must
    keep it from fetching or loading anything outside (a `$namespaces` that
    redefined `file:` once did not)."""
    from cwltool.context import LoadingContext
    from cwltool.load_tool import load_tool
    from cwltool.resolver import ga4gh_tool_registries

    job = world['job']
    (job / 'workflow.cwl').write_bytes(content)
    del ga4gh_tool_registries[:]  # off unless asked for, as cwltool's main leaves it
    load_tool(str(job / 'workflow.cwl'), LoadingContext({'disable_js_validation': True}))


def runner_side(world, content: bytes, precheck: bool = True) -> None:
    """The runner's confined loader on a workflow, loading and building, not
    running; without `precheck`, the loader's fetcher, resolver and process
    guard alone (as if its check of the workflow file were gone too)."""
    from cwltool.argparser import arg_parser
    from cwltool.load_tool import load_tool

    job = world['job']
    (job / 'workflow.cwl').write_bytes(content)
    confinement = loader.Confinement([str(TEST_API_DIR)], [str(job)])
    if precheck:
        loader.check_workflow_file(str(job / 'workflow.cwl'), confinement)
    args = arg_parser().parse_args(
        ['--disable-js-validation', str(job / 'workflow.cwl'), str(job / 'input.json')]
    )
    context, _ = loader.loading_context(args, confinement)
    load_tool(str(job / 'workflow.cwl'), context)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same documents in every CI run: a failure is a finding
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
@given(generated=hostile_workflows())
def test_no_generated_workflow_leads_the_service_or_the_runner_outside(world, generated):
    from schema_salad.exceptions import ValidationException

    text, files = generated
    refusals = (CeriseError, loader.Refused, ValidationException, Exception)
    with WATCH:
        try:
            content = service_side(world, text, files)
        except CeriseError as refused:
            content = None
            event(f'service: refused ({str(refused).split(" ")[0:3]})')
    if content is not None:
        event('service: accepted')
    found = escapes(WATCH.events, world['allowed'])
    assert found == [], f'{found}\n{text}'
    if content is not None:
        with WATCH:
            try:
                unconfined_runner(world, content)
            except refusals:
                pass
        allowed = world['python'] + tuple(os.path.realpath(p) for p in (TEST_API_DIR, world['job']))
        found = escapes(WATCH.events, allowed)
        assert found == [], f'{found}\n{text}'
    documents = [content] if content is not None else []
    try:  # as if the service's checks were gone: the document itself, if JSON can hold it
        documents.append(json.dumps(__import__('yaml').safe_load(text)).encode())
    except Exception:  # noqa: BLE001 - tags: not a document the runner could be handed
        pass
    for document in documents:
        for precheck in (True, False):
            with WATCH:
                try:
                    runner_side(world, document, precheck)
                    event(f'runner (precheck {precheck}): loaded')
                except refusals as refused:
                    event(f'runner (precheck {precheck}): refused ({type(refused).__name__})')
        allowed = world['python'] + tuple(os.path.realpath(p) for p in (TEST_API_DIR, world['job']))
        assert escapes(WATCH.events, allowed) == [], document


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(
    scheme=SCHEMES,
    path=st.sampled_from(['/etc/passwd', 'JOB/work/x.txt', 'JOB/../secret', 'x.txt',
                          'API/test/steps/test/wc.cwl', '/proc/self/environ', '../../x']),
    key=st.sampled_from(['location', 'path']),
    cls=st.sampled_from(['File', 'Directory', 'cwl:File', 'https://w3id.org/cwl/cwl#File']),
    nested=st.integers(0, 3),
)  # fmt: skip
def test_an_expression_can_name_only_files_of_the_job_and_the_steps(
    tmp_path_factory, scheme, path, key, cls, nested
):
    """The runner's check of every value an expression returns."""
    job = os.path.realpath('/tmp/cerise-property-job')
    roots = (job, os.path.realpath(str(TEST_API_DIR)))
    real_path = path.replace('JOB', job).replace('API', str(TEST_API_DIR))
    location = file_objects(scheme, real_path)
    value = {'class': cls, key: location}
    for _ in range(nested):
        value = {'class': 'File', 'location': f'{job}/work/ok', 'secondaryFiles': [value]}
    if '..' in real_path:
        local = False  # no climbing, in any form
    elif not real_path.startswith('/'):
        local = scheme == ''  # a relative name; `file://x.txt` names a host
    else:
        local = scheme in ('', 'file') and real_path.startswith(tuple(r + '/' for r in roots))
    try:
        confine.check_value(value, roots)
        accepted = True
    except Exception:  # noqa: BLE001 - JavascriptException
        accepted = False
    assert accepted == local, (value, accepted)
