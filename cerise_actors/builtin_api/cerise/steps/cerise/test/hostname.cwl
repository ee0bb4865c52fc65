#!/usr/bin/env cwl-runner
# Writes the name of the machine the job runs on to output.txt.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: hostname
inputs: []
stdout: output.txt
outputs:
  output:
    type: File
    outputBinding: {glob: output.txt}
