"""Import a file, train a model version, wait for it, pre-label with it and download its
predictions, through the ctir REST API. docs/api.md walks through it; a test runs it.

    CTIR_URL=http://127.0.0.1:8000 CTIR_TOKEN=ctir_... python docs/api_example.py reports.csv
"""

import csv
import os
import sys
import time

import requests

BASE = os.environ.get("CTIR_URL", "http://127.0.0.1:8000").rstrip("/")
PROJECT = os.environ.get("CTIR_PROJECT", "ct-ir")
api = f"{BASE}/api/v1/projects/{PROJECT}"
session = requests.Session()
session.headers["Authorization"] = f"Bearer {os.environ['CTIR_TOKEN']}"


def call(method, url, **kwargs):
    response = session.request(method, url, timeout=60, **kwargs)
    if response.status_code >= 400:
        sys.exit(f"{method} {url}: {response.status_code} {response.text}")
    return response.json()


def wait(url, what):
    """Poll a job until it is no longer queued or running."""
    while True:
        job = call("GET", url)
        if job["status"] not in ("queued", "running"):
            return job
        progress = job.get("progress") or {}  # a message (training) or a percentage (import)
        print(f"  {what}: {job['status']}", progress.get("message", progress.get("percent", "")))
        time.sleep(2)


# 1. Import: the whole file or, if any row is bad, nothing (every problem listed).
with open(sys.argv[1], "rb") as handle:
    response = session.post(f"{api}/reports/", files={"file": handle}, timeout=600)
if response.status_code == 400:
    for error in response.json()["errors"]:
        print(f"line {error['line']}, column {error['column']}: {error['reason']}")
    sys.exit("nothing was imported")
response.raise_for_status()
if response.status_code == 202:  # a big file: a worker imports it; follow its progress
    job = wait(f"{api}/imports/{response.json()['id']}/", "import")
    for line, column, reason in job["errors"]:
        print(f"line {line}, column {column}: {reason}")
    if job["status"] != "succeeded":
        sys.exit(job["message"])
    print(job["message"])
else:
    print(response.json()["detail"])

# 2. Train a new version (a Celery worker on the training queue runs it) and wait for it.
recipe = {"epochs": int(os.environ.get("EPOCHS", "3")), "seeds": 1,
          "max_length": int(os.environ.get("MAX_LENGTH", "256"))}
version = call("POST", f"{api}/models/", json=recipe)
number = version["number"]
print(f"v{number} queued")
version = wait(f"{api}/models/{number}/", f"v{number}")
if version["status"] != "succeeded":
    sys.exit(f"v{number} {version['status']}: {version['error']}")
accuracy = (version["metrics"].get("validation") or {}).get("accuracy")
print(f"v{number} serves {version['served']}, validation accuracy {accuracy}")

# 3. Pre-label every report with it, and wait.
run = call("POST", f"{api}/prelabel/", json={"version": number})
run = wait(f"{api}/prelabel/", "pre-labeling")
if run["status"] != "succeeded":
    sys.exit(f"pre-labeling {run['status']}: {run['error']}")

# 4. Download its predictions, page by page, into a CSV file.
out = os.environ.get("OUT", f"{PROJECT}-v{number}-predictions.csv")
with open(out, "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["accession", "category", "margin"])
    url, rows = f"{api}/models/{number}/predictions/?page_size=1000", 0
    while url:
        page = call("GET", url)
        for p in page["results"]:
            writer.writerow([p["accession"], p["category"], round(p["margin"], 4)])
        rows += len(page["results"])
        url = page["next"]
print(f"{rows} predictions written to {out}")
