#!/usr/bin/env python3
"""Run the example specialisation's workflows with the Python client.

Starts a service for this script (local_service), runs test_workflow.cwl
(example/hostname.cwl) and a workflow around example/custom_program.cwl with
an input file, prints the results and removes the jobs. Run it from anywhere:

    python specialisation_examples/example/test_script.py
"""

import sys
from pathlib import Path

from cerise_actors.client import local_service

HERE = Path(__file__).resolve().parent

HEADING_WORKFLOW = """\
cwlVersion: v1.0
class: Workflow
inputs:
  text: File
outputs:
  with_heading:
    type: File
    outputSource: heading/out_text
steps:
  heading:
    run: example/custom_program.cwl
    in:
      in_text: text
    out: [out_text]
"""


def main() -> int:
    with local_service(HERE / 'api') as service:
        job = service.create_job('hostname', workflow=HERE / 'test_workflow.cwl')
        job.run()
        job.wait(timeout=300)
        # If something goes wrong, job.log says why.
        if job.state != 'Success':
            print(job.log, file=sys.stderr)
            return 1
        print('hostname:', job.outputs['output'].text().strip())
        job.delete()

        job = service.create_job('heading', workflow=HEADING_WORKFLOW.encode())
        job.add_input('text', b'Some text for the example.\n')
        job.run()
        job.wait(timeout=300)
        if job.state != 'Success':
            print(job.log, file=sys.stderr)
            return 1
        print(job.outputs['with_heading'].text(), end='')
        job.delete()
    return 0


if __name__ == '__main__':
    sys.exit(main())
