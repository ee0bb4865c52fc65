"""WorkflowValidator: cwltool's loader on the user's documents, served only
the installed steps and exchange files, running nothing."""

import os

import pytest

from cerise_actors.errors import InvalidInput, InvalidWorkflow
from cerise_actors.staging import validate
from cerise_actors.staging.api_install import local_projects
from cerise_actors.staging.validate import WorkflowValidator

from ..helpers import TEST_API_DIR
from ..workflows import ECHO

URL = 'file:///srv/files/input/job/mine.cwl'


def refuse(url):
    raise InvalidWorkflow(f'{url} is not in the exchange area')


@pytest.fixture(scope='module')
def validator():
    return WorkflowValidator(local_projects(TEST_API_DIR))


def test_a_sound_workflow_and_input_pass(validator):
    validator.check(URL, ECHO.encode(), {'text': 'hello'}, refuse)


def test_wiring_errors_name_the_users_file_and_line(validator):
    wrong = ECHO.replace('in: {text: text}', 'in: {txt: text}')
    with pytest.raises(
        InvalidWorkflow, match=r"^mine\.cwl:\d+:\d+: Step is missing required parameter 'text'"
    ):
        validator.check(URL, wrong.encode(), {'text': 'hello'}, refuse)


def test_input_errors_are_invalid_input(validator):
    with pytest.raises(InvalidInput, match="the 'text' field is not valid"):
        validator.check(URL, ECHO.encode(), {'text': 42}, refuse)
    with pytest.raises(
        InvalidInput, match=r"mine\.cwl:3:10: Missing required input parameter 'text'"
    ):
        validator.check(URL, ECHO.encode(), {}, refuse)


def test_only_installed_steps_and_exchange_files_can_be_read(validator):
    elsewhere = ECHO.replace('run: test/echo.cwl', 'run: ../../../etc/echo.cwl')
    with pytest.raises(InvalidWorkflow, match="'run' contains undefined reference"):
        validator.check(URL, elsewhere.encode(), {'text': 'x'}, refuse)


def test_loading_runs_no_javascript(validator, monkeypatch):
    import cwltool.validate_js

    def no_engine(*args, **kwargs):
        raise AssertionError('a JavaScript engine was started')

    monkeypatch.setattr(cwltool.validate_js, 'exec_js_process', no_engine)
    monkeypatch.setattr(cwltool.validate_js, 'jshint_js', no_engine)
    with_js = ECHO.replace(
        'class: Workflow\n',
        'class: Workflow\nrequirements:\n  InlineJavascriptRequirement:\n'
        '    expressionLib: ["while (true) {}"]\n',
    )
    validator._check(URL, with_js.encode(), {'text': 'x'}, refuse, None)  # check() forgives


def test_a_checker_failure_refuses_the_job(validator, monkeypatch, caplog):
    """Fail closed (issue 18): a check that cannot decide never lets a job through."""

    def broken(*args):
        raise RuntimeError('a bug in the checker')

    monkeypatch.setattr(validator, '_check', broken)  # any signature
    with pytest.raises(InvalidWorkflow, match=r'could not be checked \(RuntimeError: a bug'):
        validator.check(URL, ECHO.encode(), {'text': 'x'}, refuse)
    assert 'could not check' in caplog.text  # the traceback is in the service log
    assert validate.MAX_LINES > 0


def test_what_only_the_service_understands_is_checked_as_the_service_rewrote_it(validator):
    """Cerise's TimeLimit hint is no CWL cwltool accepts; the service takes it
    out before the runner sees the workflow, so the rewritten form is checked."""
    from cerise_actors.cwl.steps import load_step_catalogue
    from cerise_actors.cwl.workflow import plan_workflow

    from ..workflows import SLEEP_WITH_TIME_LIMIT

    raw = SLEEP_WITH_TIME_LIMIT.encode()
    catalogue = load_step_catalogue(local_projects(TEST_API_DIR))
    plan = plan_workflow(raw, catalogue, '/remote/api', url=URL)
    with pytest.raises(InvalidWorkflow, match='TimeLimit'):
        validator.check(URL, raw, {'seconds': 1}, refuse)  # the user's text alone
    validator.check(URL, raw, {'seconds': 1}, refuse, plan.content, '/remote/api')
    with pytest.raises(
        InvalidInput,
        match="^the input object does not fit the workflow: input 'seconds': got the string",
    ):
        validator.check(URL, raw, {'seconds': 'one'}, refuse, plan.content, '/remote/api')


def test_a_workflow_is_loaded_once_for_many_jobs_until_a_step_changes(tmp_path):
    import shutil

    api = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, api)
    checker = WorkflowValidator(local_projects(api))
    checker.check(URL, ECHO.encode(), {'text': 'a'}, refuse)
    assert len(checker._tools) == 1
    (tool,) = [entry[0] for entry in checker._tools.values()]
    with pytest.raises(InvalidInput):  # the input is still checked each time
        checker.check(URL, ECHO.encode(), {'text': 1}, refuse)
    assert [entry[0] for entry in checker._tools.values()] == [tool], 'loaded once'
    step = api / 'test' / 'steps' / 'test' / 'echo.cwl'
    step.write_text(step.read_text().replace('text: {type: string', 'text: {type: int'))
    os.utime(step, ns=(1, 1))  # a changed step, whatever the clock's resolution
    with pytest.raises(InvalidWorkflow):  # the step now wants an int: wired wrong
        checker.check(URL, ECHO.encode(), {'text': 'a'}, refuse)
