# An ExpressionTool: JavaScript (with an expressionLib) in an installed step,
# evaluated by the runner's sandbox. Used by tests/e2e/test_javascript_sandbox.py.
cwlVersion: v1.2
class: ExpressionTool
requirements:
  InlineJavascriptRequirement:
    expressionLib:
      - "function twice(n) { return 2 * n; }"
inputs:
  number: int
  label: string
outputs:
  doubled: int
  message: string
expression: |
  ${ return {doubled: twice(inputs.number), message: inputs.label + ' x2 = ' + twice(inputs.number)}; }
