#!/usr/bin/env bash
# Create the GitHub runner group {{ github.runner_group | line }} in {{ github.org | line }}, restricted to selected
# repositories, for the ARC scale sets arc-linux-standard{% if p.gpu_node %} and arc-linux-gpu{% endif %}.
# Needs the gh CLI logged in as an org owner. Rendered by homelab {{ version }} from platform.toml.
set -euo pipefail

# platform.toml's values (quoted by homelab); the environment (ORG, GROUP) or arguments override them.
DEFAULT_ORG={{ github.org | sh }}
# A group name is free text: a `$` in it is literal, never expanded.
# shellcheck disable=SC2016
DEFAULT_GROUP={{ github.runner_group | sh }}
DEFAULT_REPOS=({% for r in github.repositories %}{{ r | sh }}{% if not loop.last %} {% endif %}{% endfor %})
# End of platform.toml's values.

ORG="${ORG:-$DEFAULT_ORG}"
GROUP="${GROUP:-$DEFAULT_GROUP}"
REPOS=("${DEFAULT_REPOS[@]}")
if [ $# -gt 0 ]; then
  REPOS=("$@")
fi

ids=()
for repo in "${REPOS[@]}"; do
  ids+=("$(gh api "/repos/$ORG/$repo" --jq .id)")
done
ids_json="[$(IFS=,; echo "${ids[*]}")]"
ids_fields=()
for id in "${ids[@]}"; do
  ids_fields+=(-F "selected_repository_ids[]=$id")
done

# The group name never enters the jq program (it may hold quotes): names are compared here.
existing=""
while IFS=$'\t' read -r id name; do
  if [ "$name" = "$GROUP" ]; then
    existing="$id"
  fi
done < <(gh api "/orgs/$ORG/actions/runner-groups" --jq '.runner_groups[] | "\(.id)\t\(.name)"')
if [ -n "$existing" ]; then
  echo "runner group $GROUP exists (id $existing); updating its repositories"
  gh api --method PUT "/orgs/$ORG/actions/runner-groups/$existing/repositories" \
    --input - <<JSON
{"selected_repository_ids": $ids_json}
JSON
else
  # The name is passed as a typed field (-f), never spliced into JSON text.
  gh api --method POST "/orgs/$ORG/actions/runner-groups" \
    -f name="$GROUP" -f visibility=selected -F allows_public_repositories=false \
    "${ids_fields[@]}" >/dev/null
  echo "created runner group $GROUP"
fi

echo "runners:"
gh api "/orgs/$ORG/actions/runners" --jq '.runners[] | "\(.name) \(.status)"'
