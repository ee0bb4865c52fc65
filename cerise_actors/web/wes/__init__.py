"""GA4GH WES 1.1 at /ga4gh/wes/v1, on the same jobs as Cerise's /jobs.

Modules: `states` (the state table), `names` (which attachment names are
safe), `submission` (a run request into a job), `form` (reading POST /runs),
`views` (the WES bodies), `resources` (the falcon resources). See docs/wes.md.
"""

from .resources import PREFIX, WesSettings, install_wes
from .views import ServiceFacts

__all__ = ['PREFIX', 'ServiceFacts', 'WesSettings', 'install_wes']
