"""Errors of the compute-resource layer, translated at its boundary.

Callers never see OSError, subprocess or paramiko exceptions: they see a
ResourceError that says whether trying again later may help (`temporary`),
which decides between TemporaryFailure/retry and PermanentFailure.
"""


class ResourceError(Exception):
    """Something failed on the compute resource."""

    temporary = False


class TemporaryResourceError(ResourceError):
    """A retry later may succeed (connection lost, time-out, busy)."""

    temporary = True


class PermanentResourceError(ResourceError):
    """Retrying will not help (missing file, permission denied, bad command)."""

    temporary = False
