#!/usr/bin/env python3
"""The auditor's console pages and the report's charts in Chromium (selenium).

An agency lead raises a dispute (so the figures have something to draw); an
auditor browses the ledger page by page, opens an entry, reads the latest
checkpoint, runs "Verify the whole ledger" to its end (the progress page
refreshes itself with <meta http-equiv="refresh">, no script) and fetches
the export download; the SLG asks for the figures with a bad period first
(the error pattern), then a good one (charts and tables). With JavaScript on,
axe-core (WCAG 2.0, 2.1, 2.2 A and AA) runs on every page and must find
nothing; no page may carry a script. --no-js runs the same with JavaScript
off.

Run by tests/api/console_auditor_browser.rs against the real binary; the
helpers (signing in by link, waiting for pages, axe) are journey.py's.

    auditor.py --base URL --bin PATH [--no-js] [--screenshots DIR]
"""

import datetime
import http.client
import json
import os
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # importing journey.py leaves no .pyc behind
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from journey import A, B, Journey, fail, main as run_journey  # noqa: E402


class Auditor(Journey):
    def fetch(self, path):
        """GET `path` with this browser's session cookie: status, headers, body."""
        cookie = self.driver.get_cookie("console_session")
        if not cookie:
            fail("no session cookie")
        u = urllib.parse.urlparse(self.base)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        c.request("GET", path, headers={"Cookie": f"console_session={cookie['value']}"})
        r = c.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()

    def go(self, locate):
        """journey.py's go(), but the wait for the old page to go also looks
        again when Chromium answers about a document it is replacing
        ("Node with given id does not belong to the document"), as seen on a
        loaded machine right after signing in."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait
        for attempt in range(4):
            try:
                old = self.find("html")
                locate().click()
                break
            except WebDriverException:
                if attempt == 3:
                    raise
                time.sleep(0.5)
        WebDriverWait(self.driver, 120, ignored_exceptions=(WebDriverException,)).until(
            ec.staleness_of(old))
        WebDriverWait(self.driver, 120, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
            if self.js else d.find_element(By.CSS_SELECTOR, "footer.el-footer"))
        WebDriverWait(self.driver, 120, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "footer.el-footer"))

    def type_into(self, css, text, clear=False):
        """Type into a field, looking it up again if the page was still being replaced."""
        from selenium.common.exceptions import WebDriverException
        for attempt in range(5):
            try:
                field = self.find(css)
                if clear:
                    field.clear()
                field.send_keys(text)
                return
            except WebDriverException:
                if attempt == 4:
                    raise
                time.sleep(0.5)

    def run(self):
        d = self.driver
        # Something for the figures: a dispute raised through the console.
        self.sign_in("lead@kingston", "agency", agency=A)
        if self.finds("a[href='/console/ledger']"):
            fail("an agency lead is offered the ledger")
        self.go(lambda: self.find("a[href='/console/disputes/new']"))
        self.find(f"input[name='parties'][value='{B}']").click()
        self.type_into("#summary", "Auditor journey: who chairs the meeting")
        self.go(lambda: self.button("Raise the dispute"))
        self.expect("The dispute has been raised.")

        # The auditor browses the ledger.
        self.sign_in("auditor@audit", "auditor")
        self.check("home, auditor")
        self.go(lambda: self.find("header a[href='/console/ledger']"))
        self.expect("The ledger")
        self.check("ledger, first page")
        self.shot("ledger")
        if "Auditor journey" in self.body():
            fail("the ledger browser shows free text")
        entries = self.finds("a[href^='/console/ledger/entries/']")
        if not entries:
            fail("no entries listed")
        self.go(lambda: self.finds("a[href^='/console/ledger/entries/']")[-1])
        self.expect("Entry hash")
        self.expect("Inclusion proof")
        self.check("ledger entry")
        self.go(lambda: self.find("a[href='/console/ledger/checkpoint']"))
        self.expect("The latest checkpoint")
        self.check("latest checkpoint")
        self.shot("checkpoint")

        # Verify the whole ledger, to the end.
        self.go(lambda: self.find("a[href='/console/ledger/verify']"))
        self.check("verify, before")
        before = [e.get_attribute("data-job") for e in self.finds("#verify-job")]
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait
        old = self.find("html")
        [b for b in self.finds("button")
         if b.text.strip().startswith("Verify the whole ledger")][0].click()
        # The page it leads to may refresh itself at once: a document being
        # replaced while it is looked at is looked at again.
        WebDriverWait(d, 120, ignored_exceptions=(WebDriverException,)).until(
            ec.staleness_of(old))
        deadline = time.time() + 300
        while True:
            try:
                job = [e.get_attribute("data-job") for e in self.finds("#verify-job")]
                text = self.body()
            except WebDriverException:  # the page was being refreshed
                continue
            if job and job != before and "The ledger verifies" in text:
                break
            if "does not verify" in text or "did not finish" in text:
                fail(f"the verification failed:\n{text}")
            if time.time() > deadline:
                fail(f"the verification did not finish:\n{self.body()}")
            # The page refreshes itself; wait for the next one to be parsed.
            WebDriverWait(d, 30, ignored_exceptions=(Exception,)).until(
                lambda drv: drv.find_element("css selector", "footer.el-footer"))
        if not self.finds("progress[value='100']"):
            fail("no full progress bar at the end")
        self.check("verify, done")
        self.shot("verify-done")
        print("verified: " + self.find("#result-title").text)

        # The export download.
        link = self.find("a[href='/console/ledger/export']")
        if link.get_attribute("download") is None:
            fail("the export link is not a download")
        status, headers, body = self.fetch("/console/ledger/export")
        if status != 200 or not headers.get("content-type", "").startswith("application/x-ndjson"):
            fail(f"export: {status} {headers}")
        lines = body.decode().splitlines()
        header = json.loads(lines[0])
        if header.get("size") != len(lines) - 1:
            fail(f"export: {header.get('size')} entries named, {len(lines) - 1} sent")
        print(f"exported entries: {len(lines) - 1}")

        # The SLG's figures: a bad period, then a good one.
        self.sign_in("chair@slg", "slg")
        self.go(lambda: self.find("header a[href='/console/reports/escalations']"))
        self.check("figures, form")
        self.type_into("#from", "2026-13-01")
        self.go(lambda: self.button("Show the figures"))
        self.expect("There is a problem")
        self.expect("The first day must be a real date")
        self.check("figures, with errors")
        self.shot("figures-errors")
        today = datetime.date.today()
        self.type_into("#from", (today - datetime.timedelta(days=30)).isoformat(), clear=True)
        self.type_into("#to", (today + datetime.timedelta(days=1)).isoformat())
        self.go(lambda: self.button("Show the figures"))
        self.expect("Disputes raised, by the rung they entered")
        charts = self.finds("svg[role='img']")
        tables = self.finds("table[id$='-table']")
        if len(charts) < 2 or len(tables) != len(charts):
            fail(f"{len(charts)} charts, {len(tables)} tables")
        self.check("figures, charts")
        if self.js and self.args.screenshots:  # the charts, not the form, in the picture
            d.execute_script("arguments[0].scrollIntoView()", self.find("#entry-rung-heading"))
        self.shot("figures")
        print(f"charts: {len(charts)}")

    def close(self):
        self.driver.quit()


if __name__ == "__main__":
    run_journey(Auditor)
