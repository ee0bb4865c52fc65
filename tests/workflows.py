"""A catalogue of test workflows for the test specialisation (tests/api), reused by many tests."""

import json


def single_step(step, inputs='[]', in_map='[]', outputs=None, extra=''):
    """A workflow running one step of project `test`."""
    outputs = (
        outputs
        if outputs is not None
        else ('outputs:\n  output: {type: File, outputSource: s/output}\n')
    )
    out_list = (
        '[output]'
        if 'outputSource: s/output' in outputs
        else ('[out_text]' if 'out_text' in outputs else '[]')
    )
    return (
        f'cwlVersion: v1.0\nclass: Workflow\ninputs: {inputs}\n{outputs}'
        f'steps:\n  s:\n    run: {step}\n    in: {in_map}\n    out: {out_list}\n{extra}'
    )


HOSTNAME = single_step('test/hostname.cwl')
ECHO = single_step('test/echo.cwl', inputs='{text: string}', in_map='{text: text}')
WC = single_step('test/wc.cwl', inputs='{file: File}', in_map='{file: file}')
SECONDARY = single_step(
    'test/secondary_files.cwl',
    inputs='{file: {type: File, secondaryFiles: [.2nd]}}',
    in_map='{file: file}',
)
FILE_ARRAY = single_step('test/file_array.cwl', inputs='{files: "File[]"}', in_map='{files: files}')
GREET = single_step(
    'test/greet.cwl',
    inputs='{greeting: "string?", name: string}',
    in_map='{greeting: greeting, name: name}',
)
HEADING = single_step(
    'test/heading.cwl',
    inputs='{in_text: File}',
    in_map='{in_text: in_text}',
    outputs='outputs:\n  out_text: {type: File, outputSource: s/out_text}\n',
)
FAIL = single_step('test/fail.cwl', outputs='outputs: {}\n')
SLEEP = single_step(
    'test/sleep.cwl', inputs='{seconds: int}', in_map='{seconds: seconds}', outputs='outputs: {}\n'
)

COMMAND_LINE_TOOL = """cwlVersion: v1.0
class: CommandLineTool
baseCommand: hostname
inputs: []
outputs: []
"""

UNKNOWN_STEP = single_step('test/no_such_step.cwl')
ESCAPING_STEP = single_step('test/../../../../bin/sh.cwl')
ABSOLUTE_STEP = single_step('/bin/true.cwl')

INLINE_TOOL = """cwlVersion: v1.0
class: Workflow
inputs: []
outputs: []
steps:
  s:
    run:
      class: CommandLineTool
      baseCommand: [touch, /tmp/cerise-inline-tool-ran]
      inputs: []
      outputs: []
    in: []
    out: []
"""

ENV_VAR_TRICK = single_step(
    'test/hostname.cwl',
    extra="""requirements:
  EnvVarRequirement:
    envDef: {PATH: /tmp/evil}
""",
)

# two steps side by side: echo ends at once, sleep later (step progress, a late stage-out)
SLEEP_AND_ECHO = """cwlVersion: v1.0
class: Workflow
inputs: {seconds: int, text: string}
outputs:
  output: {type: File, outputSource: e/output}
steps:
  s: {run: test/sleep.cwl, in: {seconds: seconds}, out: []}
  e: {run: test/echo.cwl, in: {text: text}, out: [output]}
"""

SLEEP_WITH_TIME_LIMIT = SLEEP + 'hints:\n  TimeLimit: 2\n'

SLEEP_WITH_RESOURCES = SLEEP + ('hints:\n  TimeLimit: 600\n  ResourceRequirement: {coresMin: 2}\n')

SLEEP_WITH_TEN_SECONDS = SLEEP + 'hints:\n  TimeLimit: 10\n'


# --- JavaScript and the workflow policy (tests/e2e/test_javascript_sandbox.py,
# tests/e2e/test_workflow_policy.py) ---

# JavaScript in the workflow (an expressionLib, `${...}` and `$(...)` in valueFrom)
# and in installed steps (an ExpressionTool; expressions in a tool's arguments)
JAVASCRIPT = """cwlVersion: v1.2
class: Workflow
requirements:
  InlineJavascriptRequirement:
    expressionLib:
      - "function greet(name) { return 'hello ' + name; }"
  StepInputExpressionRequirement: {}
inputs:
  number: int
  name: string
outputs:
  doubled: {type: int, outputSource: expression/doubled}
  message: {type: string, outputSource: expression/message}
  shouted: {type: File, outputSource: arguments/output}
steps:
  expression:
    run: test/js_double.cwl
    in:
      number: {source: number, valueFrom: "${ return self + 1; }"}
      label: {source: name, valueFrom: "$(greet(self))"}
    out: [doubled, message]
  arguments:
    run: test/js_arguments.cwl
    in: {text: name, count: number}
    out: [output]
"""


def js_step_input(expression, library=()):
    """A workflow whose one step (echo) gets the value of `expression` as its text.

    `library` is the workflow's expressionLib. Both go in as JSON, which YAML
    reads unchanged, so any JavaScript can be written without quoting worries.
    """
    return f"""cwlVersion: v1.2
class: Workflow
requirements:
  InlineJavascriptRequirement:
    expressionLib: {json.dumps(list(library))}
  StepInputExpressionRequirement: {{}}
inputs: []
outputs:
  output: {{type: File, outputSource: s/output}}
steps:
  s:
    run: test/echo.cwl
    in:
      text: {{valueFrom: {json.dumps(expression)}}}
    out: [output]
"""


# hints the service does not honour, on the workflow and on a step; honoured, the
# EnvVarRequirement would make show_env.cwl print "from-the-hint" instead of "unset"
IGNORED_HINTS = """cwlVersion: v1.0
class: Workflow
hints:
  DockerRequirement: {dockerPull: 'example.org/evil:latest'}
  EnvVarRequirement:
    envDef: {GREETING: from-the-hint}
inputs: []
outputs:
  output: {type: File, outputSource: s/output}
steps:
  s:
    run: test/show_env.cwl
    in: []
    out: [output]
    hints:
      - class: SoftwareRequirement
        packages: [{package: evil}]
"""


def with_requirement(requirement):
    """HOSTNAME with one requirement (YAML, indented under `requirements:`)."""
    return HOSTNAME + f'requirements:\n  {requirement}\n'


def passing_through(steps):
    """A workflow without steps (`steps` is '[]' or '{}'): inputs go straight to outputs."""
    return f"""cwlVersion: v1.0
class: Workflow
inputs:
  text: string
  file: File
outputs:
  same_text: {{type: string, outputSource: text}}
  same_file: {{type: File, outputSource: file}}
steps: {steps}
"""


def wc_of_default(location):
    """WC, whose File input defaults to `location` (resolved next to the workflow)."""
    return f"""cwlVersion: v1.0
class: Workflow
inputs:
  file:
    type: File
    default: {{class: File, location: {json.dumps(location)}}}
outputs:
  output: {{type: File, outputSource: s/output}}
steps:
  s:
    run: test/wc.cwl
    in: {{file: file}}
    out: [output]
"""


def importing(include='lib.js', types='types.yml'):
    """A workflow that `$include`s an expressionLib and `$import`s SchemaDefRequirement
    types; its input `colour` has the type `Colour` defined in types.yml."""
    return f"""cwlVersion: v1.2
class: Workflow
requirements:
  InlineJavascriptRequirement:
    expressionLib:
      - $include: {json.dumps(include)}
  SchemaDefRequirement:
    types:
      - $import: {json.dumps(types)}
  StepInputExpressionRequirement: {{}}
inputs:
  colour: types.yml#Colour
outputs:
  output: {{type: File, outputSource: s/output}}
steps:
  s:
    run: test/echo.cwl
    in:
      text: {{source: colour, valueFrom: "$(shout(self))"}}
    out: [output]
"""


IMPORTED_TYPES = """name: Colour
type: enum
symbols: [red, green, blue]
"""

INCLUDED_LIBRARY = "function shout(text) { return text.toUpperCase() + '!'; }\n"

# a workflow input whose File comes with an index, found by the pattern
INDEXED = single_step(
    'test/indexed.cwl',
    inputs='{file: {type: File, secondaryFiles: [.idx]}}',
    in_map='{file: file}',
)

# two steps one after the other, each under the tool time limit, together over it
TOOL_TIME_LIMIT_TWO_STEPS = """cwlVersion: v1.2
class: Workflow
requirements:
  ToolTimeLimit: {timelimit: 5}
inputs: []
outputs:
  first: {type: File, outputSource: first/output}
  second: {type: File, outputSource: second/output}
steps:
  first:
    run: test/timed_sleep.cwl
    in: {seconds: {default: 3}}
    out: [output]
  second:
    run: test/timed_sleep.cwl
    in: {seconds: {default: 3}, after: first/output}
    out: [output]
"""

# one step that takes longer than the tool time limit
TOOL_TIME_LIMIT_EXCEEDED = """cwlVersion: v1.2
class: Workflow
requirements:
  ToolTimeLimit: {timelimit: 3}
inputs: []
outputs:
  output: {type: File, outputSource: s/output}
steps:
  s:
    run: test/timed_sleep.cwl
    in: {seconds: {default: 8}}
    out: [output]
"""


def scattered_sleep(workflow_cores, step_cores=None):
    """timed_sleep.cwl scattered over `seconds`, with a workflow ResourceRequirement
    and, if given, a step ResourceRequirement (which the step's tool gets instead)."""
    step = (
        f'\n    requirements:\n      ResourceRequirement: {{coresMin: {step_cores}}}'
        if step_cores
        else ''
    )
    return f"""cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {{}}
  ResourceRequirement: {{coresMin: {workflow_cores}}}
inputs:
  seconds: int[]
outputs:
  times: {{type: 'File[]', outputSource: s/output}}
steps:
  s:
    run: test/timed_sleep.cwl
    scatter: seconds
    in: {{seconds: seconds}}
    out: [output]{step}
"""
