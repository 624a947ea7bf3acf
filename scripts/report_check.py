#!/usr/bin/env python3
"""Independent recomputation of the escalation figures for the annual report.

Written from the text of issue 12 ("Escalation figures for the annual report,
that anyone can reproduce from the ledger") and the definitions the README's
"Annual report figures" section gives, not from the Rust code. Standard library
only. It reads every entry from GET /v1/ledger/entries (facts, never payloads)
and prints the figures as JSON, without the `ledger` member (the checkpoint is
the server's to sign; compare it with GET /v1/ledger/checkpoint).

usage: report_check.py BASE_URL FROM TO [AUDIENCE [SUPPRESS_BELOW [FEED]]]
  BASE_URL        e.g. http://127.0.0.1:8080; the bearer token is in LEDGER_TOKEN
  FROM, TO        London dates, inclusive (YYYY-MM-DD)
  AUDIENCE        internal (default) or public
  SUPPRESS_BELOW  default 5
  FEED            the bank holiday feed (GOV.UK shape); default
                  assets/bank-holidays.json beside this script
"""

import datetime as dt
import hashlib
import json
import os
import sys
import urllib.request
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
AUTO = "auto_escalate_on_deadline"


def fetch_entries(base, token):
    """Every entry, following each page's `next` cursor."""
    out, path = [], "/v1/ledger/entries?limit=200"
    while True:
        req = urllib.request.Request(
            f"{base}{path}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(req) as r:
            page = json.load(r)
        out.extend(page["items"])
        if page["next"] is None:
            return out
        path = "/v1/ledger/entries?limit=200&cursor=" + page["next"]


def london_day(recorded_at):
    # "2026-03-29T00:30:00.000000Z"
    t = dt.datetime.strptime(recorded_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    return t.astimezone(LONDON).date()


def working_days(holidays, a, b):
    """Working days in (a, b]: Monday to Friday, not a bank holiday."""
    n, d = 0, a
    while d < b:
        d += dt.timedelta(days=1)
        if d.weekday() < 5 and d not in holidays:
            n += 1
    return n


def nearest_rank(sorted_values, p):
    if not sorted_values:
        return None
    n = len(sorted_values)
    rank = max(1, -(-p * n // 100))  # ceil(p*n/100)
    return sorted_values[rank - 1]


def bump(m, k):
    m[k] = m.get(k, 0) + 1


def compute(entries, start, end, holidays):
    def in_period(d):
        return start <= d <= end

    policy_before, policies_in = None, []
    cases = {}
    deadline_missed, escalations = {}, {}
    reviews = dict.fromkeys(["requested", "accepted", "declined", "findings_recorded"], 0)
    mediations = dict.fromkeys(["opened", "closed", "outside_ladder"], 0)
    recs, rec_order = {}, []
    issued = accepted = not_accepted = 0

    for e in entries:
        day = london_day(e["recorded_at"])
        if day > end:
            continue  # after the period: the cohort as it stood at its end
        ev, f, did = e["event"], e["facts"], e["dispute_id"]
        inp = in_period(day)
        if ev == "policy_activated":
            p = {"version": f["version"], "sha256": f["sha256"], "activated_at": e["recorded_at"]}
            if inp:
                policies_in.append(p)
            else:
                policy_before = p
        elif ev == "raised":
            if inp:
                cases[did] = {
                    "raised_on": day, "entry": f["rung"], "rung": f["rung"], "highest": f["rung"],
                    "state": "open", "closed_on": None, "urgent": bool(f.get("urgent")),
                    "whistleblowing": bool(f.get("whistleblowing", False)), "auto": 0,
                }
        elif ev == "escalated":
            if inp:
                bump(escalations, f"{f['from']}->{f['to']}")
            c = cases.get(did)
            if c:
                c["rung"] = c["highest"] = f["to"]
                if f.get("rule") == AUTO:
                    c["auto"] += 1
        elif ev == "policy_migrated":
            c = cases.get(did)
            if c:
                c["rung"] = c["highest"] = f["rung"]
        elif ev in ("resolved", "withdrawn"):
            c = cases.get(did)
            if c:
                c["state"], c["closed_on"] = ev, day
        elif ev == "deadline_missed":
            if inp:
                bump(deadline_missed, f["rung"])
        elif ev.startswith("review_") and inp:
            key = ev[len("review_"):]
            if key in reviews:
                reviews[key] += 1
        elif ev == "mediation_opened" and inp:
            mediations["opened"] += 1
            if f["ladder"] is False:
                mediations["outside_ladder"] += 1
        elif ev == "mediation_closed" and inp:
            mediations["closed"] += 1
        elif ev == "recommendation_issued":
            rid = f["recommendation_id"]
            if inp:
                issued += 1
            recs[rid] = {"issued_on": day, "due": f["response_due"], "response": None}
            rec_order.append(rid)
        elif ev == "recommendation_response_recorded":
            if inp:
                if f["accepted"]:
                    accepted += 1
                else:
                    not_accepted += 1
            if f["recommendation_id"] in recs:
                recs[f["recommendation_id"]]["response"] = (day, f["accepted"])

    by_entry, highest, resolved = {}, {}, {}
    outcome_withdrawn = outcome_open = urgent = wb = auto = 0
    days = []
    for c in cases.values():
        bump(by_entry, c["entry"])
        bump(highest, c["highest"])
        if c["state"] == "open":
            outcome_open += 1
        elif c["state"] == "resolved":
            bump(resolved, c["rung"])
        else:
            outcome_withdrawn += 1
        if c["closed_on"] is not None:
            days.append(working_days(holidays, c["raised_on"], c["closed_on"]))
        urgent += c["urgent"]
        wb += c["whistleblowing"]
        auto += c["auto"]
    days.sort()

    awaiting = overdue = 0
    rec_list = []
    for rid in rec_order:
        r = recs[rid]
        resp = r["response"]
        if resp is not None:
            status = "accepted" if resp[1] else "not_accepted"
        elif dt.date.fromisoformat(r["due"]) <= end:
            status, overdue = "overdue", overdue + 1
        else:
            status, awaiting = "awaiting_response", awaiting + 1
        if in_period(r["issued_on"]) or (resp and in_period(resp[0])) or resp is None:
            rec_list.append({"id": rid, "issued_on": r["issued_on"].isoformat(),
                             "response_due": r["due"], "status": status})

    return {
        "policies": ([policy_before] if policy_before else []) + policies_in,
        "raised": len(cases),
        "by_entry_rung": by_entry,
        "highest_rung_reached": highest,
        "outcome": {"resolved": resolved, "withdrawn": outcome_withdrawn, "open": outcome_open},
        "working_days_to_close": {
            "count": len(days), "median": nearest_rank(days, 50),
            "p90": nearest_rank(days, 90), "max": days[-1] if days else None,
        },
        "urgent": urgent,
        "whistleblowing": wb,
        "deadline_missed": deadline_missed,
        "auto_escalated": auto,
        "escalations": escalations,
        "reviews": reviews,
        "mediations": mediations,
        "recommendations": {
            "issued": issued, "accepted": accepted, "not_accepted": not_accepted,
            "awaiting_response": awaiting, "overdue": overdue, "list": rec_list,
        },
    }


def suppress(fig, below):
    """Counts 1..below-1 become null, their dotted paths listed."""
    hidden = []

    def small(v):
        return isinstance(v, int) and not isinstance(v, bool) and 1 <= v < below

    def hide(obj, key, path):
        if small(obj[key]):
            obj[key] = None
            hidden.append(path)
            return True
        return False

    hide(fig, "raised", "raised")
    for name, m in [("by_entry_rung", fig["by_entry_rung"]),
                    ("highest_rung_reached", fig["highest_rung_reached"]),
                    ("outcome.resolved", fig["outcome"]["resolved"]),
                    ("deadline_missed", fig["deadline_missed"]),
                    ("escalations", fig["escalations"])]:
        for k in list(m):
            hide(m, k, f"{name}.{k}")
    hide(fig["outcome"], "withdrawn", "outcome.withdrawn")
    hide(fig["outcome"], "open", "outcome.open")
    w = fig["working_days_to_close"]
    if hide(w, "count", "working_days_to_close.count"):
        for k in ("median", "p90", "max"):
            w[k] = None
            hidden.append(f"working_days_to_close.{k}")
    for k in ("urgent", "whistleblowing", "auto_escalated"):
        hide(fig, k, k)
    for sec in ("reviews", "mediations"):
        for k in list(fig[sec]):
            hide(fig[sec], k, f"{sec}.{k}")
    r = fig["recommendations"]
    any_rec = False
    for k in ("issued", "accepted", "not_accepted", "awaiting_response", "overdue"):
        any_rec |= hide(r, k, f"recommendations.{k}")
    if any_rec:
        r["list"] = None
        hidden.append("recommendations.list")
    fig["suppressed"] = sorted(hidden)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    base, start, end = argv[1].rstrip("/"), dt.date.fromisoformat(argv[2]), dt.date.fromisoformat(argv[3])
    audience = argv[4] if len(argv) > 4 else "internal"
    below = int(argv[5]) if len(argv) > 5 else 5
    feed_path = argv[6] if len(argv) > 6 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "assets", "bank-holidays.json")
    with open(feed_path, "rb") as fh:
        feed_bytes = fh.read()
    feed = json.loads(feed_bytes)
    holidays = {dt.date.fromisoformat(ev["date"]) for ev in feed["england-and-wales"]["events"]}
    entries = fetch_entries(base, os.environ["LEDGER_TOKEN"])
    fig = compute(entries, start, end, holidays)
    fig["period"] = {"from": start.isoformat(), "to": end.isoformat()}
    fig["audience"] = audience
    fig["suppress_below"] = below
    fig["calendar"] = {"feed_sha256": hashlib.sha256(feed_bytes).hexdigest()}
    fig["suppressed"] = []
    if audience == "public":
        suppress(fig, below)
    print(json.dumps(fig, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
