"""Errors raised while checking what a user submitted.

They derive from ValueError because they describe bad data, not a broken
service. Their messages end up in the job log, so they name the step id,
input name or key that is wrong and say why it is refused.
"""


class InvalidWorkflow(ValueError):
    """The submitted workflow cannot or may not be run."""


class InvalidInput(ValueError):
    """The submitted input object cannot be staged."""


class InvalidOutput(ValueError):
    """The workflow runner's output cannot be published safely."""
