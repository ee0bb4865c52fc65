"""The jobs page in a real headless browser, on a service with a token (web/ui.py).

Chromium from Debian's packages, driven by selenium through the packaged
chromedriver (nothing is downloaded): the browser sends the token (set
through the driver), sees the job it submitted with its progress, opens the
job's page and, without the token, downloads the output by its signed link.
Logging in with the token in the URL (`http://cerise:<token>@host/ui`), the
docs' way, works because the 401 names Basic first. Without chromium, its
driver or selenium the test is skipped with how
to install them, except under CI=true, where it fails (as tests/remote do).

The HTTP tests below it need no browser: one user's page never shows or
opens another's job.
"""

import os
import shutil

import pytest

from .. import workflows as wf

TEXT = 'one two three\nfour five\n'
INSTALL = (
    'install chromium and its driver with `apt-get install -y chromium chromium-driver` '
    "(as root) and selenium with `.venv/bin/pip install -e '.[test]'`"
)


def _missing():
    """What the browser test lacks, or ''."""
    lacking = []
    try:
        import selenium  # noqa: F401
    except ImportError:
        lacking.append('the selenium package')
    if not (shutil.which('chromium') or shutil.which('chromium-browser')):
        lacking.append('chromium')
    if not shutil.which('chromedriver'):
        lacking.append('chromedriver')
    return ', '.join(lacking)


@pytest.fixture
def browser():
    lacking = _missing()
    if lacking:
        message = f'the browser test needs {lacking}: {INSTALL}'
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which('chromium') or shutil.which('chromium-browser')
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'):
        options.add_argument(argument)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which('chromedriver')))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def with_token(base_url, token):
    """The service's URL with the token as the Basic password, as the docs say."""
    scheme, rest = base_url.split('://', 1)
    return f'{scheme}://cerise:{token}@{rest}'


def send_token(driver, token):
    """Every request of the browser from now on carries the token (None: none)."""
    driver.execute_cdp_cmd('Network.enable', {})
    headers = {} if token is None else {'Authorization': f'Bearer {token}'}
    driver.execute_cdp_cmd('Network.setExtraHTTPHeaders', {'headers': headers})


def finished_wc_job(client, name):
    url = client.put_input('words', 'words.txt', TEXT)
    workflow = client.put_input('words', 'wc.cwl', wf.WC)  # `name` is no folder name
    inputs = {'file': {'class': 'File', 'location': url}}
    status, job, _ = client.call(
        'POST', '/jobs', {'name': name, 'workflow': workflow, 'input': inputs}
    )
    assert status == 201, job
    done = client.wait_final(job['id'])
    assert done['state'] == 'Success', done
    return done


def test_the_page_lists_the_job_its_progress_and_a_working_output_link(auth_service, browser):
    from selenium.webdriver.common.by import By

    service = auth_service()
    job = finished_wc_job(service.client(service.token), 'words <b>counted</b>')
    send_token(browser, service.token)
    browser.get(f'{service.base_url}/ui')

    assert browser.title == 'Jobs · cerise-actors'
    (row,) = browser.find_elements(By.CSS_SELECTOR, 'tr.job')
    assert row.get_attribute('data-id') == job['id']
    assert 'words <b>counted</b>' in row.text  # shown as the text it is
    assert not browser.find_elements(By.CSS_SELECTOR, 'tr.job b')
    assert 'Success' in row.text and '1 of 1 steps done' in row.text
    progress = row.find_element(By.TAG_NAME, 'progress')
    assert (progress.get_attribute('value'), progress.get_attribute('max')) == ('1', '1')
    assert 'test/wc.cwl' in browser.find_element(By.ID, 'steps').find_element(By.XPATH, '..').text
    # the stylesheet is the one thing the CSP allows: it applies, and nothing was refused
    body_font = browser.find_element(By.TAG_NAME, 'body').value_of_css_property('font-family')
    assert 'sans-serif' in body_font

    row.find_element(By.TAG_NAME, 'a').click()
    assert browser.current_url.endswith(f'/ui/jobs/{job["id"]}')
    assert "Step 's' finished; 1 of 1 steps done." in browser.find_element(By.ID, 'log').text
    (output,) = browser.find_elements(By.CSS_SELECTOR, '#outputs a')
    href = output.get_attribute('href')
    assert (
        href.startswith(f'{service.base_url}/files/output/{job["id"]}/') and '?cerise-sig=' in href
    )
    send_token(browser, None)  # the link opens by its signature alone
    output.click()
    downloaded = browser.find_element(By.TAG_NAME, 'body').text
    assert downloaded.split()[:2] == ['2', '5'], downloaded  # wc of TEXT: lines, words
    refused = [
        entry for entry in browser.get_log('browser') if 'Content Security' in entry['message']
    ]
    assert not refused, refused


def test_another_users_job_is_a_404_page_in_the_browser(auth_service, browser):
    from selenium.webdriver.common.by import By

    service = auth_service(users=['alice', 'bob'])
    alices = finished_wc_job(service.client(service.tokens['alice']), 'alices secret job')
    send_token(browser, service.tokens['bob'])
    bob = service.base_url
    browser.get(f'{bob}/ui')
    assert 'alices secret job' not in browser.page_source
    assert browser.find_element(By.ID, 'no-jobs').text.startswith('No jobs yet')
    browser.get(f'{bob}/ui/jobs/{alices["id"]}')
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'No such job'
    assert 'alices secret job' not in browser.page_source


def test_the_token_in_the_url_logs_the_browser_in(auth_service, browser):
    from selenium.webdriver.common.by import By

    service = auth_service()
    browser.get(with_token(service.base_url, service.token) + '/ui')
    assert browser.find_element(By.TAG_NAME, 'h1').text == 'Jobs'


def test_one_users_page_neither_lists_nor_opens_anothers_job(auth_service):
    service = auth_service(users=['alice', 'bob'])
    alice = service.client(service.tokens['alice'])
    bob = service.client(service.tokens['bob'])
    alices = finished_wc_job(alice, 'alices secret job')
    status, text, headers = bob.call('GET', '/ui')
    assert status == 200 and 'alices secret job' not in text and alices['id'] not in text
    status, text, headers = bob.call('GET', f'/ui/jobs/{alices["id"]}')
    made_up_status, made_up, _ = bob.call('GET', '/ui/jobs/00000000-0000-0000-0000-000000000000')
    assert (status, made_up_status) == (404, 404)
    assert text.replace(alices['id'], '<id>') == made_up.replace(
        '00000000-0000-0000-0000-000000000000', '<id>'
    )
    assert headers['Content-Security-Policy'].startswith("default-src 'none'")
    status, text, _ = alice.call('GET', '/ui')
    assert status == 200 and 'alices secret job' in text and '1 of 1 steps done' in text
    status, text, _ = alice.call('GET', f'/ui/jobs/{alices["id"]}')
    assert status == 200 and '?cerise-sig=' in text  # the output link is signed for her
    assert service.client(None).call('GET', '/ui')[0] == 401
