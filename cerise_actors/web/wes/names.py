"""Which file names a WES client may give its workflow_attachment parts.

The spec lets names hold sub-folders ("tools/wc.cwl") and asks services to
guard against names made to escape the run's folder. Attachments are written
under `input/wes/<run id>/` in the exchange area, so a name is refused (the
request answered 400, nothing stored) if it is absolute, has a `..` segment,
a backslash (a Windows path, ambiguous here), a NUL, a name longer than a file
system allows or more folders than /files accepts. `.` and empty segments
are dropped, so `./a//b` is `a/b`.
"""

#: the deepest an attachment may lie below the run's folder (as /files allows)
MAX_DEPTH = 64
#: the longest name of one file or folder, in bytes (as most file systems allow)
MAX_NAME_BYTES = 255


def attachment_path(name: str) -> str:
    """The relative path `a/b.txt` an attachment named `name` is stored under;
    ValueError with the reason otherwise."""
    if not name:
        raise ValueError('a workflow_attachment part has no file name')
    shown = repr(name[:100])
    if '\x00' in name:
        raise ValueError(f'attachment name {shown} holds a NUL character')
    if '\\' in name:
        raise ValueError(f'attachment name {shown} holds a backslash; separate folders with /')
    if name.startswith('/') or (len(name) > 1 and name[1] == ':' and name[0].isalpha()):
        raise ValueError(f'attachment name {shown} is absolute; give a path relative to the run')
    parts = [part for part in name.split('/') if part not in ('', '.')]
    if '..' in parts:
        raise ValueError(f'attachment name {shown} leaves its folder with ..')
    if not parts:
        raise ValueError(f'attachment name {shown} names no file')
    if len(parts) > MAX_DEPTH:
        raise ValueError(f'attachment name {shown} is deeper than {MAX_DEPTH} folders')
    if any(len(part.encode('utf-8', 'surrogateescape')) > MAX_NAME_BYTES for part in parts):
        raise ValueError(f'attachment name {shown} has a part longer than {MAX_NAME_BYTES} bytes')
    return '/'.join(parts)


def parents(path: str):
    """The folders `path` lies in: 'a/b/c.txt' -> 'a', 'a/b'."""
    parts = path.split('/')
    return ['/'.join(parts[:i]) for i in range(1, len(parts))]
