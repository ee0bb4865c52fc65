"""The token clients put in the service's own /files URLs is dropped at POST, nothing else."""

import pytest

from cerise_actors.boundary.exchange_names import ExchangeNames
from cerise_actors.web.own_urls import CredentialsInUrl, without_own_credentials

NAMES = ExchangeNames(('http://127.0.0.1:29593/files', 'http://localhost:29593/files'), ('/x',))
OWN = 'http://cerise:TOKEN@127.0.0.1:29593/files/input/job/wf.cwl'


def test_own_urls_lose_their_credentials_everywhere_in_the_input():
    workflow, doc = without_own_credentials(
        OWN,
        {
            'file': {'class': 'File', 'location': OWN},
            'many': [{'class': 'File', 'location': OWN.replace('127.0.0.1', 'localhost')}],
            'nested': {'secondaryFiles': [{'class': 'File', 'location': OWN}]},
            'text': OWN,  # not a location: a string input is the user's business
        },
        NAMES,
    )
    assert workflow == 'http://127.0.0.1:29593/files/input/job/wf.cwl'
    assert doc['file']['location'] == workflow
    assert doc['many'][0]['location'] == 'http://localhost:29593/files/input/job/wf.cwl'
    assert doc['nested']['secondaryFiles'][0]['location'] == workflow
    assert doc['text'] == OWN


def test_own_urls_match_whatever_the_case_of_scheme_and_host():
    workflow, _ = without_own_credentials(
        'HTTP://cerise:TOKEN@LOCALHOST:29593/files/input/job/wf.cwl', {}, NAMES
    )
    assert workflow == 'http://localhost:29593/files/input/job/wf.cwl'


@pytest.mark.parametrize(
    'url',
    [
        'https://user:pw@data.example.org/files/input/x',
        'http://cerise:TOKEN@127.0.0.1:29594/files/input/x',  # another port: not ours
        'http://cerise:TOKEN@127.0.0.1:29593/filesx/input',
        'http://cerise:TOKEN@127.0.0.1:29593//files/input/x',
        'http://cerise:TOKEN@127.0.0.1:29593/x/../files/input/x',
        'http://cerise:TOKEN@127.0.0.1.:29593/files/input/x',
        'http://cerise:TOKEN@127.0.0.1:29593/files/input/x?y',
        'ftp://cerise:TOKEN@127.0.0.1:29593/files/input/x',
    ],
)
def test_other_urls_with_credentials_are_refused_without_showing_them(url):
    for workflow, doc in ((url, {}), (OWN, {'f': {'class': 'File', 'location': url}})):
        with pytest.raises(CredentialsInUrl) as refused:
            without_own_credentials(workflow, doc, NAMES)
        assert 'TOKEN' not in str(refused.value) and 'pw' not in str(refused.value)
        assert 'not supported' in str(refused.value)


def test_urls_without_credentials_are_left_alone():
    for url in ('file:///x/input/a', 'http://127.0.0.1:29593/files/input/x', 'a@b.txt'):
        assert without_own_credentials(url, {'f': {'location': url}}, NAMES) == (
            url,
            {'f': {'location': url}},
        )
