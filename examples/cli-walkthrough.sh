#!/bin/sh
# The first steps with the outpost CLI against a fresh control plane. Needs OUTPOST_URL and
# OUTPOST_TOKEN (an admin key; `source .outpost/env` after `npm start` sets both).
set -eu
outpost=${OUTPOST_CLI:-npx outpost}

$outpost cluster create prod
$outpost site create prod/fra1
$outpost token create prod/fra1 --ttl 30m   # prints the token and the line that installs the agent
$outpost cluster ls
$outpost hosts --cluster prod                # the hosts enrolled with that token
$outpost audit --limit 5                     # who did what
