"""Pure CWL handling: checking and rewriting submitted workflows, planning the
staging of inputs and outputs, and interpreting the workflow runner's result.

Nothing in this package talks to the network, a database or the compute
resource; staging and the actors call these functions and act on what they return;
they raise the errors of :mod:`cerise_actors.errors`.

Modules: :mod:`.steps`, :mod:`.workflow`, :mod:`.inputs`,
:mod:`.outputs` (plus the helpers :mod:`.resources` and :mod:`.checks`).
"""
