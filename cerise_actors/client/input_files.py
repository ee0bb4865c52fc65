"""Reading an inputs file for the command line, as cwltool reads one.

The CLI's `submit WORKFLOW INPUTS.yml` reads the input object from YAML or
JSON and makes the File and Directory locations in it absolute local paths,
relative to the inputs file, so that they can be checked and uploaded.
"""

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .inputs import FILE_CLASSES, is_url


class UsageError(Exception):
    """A problem with the command's arguments or files, found before submitting."""


def read_inputs(path: Optional[str]) -> Tuple[Dict[str, Any], Path]:
    """The input object in `path` (YAML or JSON) and the folder paths are relative to."""
    if path is None:
        return {}, Path.cwd()
    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f'inputs file not found: {file}')
    text = file.read_text(encoding='utf-8')
    try:
        if file.suffix.lower() == '.json':
            data = json.loads(text) if text.strip() else {}
        else:
            data = _load_yaml(text, file)
    except ValueError as exc:
        raise UsageError(f'cannot read the inputs file {file}: {exc}') from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f'the inputs file {file} must hold a mapping of input names to values')
    return data, file.resolve().parent


def _load_yaml(text: str, file: Path) -> Any:
    try:
        import yaml
    except ImportError:  # the client alone needs no YAML library; JSON is YAML too
        try:
            return json.loads(text)
        except ValueError:
            raise UsageError(
                f'reading {file} needs PyYAML (pip install pyyaml); or give the inputs as JSON'
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def resolve_local_files(value: Any, base: Path, name: str, missing: List[Tuple[Path, str]]) -> Any:
    """`value` with File/Directory locations made absolute local Paths, as cwltool
    reads an input object; files that do not exist are added to `missing`."""
    if isinstance(value, list):
        return [resolve_local_files(item, base, name, missing) for item in value]
    if not isinstance(value, dict):
        return value
    if value.get('class') not in FILE_CLASSES:
        return {key: resolve_local_files(item, base, name, missing) for key, item in value.items()}
    result = dict(value)
    source = value.get('location', value.get('path'))
    if isinstance(source, str):
        local = _local_path(source, base)
        if local is not None:
            result.pop('path', None)
            result['location'] = local
            exists = local.is_dir() if value['class'] == 'Directory' else local.is_file()
            if not exists:
                missing.append((local, name))
    for key in ('secondaryFiles', 'listing'):
        if isinstance(value.get(key), list):
            result[key] = [resolve_local_files(item, base, name, missing) for item in value[key]]
    return result


def _local_path(source: str, base: Path) -> Optional[Path]:
    if source.startswith('_:'):
        return None  # a literal's blank-node id
    if source.startswith('file:'):
        parsed = urllib.parse.urlsplit(source)
        return Path(urllib.request.url2pathname(parsed.path))
    if is_url(source):
        return None  # http(s): the service fetches it
    return (base / Path(source).expanduser()).resolve()
