# A CommandLineTool with a $(...) and a ${...} expression in its arguments.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
baseCommand: echo
inputs:
  text: string
  count: int
arguments:
  - $(inputs.text.toUpperCase())
  - ${ return String(inputs.count * 3); }
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
