#!/usr/bin/env cwl-runner
# Writes its input string, unchanged, to output.txt.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: echo
inputs:
  input:
    type: string
    inputBinding: {position: 1}
stdout: output.txt
outputs:
  output:
    type: File
    outputBinding: {glob: output.txt}
