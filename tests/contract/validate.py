"""Fetches the platform's OpenAPI document, saves it beside the run, and validates it with
openapi-spec-validator (the OpenAPI 3.x meta-schema plus its own rules, e.g. unique
operationIds). Usage: validate.py URL OUT.json"""

import json
import sys
import urllib.request

from openapi_spec_validator import validate

url, out = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(url, timeout=30) as answer:
    document = json.load(answer)
with open(out, "w", encoding="utf-8") as file:
    json.dump(document, file, ensure_ascii=False, indent=2)
validate(document)
operations = sum(
    1 for item in document["paths"].values() for method in item
    if method in ("get", "post", "put", "patch", "delete"))
print(f"    valid OpenAPI {document['openapi']}: {len(document['paths'])} paths, {operations} operations")
