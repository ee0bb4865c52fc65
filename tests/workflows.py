"""A catalogue of test workflows for the test specialisation (tests/api), reused by many tests."""


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

SLEEP_WITH_TIME_LIMIT = SLEEP + 'hints:\n  TimeLimit: 2\n'

SLEEP_WITH_RESOURCES = SLEEP + ('hints:\n  TimeLimit: 600\n  ResourceRequirement: {coresMin: 2}\n')

SLEEP_WITH_TEN_SECONDS = SLEEP + 'hints:\n  TimeLimit: 10\n'
