"""A `.dev` specialisation is reinstalled at start, but only once running jobs are done."""

import shutil

from cerise_actors.app import running_service
from cerise_actors.config import service_config_from_dict

from .. import workflows as wf
from ..helpers import TEST_API_DIR, Client, wait_for
from ..service_setup import api_config_for_tests, service_config_dict


def _start(root):
    config = service_config_from_dict(service_config_dict(root), env={})
    context = running_service(config, TEST_API_DIR, api_config=api_config_for_tests(root))
    service = context.__enter__()
    return context, Client(service.base_url, config.exchange_service_dir)


def test_dev_reinstall_waits_for_running_jobs(tmp_path):
    context, client = _start(tmp_path)
    sleeper = client.submit(wf.SLEEP, {'seconds': 6})['id']
    client.wait_state(sleeper, 'Running')
    heading = tmp_path / 'resource' / 'api' / 'test' / 'files' / 'heading.txt'
    first_install = heading.stat().st_mtime_ns
    context.__exit__(None, None, None)  # the job keeps running meanwhile

    context, client = _start(tmp_path)
    try:
        assert heading.stat().st_mtime_ns == first_install, 'not reinstalled yet'
        follower = client.submit(wf.HOSTNAME)['id']
        wait_for(
            lambda: 'specialisation to be installed' in client.log(follower),
            message='follower staged and held',
        )
        assert client.state(sleeper) == 'Running'
        assert client.state(follower) == 'Waiting', 'new jobs wait for the reinstall'
        assert client.wait_final(sleeper)['state'] == 'Success'
        assert client.wait_final(follower)['state'] == 'Success'
        assert heading.stat().st_mtime_ns != first_install, 'reinstalled once idle'
    finally:
        context.__exit__(None, None, None)


def test_released_version_is_not_reinstalled(tmp_path):
    api = api_config_for_tests(tmp_path)
    config = service_config_from_dict(service_config_dict(tmp_path), env={})
    project = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, project)
    (project / 'test' / 'version').write_text('2.0.0\n')
    with running_service(config, project, api_config=api):
        pass
    heading = tmp_path / 'resource' / 'api' / 'test' / 'files' / 'heading.txt'
    installed = heading.stat().st_mtime_ns
    with running_service(config, project, api_config=api) as service:
        client = Client(service.base_url, config.exchange_service_dir)
        assert client.wait_final(client.submit(wf.HOSTNAME)['id'])['state'] == 'Success'
    assert heading.stat().st_mtime_ns == installed


def test_a_step_edited_without_a_version_bump_is_named_in_one_warning(tmp_path, caplog):
    api = api_config_for_tests(tmp_path)
    config = service_config_from_dict(service_config_dict(tmp_path), env={})
    project = tmp_path / 'api'
    shutil.copytree(TEST_API_DIR, project)
    (project / 'test' / 'version').write_text('2.0.0\n')
    with running_service(config, project, api_config=api):
        pass
    step = project / 'test' / 'steps' / 'test' / 'hostname.cwl'
    step.write_text(step.read_text() + '\n# edited\n')

    def warnings():
        return [
            r.getMessage()
            for r in caplog.records
            if 'changed since it was installed' in r.getMessage()
        ]

    caplog.clear()
    with running_service(config, project, api_config=api):
        pass
    assert len(warnings()) == 1, warnings()
    assert 'project test 2.0.0: steps/test/hostname.cwl changed' in warnings()[0]
    assert 'raise the version in' in warnings()[0]
    (project / 'test' / 'version').write_text('2.0.1\n')
    caplog.clear()
    with running_service(config, project, api_config=api):  # reinstalled: nothing to say
        pass
    with running_service(config, project, api_config=api):
        pass
    assert warnings() == []
