"""cerise-actors: a REST service that runs CWL workflows made of predefined steps.

Users submit a CWL Workflow whose steps come from an installed *specialisation*;
the service stages it to a compute resource, runs it there, follows it through
a 15-state job machine and publishes the outputs. See docs/ for the design.
"""

__version__ = '0.1.0.dev0'
