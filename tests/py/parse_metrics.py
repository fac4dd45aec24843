#!/usr/bin/env python3
"""Parse Prometheus text (stdin) with the reference client's parser
(prometheus-client) and print, as JSON, every sample: its name, labels and
value, plus each family's type. A line the parser cannot read fails here."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

out = {"families": {}, "samples": []}
for fam in text_string_to_metric_families(sys.stdin.read()):
    out["families"][fam.name] = fam.type
    for s in fam.samples:
        out["samples"].append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(out))
