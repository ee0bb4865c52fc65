"""The command line of the CWL runner that a job script starts.

By default the service runs cwltool from its own Python environment (local
resource) with colour off, no containers, outputs into the job's work/ and
temporary files under the job folder, so cancelling and deleting a job
leaves nothing behind. A `cwl-runner` in the API config replaces it; there
`$CERISE_API_FILES` stands for the installed API folder on the resource.
"""

import shlex
import sys
from typing import List, Optional

from ..resource.layout import JobPaths, ResourceLayout


def runner_argv(
    configured: Optional[str], layout: ResourceLayout, paths: JobPaths, local: bool
) -> List[str]:
    """argv to which the job script appends the workflow and input paths."""
    if configured:
        text = configured.replace('${CERISE_API_FILES}', layout.api_dir)
        text = text.replace('$CERISE_API_FILES', layout.api_dir)
        return shlex.split(text)
    base = [sys.executable, '-m', 'cwltool'] if local else ['cwltool']
    return base + [
        '--disable-color',
        '--no-container',
        '--outdir',
        paths.work,
        '--tmpdir-prefix',
        f'{paths.tmp}/',
        '--tmp-outdir-prefix',
        f'{paths.tmp}/',
    ]
