#!/usr/bin/env cwl-runner
# Counts lines, words and bytes of a file (wc) into output.txt.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: wc
inputs:
  file:
    type: File
    inputBinding: {position: 1}
stdout: output.txt
outputs:
  output:
    type: File
    outputBinding: {glob: output.txt}
