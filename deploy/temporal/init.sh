#!/bin/sh
# Creates autossl's namespace and search attributes on the Temporal server. Idempotent: `create` of an attribute
# that exists with the same type succeeds, and a type clash fails loudly.
# The attributes must match SEARCH_ATTRIBUTES in src/workflows/search-attributes.ts (a test checks this file).
set -eu
: "${TEMPORAL_ADDRESS:?}"
namespace=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_NAMESPACE_RETENTION:-30d}

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal at $TEMPORAL_ADDRESS is not healthy" >&2; exit 1; }
  sleep 2
done

temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$namespace" >/dev/null 2>&1 \
  || temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$namespace" --retention "$retention"

# A new namespace reaches every frontend's cache only after a moment.
tries=0
until temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$namespace" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || { echo "namespace $namespace never became visible" >&2; exit 1; }
  sleep 1
done

temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$namespace" \
  --name AutosslCertificate --type Keyword \
  --name AutosslDomains --type KeywordList \
  --name AutosslExpiry --type Datetime \
  --name AutosslState --type Keyword
echo "namespace $namespace ready with autossl's search attributes"
