"""The token clients put in the service's own /files URLs is dropped at POST, nothing else."""

from cerise_actors.boundary.exchange_names import ExchangeNames
from cerise_actors.web.own_urls import without_own_credentials

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


def test_other_urls_keep_what_they_hold():
    for url in (
        'https://user:pw@data.example.org/files/input/x',
        'http://cerise:TOKEN@127.0.0.1:29594/files/input/x',  # another port: not ours
        'http://cerise:TOKEN@127.0.0.1:29593/filesx/input',
        'ftp://cerise:TOKEN@127.0.0.1:29593/files/input/x',
        'file:///x/input/a',
        'http://127.0.0.1:29593/files/input/x',
    ):
        assert without_own_credentials(url, {'f': {'location': url}}, NAMES) == (
            url,
            {'f': {'location': url}},
        )
