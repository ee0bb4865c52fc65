#!/bin/bash
# Creates the heading that add_heading.sh prints.
echo '=== Test heading ===' >"$CERISE_PROJECT_FILES/heading.txt"
