"""The Cerise runner: cwltool with every CWL expression evaluated in a JavaScript sandbox.

This package is copied on its own to the compute resources, into a virtual
environment that has only cwltool and mini-racer: it imports nothing from the
rest of cerise_actors, only its own modules (relative imports) and those two.

`python -m cerise_actors.runner <cwltool arguments>` runs cwltool (see main.py);
sandbox.py has the JavaScript engine that replaces cwltool's Node.js, and
_jsworker.py the process in which that engine runs V8 (through mini-racer).
"""
