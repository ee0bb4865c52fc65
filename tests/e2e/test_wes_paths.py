"""WES `path` in `workflow_params` resolves against the attachments like `location`.

docs/wes.md says either works, and its own job.json uses `path`; posted with
plain HTTP (as curl would, without wes-client's rewriting into absolute
locations) the run used to end in EXECUTOR_ERROR ("Anonymous file object
must have 'contents' and 'basename' fields"). The doc's files are read from
the doc itself, so the example cannot drift from what is tested.
"""

import json
import re
from pathlib import Path

import pytest

from .test_wes_api import call, post_run, wait_wes

DOC = Path(__file__).resolve().parents[2] / 'docs' / 'wes.md'
HELLO = b'Hello, world!\nsecond line\n'


def doc_example():
    """(wc.cwl, job.json, hello.txt) as docs/wes.md's wes-client example writes them."""
    text = DOC.read_text()
    workflow = re.search(r"cat > wc\.cwl <<'EOF'\n(.*?)\nEOF\n", text, re.S)
    job = re.search(r"echo '(\{.*?\})' > job\.json", text)
    hello = re.search(r"printf '(.*?)' > data/hello\.txt", text)
    assert workflow and job and hello, 'docs/wes.md no longer has its wc.cwl example'
    content = hello.group(1).encode().decode('unicode_escape').encode()
    return workflow.group(1) + '\n', json.loads(job.group(1)), content


def test_the_docs_example_with_a_relative_path_completes(service):
    workflow, params, hello = doc_example()
    assert params == {'file': {'class': 'File', 'path': 'data/hello.txt'}}
    status, answer = post_run(
        service,
        [('wc.cwl', workflow.encode()), ('data/hello.txt', hello)],
        workflow_url='wc.cwl',
        workflow_params=params,
    )
    assert status == 200, answer
    run_id = answer['run_id']
    assert wait_wes(service, run_id) == 'COMPLETE', service.client.log(run_id)
    status, log = call(service, 'GET', f'/runs/{run_id}', '/runs/{run_id}')
    assert log['request']['workflow_params'] == params  # as the client gave it
    counts = log['outputs']['counts']
    job = service.client.job(run_id)
    assert counts['class'] == 'File'
    assert service.client.output_text(job, 'counts').split()[:3] == ['2', '4', '26']


@pytest.mark.parametrize('key', ['path', 'location'])
def test_a_relative_path_and_location_give_the_same_directory(service, key):
    workflow = (
        'cwlVersion: v1.0\nclass: Workflow\ninputs: {dir: Directory}\n'
        'outputs: {listing: {type: File, outputSource: s/output}}\n'
        'steps:\n  s: {run: test/wc.cwl, in: {file: {source: dir, '
        'valueFrom: "$(self.listing[0])"}}, out: [output]}\n'
        'requirements: {StepInputExpressionRequirement: {}, InlineJavascriptRequirement: {}}\n'
    )
    params = {'dir': {'class': 'Directory', key: 'data'}}
    status, answer = post_run(
        service,
        [('wf.cwl', workflow.encode()), ('data/hello.txt', HELLO)],
        workflow_url='wf.cwl',
        workflow_params=params,
    )
    assert status == 200, answer
    assert wait_wes(service, answer['run_id']) == 'COMPLETE', service.client.log(answer['run_id'])
