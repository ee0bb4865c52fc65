"""Which file names a WES client may give its workflow_attachment parts.

The spec lets names hold sub-folders ("tools/wc.cwl") and asks services to
guard against names made to escape the run's folder. Attachments are written
under `input/wes/<run id>/` in the exchange area, so a name is refused (the
request answered 400, nothing stored) if it is absolute or has a `..`
segment anywhere (`a/../b` too: a name that needs undoing is not a name a
client meant), and otherwise by the rules every user-given path follows
(`boundary/names.py`): no NUL or other control character, no backslash (a Windows path, ambiguous
here), no name longer than a file system allows, no more folders than
/files accepts, nothing that percent-decodes once more to a dot segment.
`.` and empty segments are dropped, so `./a//b` is `a/b`.
"""

from ...boundary.names import NameRefused, resolve


def attachment_path(name: str) -> str:
    """The relative path `a/b.txt` an attachment named `name` is stored under;
    ValueError with the reason otherwise."""
    if not name:
        raise ValueError('a workflow_attachment part has no file name')
    shown = repr(name[:100])
    if name.startswith('/') or (len(name) > 1 and name[1] == ':' and name[0].isalpha()):
        raise ValueError(f'attachment name {shown} is absolute; give a path relative to the run')
    if '..' in name.split('/'):
        raise ValueError(f'attachment name {shown} leaves its folder with ..')
    try:
        parts = resolve(name)
    except NameRefused as exc:
        raise ValueError(f'attachment name {shown} {exc}') from None
    if not parts:
        raise ValueError(f'attachment name {shown} names no file')
    return '/'.join(parts)


def parents(path: str):
    """The folders `path` lies in: 'a/b/c.txt' -> 'a', 'a/b'."""
    parts = path.split('/')
    return ['/'.join(parts[:i]) for i in range(1, len(parts))]
