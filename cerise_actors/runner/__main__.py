"""`python -m cerise_actors.runner <cwltool arguments> workflow.cwl job.json`."""

import sys

from .main import main

sys.exit(main())
