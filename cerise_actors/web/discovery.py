"""What the service offers: `GET /` links to everything, `GET /steps` lists
the installed steps.

A new user who finds the port should not have to read the docs to learn
where the jobs, the files and the API description are, or which steps a
workflow may use (before, the list appeared only in the error for an
unknown step). Both answers are built from values fixed at start-up.
"""

from typing import Optional, Sequence

import falcon

from .. import __version__
from .backend import base_url_of


class Index:
    def __init__(self, base_url: Optional[str], extra_links: Optional[dict] = None) -> None:
        self._base_url = base_url
        self._extra = dict(extra_links or {})

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = base_url_of(req, self._base_url)
        links = {
            'jobs': f'{base}/jobs',
            'files': f'{base}/files/',
            'steps': f'{base}/steps',
            'openapi': f'{base}/openapi.json',
        }
        links.update({name: f'{base}{path}' for name, path in self._extra.items()})
        resp.media = {
            'service': 'cerise-actors',
            'version': __version__,
            'description': 'Runs CWL workflows composed of the installed steps '
            '(see steps); submit them at jobs, exchange files at files.',
            'links': links,
        }


class StepList:
    def __init__(self, steps: Sequence[dict]) -> None:
        self._steps = list(steps)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._steps
        resp.content_type = falcon.MEDIA_JSON
