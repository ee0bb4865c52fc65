"""Comparing a run's outputs with a test's expected `output`, by cwltest's own rules.

cwltest checks File and Directory objects on disk (existence, checksum, size,
basename, the end of the location), so outputs are first made local: the
service publishes them under the exchange's client URL, which is mapped back
to the exchange folder on this machine.
"""

import copy
import re
from pathlib import Path
from typing import Any, Optional


def _cwltest():
    """cwltest's (CompareFail, compare), imported when needed so collection works without it."""
    try:
        from cwltest.compare import CompareFail, compare
    except ImportError:  # older cwltest kept them in utils
        from cwltest.utils import CompareFail, compare
    return CompareFail, compare


def localise(output: Any, client_url: str, exchange_dir: Path) -> Any:
    """A copy of `output` whose locations under `client_url` are local file URLs."""
    prefix = client_url.rstrip('/') + '/'
    local = Path(exchange_dir).resolve().as_uri().rstrip('/') + '/'

    def fix(value: Any) -> Any:
        if isinstance(value, list):
            return [fix(item) for item in value]
        if not isinstance(value, dict):
            return value
        result = {key: fix(item) for key, item in value.items()}
        location = result.get('location')
        if isinstance(location, str) and location.startswith(prefix):
            result['location'] = local + location[len(prefix) :]
        return result

    return fix(copy.deepcopy(output))


def mismatch(expected: Any, actual: Any) -> Optional[str]:
    """None if `actual` passes for `expected`, else cwltest's reason in one line."""
    CompareFail, compare = _cwltest()
    try:
        compare(expected, copy.deepcopy(actual))
    except CompareFail as failure:
        return one_line(failure)
    except Exception as error:  # cwltest itself failed on the value
        return f'comparison failed: {type(error).__name__}: {error}'
    return None


def one_line(failure: Exception) -> str:
    """The innermost cause of a CompareFail (its message nests JSON dumps)."""
    text = str(failure)
    cause = text.rsplit('caused by: ', 1)[-1].strip()
    cause = cause.splitlines()[0] if cause else 'outputs differ'
    if cause.startswith('expected:'):
        expected = re.sub(r'\s+', ' ', text.split('\ngot:', 1)[0][len('expected:') :]).strip()
        got = re.sub(r'\s+', ' ', text.split('\ngot:', 1)[-1].split('\ncaused by:')[0]).strip()
        return f'expected {expected[:150]}, got {got[:150]}'
    return cause.strip('"')[:300]
