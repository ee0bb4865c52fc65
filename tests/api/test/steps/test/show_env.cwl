# Prints the environment variable GREETING, or "unset" if it is not set. The
# service must not let a workflow set it (EnvVarRequirement).
cwlVersion: v1.0
class: CommandLineTool
baseCommand: [bash, -c, 'echo "${GREETING-unset}"']
inputs: []
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
