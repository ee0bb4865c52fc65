"""`python -m cerise_actors` is the same as the `cerise-actors` command."""

import sys

from .cli import main

sys.exit(main())
