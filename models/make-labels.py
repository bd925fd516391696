#!/usr/bin/python3
"""Regenerate models/default-labels.csv (the labels used for models/default.json) from the inventory
../shared/pcaps/FILES.csv and the lab capture's phase table ../shared/pcaps/lab/loopback-mix.phases.tsv.

One rule per labelled capture: label = FILES.csv `label` (benign/malicious; unknown and mixed files get no rule, so
`train --drop-unlabelled` skips them), file = `**/<source>/<file>` (the capture's path below ../shared/pcaps).
The lab capture is labelled per flow by time window: one rule per phase, [start, end] in epoch seconds.

    /usr/bin/python3 models/make-labels.py > models/default-labels.csv
"""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "pcaps"))
CAPTURE_EXT = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".pcap.zst", ".pcapng.zst")

w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["label", "file", "start", "end"])
with open(os.path.join(SHARED, "lab", "loopback-mix.phases.tsv")) as f:
    for row in csv.DictReader(f, delimiter="\t"):
        # Seconds → microseconds, widened by 0.5 s on each side (phases are separated by 1 s of silence lab README).
        start = int(float(row["start_epoch"]) * 1e6) - 500_000
        end = int(float(row["end_epoch"]) * 1e6) + 500_000
        w.writerow([row["label"], "**/lab/loopback-mix.pcap", start, end])
with open(os.path.join(SHARED, "FILES.csv")) as f:
    for row in csv.DictReader(f):
        if row["dir"] != "pcaps" or row["label"] not in ("benign", "malicious"):
            continue
        if not row["file"].lower().endswith(CAPTURE_EXT):
            continue
        w.writerow([row["label"], f"**/{row['source']}/{row['file']}", "", ""])
