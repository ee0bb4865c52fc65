"""The CWL v1.2 conformance workflows, run through the service as workflows of installed steps.

`run.py` is the command line (`python -m tests.conformance.run`) and
`test_conformance.py` the pytest entry point (marker `conformance`).
"""
