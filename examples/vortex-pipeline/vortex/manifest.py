import json

import requests

MANIFEST_URL = "https://models.internal/manifest.json"


def fetch_manifest(url=MANIFEST_URL):
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.json()


def model_versions():
    manifest = fetch_manifest()
    return {m["name"]: m["version"] for m in manifest["models"]}


def read_local_manifest(path):
    with open(path) as fh:
        return json.load(fh)
