#!/usr/bin/env python3
"""The console's main journey in Chromium, through WebDriver (selenium).

An agency lead signs in by link, raises a dispute (after a form with errors)
and escalates it; a forged action is refused; the SLG proposes; both parties
accept; the dispute page shows it resolved with every step verified. With
JavaScript on, axe-core runs on every page with the WCAG 2.0, 2.1 and 2.2 A and
AA rules and must find nothing; every page must carry no script at all. With
--no-js the same journey runs with JavaScript turned off.

Run by tests/api/console_browser.rs against the real binary. Exits non-zero
(never skips) when chromium, chromedriver, selenium or axe-core is missing.

    journey.py --base URL --bin PATH [--no-js] [--screenshots DIR]
    (the database is the binary's DATABASE_URL in the environment)
"""

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
AXE = os.environ.get("AXE_JS", os.path.join(HERE, "node_modules", "axe-core", "axe.min.js"))
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
A, B = "kingston-council", "metropolitan-police"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def need_tools():
    missing = []
    for tool in ("chromium", "chromedriver"):
        if not shutil.which(tool):
            missing.append(tool)
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python selenium (pip install selenium)")
    if not os.path.isfile(AXE):
        missing.append(f"axe-core ({AXE}: npm install axe-core in tests/browser)")
    if missing:
        fail("missing: " + ", ".join(missing) + " (.ci/run installs them)")


def gone(el):
    """Whether element `el`'s document has been replaced."""
    from selenium.common.exceptions import WebDriverException
    try:
        el.is_enabled()
        return False
    except WebDriverException:  # stale, or "does not belong to the document"
        return True


class Journey:
    def __init__(self, args):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.args = args
        self.base = args.base.rstrip("/")
        self.js = not args.no_js
        self.axe_src = open(AXE, encoding="utf-8").read()
        self.violations = []
        self.pages = 0
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium")
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                  "--disable-gpu", "--window-size=1024,900", "--lang=en-GB"):
            opts.add_argument(a)
        if not self.js:
            opts.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2})
        self.driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
        self.driver.set_page_load_timeout(120)
        self.driver.set_script_timeout(120)

    # ---- helpers ----

    def link(self, sub, role, agency=None, partner=None):
        cmd = [self.args.bin, "console-link", "--sub", sub, "--role", role, "--base-url", self.base]
        if agency:
            cmd += ["--agency", agency]
        if partner:
            cmd += ["--partner", partner]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"console-link: {out.stderr}")
        return out.stdout.strip()

    def find(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def finds(self, css):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def button(self, text):
        from selenium.webdriver.common.by import By
        for b in self.driver.find_elements(By.TAG_NAME, "button"):
            if b.text.strip() == text:
                return b
        fail(f"no button '{text}' on {self.driver.current_url}:\n{self.body()}")

    def go(self, locate):
        """Find (with `locate`) and click a link or button, and wait for the
        next page. A click that failed because the page was being replaced is
        tried again, but one that raised because it had already navigated is
        not (that would send a form twice)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        old = self.find("html")
        for attempt in range(4):
            try:
                locate().click()
                break
            except WebDriverException:
                if gone(old):
                    break
                if attempt == 3:
                    raise
                old = self.find("html")
        wait = WebDriverWait(self.driver, 120, poll_frequency=0.2,
                             ignored_exceptions=(WebDriverException,))
        wait.until(lambda d: gone(old))
        # Through any redirect, until the new page is parsed to its footer.
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "footer.el-footer")
                   and (not self.js or d.execute_script("return document.readyState") == "complete"))

    def body(self):
        from selenium.common.exceptions import WebDriverException
        for _ in range(5):
            try:
                return self.find("body").text
            except WebDriverException:  # the document was being replaced
                time.sleep(0.2)
        return self.find("body").text

    def expect(self, text):
        if text not in self.body():
            fail(f"'{text}' not on {self.driver.current_url}:\n{self.body()}")

    def check(self, name):
        """One page of the journey: no script in it, and (JavaScript on) axe finds nothing."""
        self.pages += 1
        src = self.driver.page_source
        if "<script" in src.lower():
            fail(f"{name}: the page carries a script")
        if not self.driver.title:
            fail(f"{name}: the page has no title")
        if not self.js:
            return
        self.driver.execute_script(self.axe_src)
        found = self.driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
              .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.map(n => n.target.join(' '))}))))
              .catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));
            """,
            TAGS,
        )
        for v in found:
            self.violations.append((name, v))
        print(f"  axe {name}: {len(found)} violations")

    def shot(self, name):
        if self.js and self.args.screenshots:
            os.makedirs(self.args.screenshots, exist_ok=True)
            self.driver.save_screenshot(os.path.join(self.args.screenshots, f"console-{name}.png"))

    def sign_in(self, sub, role, **kw):
        self.driver.delete_all_cookies()
        self.driver.get(self.link(sub, role, **kw))
        self.check("sign-in")
        self.go(lambda: self.button("Sign in"))
        self.expect("Signed in as")
        self.expect(sub)

    def forge(self, path, fields):
        """POST a form the page did not offer, with this session's cookie and token."""
        cookie = self.driver.get_cookie("console_session")
        if not cookie:
            fail("no session cookie")
        m = re.search(r'name="csrf" value="([0-9a-f]+)"', self.driver.page_source)
        if not m:
            fail("no form token on the page")
        body = urllib.parse.urlencode({**fields, "csrf": m.group(1)})
        u = urllib.parse.urlparse(self.base)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                       "Cookie": f"console_session={cookie['value']}"})
        r = c.getresponse()
        r.read()
        return r.status

    # ---- the journey ----

    def run(self):
        d = self.driver
        d.get(self.base + "/")
        if "/console/sign-in" not in d.current_url:
            fail(f"/ did not lead to sign-in: {d.current_url}")
        self.check("sign-in, no link")
        d.get(self.base + "/console/accessibility")
        self.check("accessibility statement")

        # An agency lead signs in by link and raises a dispute.
        self.sign_in("lead@kingston", "agency", agency=A)
        self.check("home, agency lead")
        self.go(lambda: self.find("a[href='/console/disputes/new']"))
        self.check("raise form")
        self.go(lambda: self.button("Raise the dispute"))
        self.expect("There is a problem")
        self.expect("Select the agency or agencies you disagree with")
        self.check("raise form with errors")
        self.shot("raise-errors")
        self.find(f"input[name='parties'][value='{B}']").click()
        self.find("#summary").send_keys("Who leads the strategy discussion for a child at risk")
        self.find("#child_ref").send_keys("CR-2041")
        self.go(lambda: self.button("Raise the dispute"))
        self.expect("The dispute has been raised.")
        dispute = d.current_url.split("?")[0]
        path = urllib.parse.urlparse(dispute).path
        self.check("dispute, raised")

        # ... and escalates it (an empty reason first: the error pattern).
        self.go(lambda: self.button("Escalate the dispute"))
        self.expect("Enter why you are escalating the dispute")
        self.check("dispute, escalation with errors")
        self.find("#reason").send_keys("We cannot agree at agency level")
        self.go(lambda: self.button("Escalate the dispute"))
        self.expect("The dispute has been escalated.")
        self.check("dispute, escalated")
        if self.finds("#resolution"):
            fail("the agency lead is offered a proposal on the SLG rung")
        steps = len(self.finds(".el-timeline-item"))

        # A forged action: the SLG rung's proposal, by the agency lead.
        status = self.forge(path + "/proposals", {"resolution": "forged"})
        if status != 403:
            fail(f"a forged proposal answered {status}, not 403")
        d.get(dispute)
        if len(self.finds(".el-timeline-item")) != steps:
            fail("the forged proposal wrote a step")
        self.go(lambda: self.button("Sign out"))
        self.expect("You sign in with a link")
        self.check("signed out")

        # The SLG proposes.
        self.sign_in("chair@slg", "slg")
        self.expect("Disputes where you may propose a resolution")
        self.check("home, SLG")
        self.shot("home")
        d.get(dispute)
        self.find("#resolution").send_keys("Joint strategy meeting chaired by the police lead")
        self.go(lambda: self.button("Propose"))
        self.expect("Your proposal has been recorded.")
        self.check("dispute, proposed")
        d.get(self.base + "/console/disputes")
        self.check("disputes list")
        self.shot("disputes")

        # Both parties accept.
        for sub, agency in (("lead@kingston", A), ("lead@met", B)):
            self.sign_in(sub, "agency", agency=agency)
            self.expect("Proposals awaiting your acceptance")
            self.check(f"home, {agency}")
            self.go(lambda: self.find(f"a[href='{path}']"))
            self.check(f"dispute, before {agency} accepts")
            self.go(lambda: self.button("Accept the proposal"))
            self.expect("Your acceptance has been recorded.")
            self.check(f"dispute, {agency} accepted")

        # Resolved, every step verified (the checkpointer signs within seconds).
        deadline = time.time() + 60
        while True:
            d.get(dispute)
            if "Every step is verified." in self.body():
                break
            if time.time() > deadline:
                fail(f"not every step verified:\n{self.body()}")
            time.sleep(0.5)
        self.expect("Resolved")
        self.expect("Outcome statement")
        self.expect("Joint strategy meeting chaired by the police lead")
        items = self.finds(".el-timeline-item")
        verified = [i for i in items if "Verified" in i.text]
        if len(items) < 6 or len(verified) != len(items):
            fail(f"{len(verified)} of {len(items)} steps verified")
        self.check("dispute, resolved")
        self.shot("dispute-resolved")
        print(f"steps verified: {len(verified)}")

    def close(self):
        self.driver.quit()


def main(journey=None, options=()):
    """Run a journey (a `Journey` subclass; this file's own by default) with the
    common options and its own (`options`: (flag, argparse keywords) pairs),
    then print its violations and the summary line the Rust test reads."""
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--bin", required=True)
    p.add_argument("--no-js", action="store_true")
    p.add_argument("--screenshots")
    for flag, kw in options:
        p.add_argument(flag, **kw)
    args = p.parse_args()
    need_tools()
    j = (journey or Journey)(args)
    try:
        j.run()
    except Exception as e:  # the page it happened on, then the error (fail()'s exit passes)
        import traceback
        traceback.print_exc(limit=4)
        try:
            where = f"{j.driver.current_url}:\n{j.body()}"
        except Exception:  # noqa: BLE001
            where = "(no page)"
        fail(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} on {where}")
    finally:
        j.close()
    for name, v in j.violations:
        print(f"VIOLATION on {name}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}")
    mode = "javascript on" if j.js else "javascript off"
    print(json.dumps({"mode": mode, "pages": j.pages, "violations": len(j.violations)}))
    if j.violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
