#!/usr/bin/env python3
"""The scrutineer's day and the SLG's response, in Chromium through WebDriver.

A dispute already on the scrutineer's rung (set up through the API by the
caller) is listed in the scrutineer's workspace; the scrutineer opens its
mediation (after a form with errors), records a session (after one with
errors), is told the outcome needs the rung's proposal first, proposes on the
dispute's page, and records the outcome. The SLG finds a recommendation
waiting on its home page, records its response (after a form with errors),
and sees it on the board as responded; a forged session by the SLG is refused.
With JavaScript on, axe-core (WCAG 2.0, 2.1 and 2.2 A and AA) runs on every
page and must find nothing; with --no-js the same journey runs with JavaScript
off. Every wait is for a state (a page replaced, a text shown), never a fixed
sleep.

The browser, axe and the page helpers are journey.py's (`Journey`).
Run by tests/api/console_scrutiny_browser.rs against the real binary.

    scrutineer.py --base URL --bin PATH --dispute ID --recommendation ID [--no-js] [--screenshots DIR]
"""

import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from journey import A, B, Journey, fail, main as run_journey  # noqa: E402


class ScrutineerDay(Journey):
    def act(self, css, what):
        """Do `what` to the element `css` on the page now shown, finding it
        again if the page was still being replaced."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.driver, 60, poll_frequency=0.2,
                      ignored_exceptions=(WebDriverException,)).until(
            lambda d: what(self.find(css)) or True)

    def type_into(self, css, text):
        def typed(el):
            el.clear()
            el.send_keys(text)
        self.act(css, typed)

    def tick(self, css):
        def ticked(el):
            if not el.is_selected():
                el.click()
            if not el.is_selected():
                raise RuntimeError(f"{css} did not take the click")
        self.act(css, ticked)

    def run(self):
        d = self.driver
        dispute = self.args.dispute
        rec = self.args.recommendation

        # The scrutineer signs in and goes to the workspace by the header's link.
        self.sign_in("scrutineer@krscp", "scrutineer")
        self.check("home, scrutineer")
        self.go(lambda: self.find("a[href='/console/scrutiny']"))
        self.expect("Disputes on the scrutineer’s rung")
        self.check("scrutiny workspace")
        self.shot("scrutiny")

        # Open the dispute's mediation: the dispute and its parties are filled in.
        self.go(lambda: self.find(f"a[href='/console/scrutiny/mediations/new?dispute={dispute}']"))
        self.check("mediation form")
        for agency in (A, B):
            if not self.find(f"input[name='agencies'][value='{agency}']").is_selected():
                fail(f"{agency} is not ticked on the mediation form")
        self.go(lambda: self.button("Open the mediation"))
        self.expect("There is a problem")
        self.expect("Enter what is being mediated")
        self.check("mediation form with errors")
        self.type_into("#topic", "Threshold for a strategy meeting")
        self.go(lambda: self.button("Open the mediation"))
        self.expect("The mediation has been opened.")
        mediation = d.current_url.split("?")[0]
        self.check("mediation, opened")

        # A session: nothing ticked and no notes first.
        self.go(lambda: self.button("Record the session"))
        self.expect("Select who attended")
        self.expect("Enter the notes of the session")
        self.check("mediation, session with errors")
        for box in ("#attendees", "#attendees-0", "#attendees-1"):
            self.tick(box)
        self.type_into("#notes", "Positions set out; a joint visit discussed")
        self.go(lambda: self.button("Record the session"))
        self.expect("The session has been recorded.")
        self.expect("Positions set out; a joint visit discussed")
        self.check("mediation, session recorded")

        # The outcome before the rung has a proposal: refused, with the reason.
        self.type_into("#outcome", "Joint visit within five working days")
        self.go(lambda: self.button("Record the outcome and close"))
        self.expect("There is a problem")
        self.check("mediation, outcome refused")
        path = urllib.parse.urlparse(mediation).path
        self.go(lambda: self.find(f"main a[href='/console/disputes/{dispute}']"))
        self.check("dispute on the scrutineer's rung")
        self.type_into("#resolution", "Joint visit within five working days")
        self.go(lambda: self.button("Propose"))
        self.expect("Your proposal has been recorded.")
        self.check("dispute, scrutineer proposed")

        d.get(mediation)
        self.type_into("#outcome", "Joint visit within five working days")
        self.go(lambda: self.button("Record the outcome and close"))
        self.expect("The mediation’s outcome has been recorded.")
        self.expect("Joint visit within five working days")
        if self.finds("#notes"):
            fail("a closed mediation still offers the session form")
        self.check("mediation, closed")
        self.shot("mediation")
        sessions = len(self.finds(".el-timeline-item"))

        d.get(self.base + "/console/recommendations")
        self.expect("Recommendations to the SLG")
        self.check("recommendations board, scrutineer")
        self.go(lambda: self.button("Sign out"))
        self.expect("You sign in with a link")

        # The SLG: the recommendation waits on its home page.
        self.sign_in("chair@slg", "slg")
        self.expect("Recommendations waiting for your response")
        self.check("home, SLG with a recommendation")
        self.go(lambda: self.find(f"a[href='/console/recommendations/{rec}']"))
        self.expect("Record the SLG’s response")
        self.check("recommendation")
        self.go(lambda: self.button("Record the response"))
        self.expect("Select whether the SLG accepts the recommendation")
        self.check("recommendation, response with errors")
        self.tick("#accepted")
        self.type_into("#actions", "A threshold protocol agreed by March")
        self.go(lambda: self.button("Record the response"))
        self.expect("Your response has been recorded.")
        self.expect("A threshold protocol agreed by March")
        self.check("recommendation, responded")
        self.shot("recommendation")
        d.get(self.base + "/console/recommendations")
        rows = [r for r in self.finds("tr") if r.find_elements(
            "css selector", f"a[href='/console/recommendations/{rec}']")]
        if len(rows) != 1 or "Responded" not in rows[0].text:
            fail(f"the board does not show {rec} as responded:\n{self.body()}")
        self.check("recommendations board, SLG")

        # A forged session by the SLG: 403, and the mediation is unchanged.
        status = self.forge(path + "/sessions", {
            "date-day": "1", "date-month": "1", "date-year": "2026",
            "attendees": "scrutineer", "notes": "forged"})
        if status != 403:
            fail(f"a forged session answered {status}, not 403")
        self.go(lambda: self.button("Sign out"))
        self.sign_in("scrutineer@krscp", "scrutineer")
        d.get(mediation)
        if len(self.finds(".el-timeline-item")) != sessions:
            fail("the forged session was recorded")
        self.check("mediation, after the forged session")
        print(f"mediation closed with {sessions} session(s); recommendation responded")


if __name__ == "__main__":
    run_journey(ScrutineerDay, [("--dispute", {"required": True}), ("--recommendation", {"required": True})])
