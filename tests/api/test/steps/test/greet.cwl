# An optional input with a default value.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: echo
inputs:
  greeting:
    type: string?
    default: Hello
    inputBinding: {position: 1}
  name: {type: string, inputBinding: {position: 2}}
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
