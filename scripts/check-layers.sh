#!/usr/bin/env bash
# Fails when an include breaks the dependency rule:
# messages <- persistence <- actors <- runtime <- apps.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
check() { # folder, forbidden include pattern, explanation
  local hits
  hits=$(grep -rnE "#include \"($2)/" "$1" --include='*.hpp' --include='*.cpp' || true)
  if [ -n "$hits" ]; then
    echo "layering: $1 must not include $2 ($3):"
    echo "$hits"
    bad=1
  fi
}
check messages 'persistence|actors|runtime|apps' 'messages depends on nothing of ours'
check persistence 'actors|runtime|apps' 'persistence depends only on messages'
check actors 'runtime|apps' 'actors never include runtime'
check runtime 'apps' 'nothing includes apps'
hits=$(grep -rln "SQLiteCpp/" persistence --include='*.hpp' || true)
[ -n "$hits" ] && { echo "layering: SQLiteCpp in a public header: $hits"; bad=1; }
hits=$(grep -rln '"caf/all.hpp"' messages persistence actors runtime apps || true)
[ -n "$hits" ] && { echo "build time: caf/all.hpp included in: $hits"; bad=1; }
exit $bad
