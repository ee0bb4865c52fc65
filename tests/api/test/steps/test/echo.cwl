cwlVersion: v1.0
class: CommandLineTool
baseCommand: echo
inputs:
  text: {type: string, inputBinding: {position: 1}}
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
