#!/usr/bin/env python3
"""The partnership team's console pages in Chromium, through WebDriver.

A partnership_admin signs in by link, follows the header's "Partnership team"
link and visits every admin page through the sub-navigation: the registry
(adds an agency, after a form with errors; renames it; retires it), one
agency, the policies and one policy document, the webhooks and one webhook's
deliveries, the email settings (sets a list, after a form with errors), the
redactions (a request with errors) and the witnesses with the latest
checkpoint. Every page carries no script; with JavaScript on, axe-core runs
the WCAG 2.0, 2.1 and 2.2 A and AA rules on each and must find nothing. With
--no-js the same visit runs with JavaScript turned off.

Run by tests/api/console_admin_browser.rs against the real binary; the
helpers (sign-in by link, waiting for the next page, axe) are journey.py's.

    admin.py --base URL --bin PATH [--no-js] [--suffix S]
    (the binary's DATABASE_URL, DATA_DIR and JWT_SECRET in the environment)
"""

import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from journey import Journey, fail, main as run_journey  # noqa: E402


class Admin(Journey):
    def api(self, method, path, body):
        """Call the API as a partnership_admin (a token from `escalation-ledger token`)."""
        out = subprocess.run([self.args.bin, "token", "--sub", "api@partnership",
                              "--role", "partnership_admin"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"token: {out.stderr}")
        req = urllib.request.Request(
            self.base + path, method=method, data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {out.stdout.strip()}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def go(self, locate):
        """journey.py's `go`, except that chromedriver's "node does not belong
        to the document" while the old page is being replaced counts as the
        old page gone (it is), instead of failing the wait."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        for attempt in range(4):
            try:
                old = self.find("html")
                locate().click()
                break
            except WebDriverException:
                if attempt == 3:
                    raise
                WebDriverWait(self.driver, 10, ignored_exceptions=(WebDriverException,)).until(
                    lambda d: d.find_element(By.CSS_SELECTOR, "footer.el-footer"))

        def gone(_):
            try:
                old.is_enabled()
                return False
            except WebDriverException:  # stale, or no longer in the document
                return True

        WebDriverWait(self.driver, 120).until(gone)
        WebDriverWait(self.driver, 120, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
            if self.js else d.find_element(By.CSS_SELECTOR, "footer.el-footer"))
        WebDriverWait(self.driver, 120, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "footer.el-footer"))

    def select(self, css, value):
        from selenium.webdriver.support.ui import Select
        Select(self.find(css)).select_by_value(value)

    def section(self, words):
        """Follow the admin sub-navigation's link."""
        from selenium.webdriver.common.by import By
        self.go(lambda: self.driver.find_element(
            By.XPATH, f"//nav[@aria-label='Partnership team']//a[normalize-space()='{words}']"))
        self.expect(words if words != "Email" else "Who gets email")

    def run(self):
        s = self.args.suffix
        agency = f"st-marys-{s}"
        hook = self.api("POST", "/v1/admin/webhooks",
                        {"target": {"agency": "kingston-council"},
                         "url": f"http://127.0.0.1:9/{s}"})

        self.sign_in("team@partnership", "partnership_admin")
        self.check("home, partnership team")
        self.go(lambda: self.find("a[href='/console/admin/registry']"))
        self.expect("The agency registry")
        self.check("registry")

        # Add an agency: an empty form first (the error pattern), then the real one.
        self.go(lambda: self.button("Add the agency"))
        self.expect("There is a problem")
        self.expect("Enter the agency’s id")
        self.check("registry, add with errors")
        self.find("#id").send_keys(agency)
        self.find("#name").send_keys("St Mary’s Primary")
        self.select("#kind", "education")
        self.go(lambda: self.button("Add the agency"))
        self.expect("The agency has been added to the registry.")
        self.expect(agency)
        self.check("registry, added")
        self.shot("admin-registry")

        # Its page: rename it, then retire it.
        self.go(lambda: self.find(f"a[href='/console/admin/registry/{agency}']"))
        self.check("agency")
        name = self.find("#name")
        name.clear()
        name.send_keys("St Mary’s CE Primary")
        self.go(lambda: self.button("Save the change"))
        self.expect("The agency has been changed.")
        self.expect("St Mary’s CE Primary")
        self.check("agency, renamed")
        self.go(lambda: self.button("Retire St Mary’s CE Primary"))
        self.expect("The agency has been retired.")
        self.check("agency, retired")

        self.section("Policies")
        self.expect("SHA-256 of the document")
        self.check("policies")
        self.shot("admin-policies")
        self.go(lambda: self.find("a[href='/console/admin/policies/wt-2023']"))
        self.expect("The document")
        self.check("policy document")

        self.section("Webhooks")
        self.expect(f"http://127.0.0.1:9/{s}")
        self.check("webhooks")
        self.go(lambda: self.find(f"a[href='/console/admin/webhooks/{hook['id']}']"))
        self.expect("Deliveries")
        self.check("webhook deliveries")

        # Email: an empty form first, then a list for an agency.
        self.section("Email")
        self.check("email")
        self.go(lambda: self.button("Save the list"))
        self.expect("There is a problem")
        self.expect("Choose an agency or a role")
        self.check("email with errors")
        self.shot("admin-email-errors")
        self.select("#target", "agency:kingston-council")
        self.find("#addresses").send_keys(f"lead-{s}@kingston.gov.uk\ndeputy-{s}@kingston.gov.uk")
        self.go(lambda: self.button("Save the list"))
        self.expect("The address list has been saved.")
        self.expect(f"deputy-{s}@kingston.gov.uk")
        self.check("email, saved")

        self.section("Redactions")
        self.check("redactions")
        self.go(lambda: self.button("Request the erasure"))
        self.expect("There is a problem")
        self.check("redactions with errors")

        self.section("Witnesses")
        self.expect("The latest checkpoint")
        self.check("witnesses")
        self.shot("admin-witnesses")
        self.section("Registry")
        self.check("registry, at the end")


if __name__ == "__main__":
    run_journey(Admin, [("--suffix", {"default": "a", "help": "makes this run's agency id and addresses its own"})])
