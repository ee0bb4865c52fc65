"""The trust boundary: the one place that decides what a user may name.

Cerise promises that a user composes installed steps and reads only the
exchange area. Every rule behind that promise lives in this package, at the
bottom of the layers, standard library only, so that a reviewer can read it
in one sitting and every caller (staging, stage-out, WebDAV, WES, the runner
on the resource) enforces it the same way:

- `confined.py`: a confined root folder. Files below it are found, opened,
  created and walked by one `openat`/`O_NOFOLLOW` walk of path components,
  never by `realpath` followed by a later open, so swapping a folder for a
  symlink between a check and its use cannot lead outside.
- `names.py`: relative names as users write them in URLs (dot segments,
  literal or percent-encoded, resolved lexically; NUL refused).
- `exchange_names.py`: which name below the exchange area a URL or path
  names, one rule for stage-in and for WES at POST.
- `locations.py`: the one parser of a location (a URL or a path) into the
  local path it names, and the rule that Files and Directories named by a
  workflow may only be local files inside given roots. The runner ships a
  copy of this module, so it imports nothing else.
- `network.py`: which addresses the service may fetch from, and how
  redirects may go.
- `workflow_policy.py`: what a submitted workflow may contain, and the check
  that a rewritten workflow names no base, schema or step outside the
  installed API.

Every check here fails closed: when it cannot decide, it refuses.
"""
