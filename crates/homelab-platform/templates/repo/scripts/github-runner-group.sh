#!/usr/bin/env bash
# Create the GitHub runner group "{{ github.runner_group }}" in {{ github.org }}, restricted to selected
# repositories, for the ARC scale sets arc-linux-standard{% if p.gpu_node %} and arc-linux-gpu{% endif %}.
# Needs the gh CLI logged in as an org owner. Rendered by homelab {{ version }} from platform.toml.
set -euo pipefail

ORG="${ORG:-{{ github.org }}}"
GROUP="${GROUP:-{{ github.runner_group }}}"
REPOS=({% for r in github.repositories %}"{{ r }}"{% if not loop.last %} {% endif %}{% endfor %})
if [ $# -gt 0 ]; then
  REPOS=("$@")
fi

ids=()
for repo in "${REPOS[@]}"; do
  ids+=("$(gh api "/repos/$ORG/$repo" --jq .id)")
done
ids_json="[$(IFS=,; echo "${ids[*]}")]"

existing="$(gh api "/orgs/$ORG/actions/runner-groups" --jq ".runner_groups[] | select(.name == \"$GROUP\") | .id")"
if [ -n "$existing" ]; then
  echo "runner group $GROUP exists (id $existing); updating its repositories"
  gh api --method PUT "/orgs/$ORG/actions/runner-groups/$existing/repositories" \
    --input - <<JSON
{"selected_repository_ids": $ids_json}
JSON
else
  gh api --method POST "/orgs/$ORG/actions/runner-groups" --input - <<JSON
{"name": "$GROUP", "visibility": "selected", "selected_repository_ids": $ids_json, "allows_public_repositories": false}
JSON
fi

echo "runners:"
gh api "/orgs/$ORG/actions/runners" --jq '.runners[] | "\(.name) \(.status)"'
