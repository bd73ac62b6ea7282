"""The pages work under their Content-Security-Policy, enforced (the other browser tests
bypass it for Playwright's own waits): keyboard answers through htmx, the guideline dialog,
the power planner's htmx form, the members page's role change and the API docs, with no
violation reported by chromium."""

import pytest

from annotation.models import Annotation
from tests.support import add_unlabelled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
}"""


def _enforced(browser, live_server, username, password):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(WATCH.join(["(", ")()"]))
    page = context.new_page()
    page.set_default_timeout(10_000)
    messages = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_load_state()
    return page, messages


def _violations(page, messages) -> list[str]:
    seen = page.evaluate("() => window.__violations || []")
    return seen + [m for m in messages if "Content Security Policy" in m]


def test_the_pages_work_with_the_policy_enforced(browser, live_server, project, admin_user):
    admin_user.set_password("pw-csp-admin-9")
    admin_user.save()
    add_unlabelled(project, 3)
    page, messages = _enforced(browser, live_server, "alice-admin", "pw-csp-admin-9")
    assert "script-src 'self'" in page.evaluate(
        "async () => (await fetch(location.href)).headers.get('content-security-policy')")

    page.goto(f"{live_server.url}/p/{project.slug}/annotate/")
    first = page.inner_text(".report-meta strong")
    page.keyboard.press("?")  # the guideline dialog: a data-opens button, no inline handler
    page.wait_for_selector("dialog#guideline[open]")
    page.keyboard.press("Escape")
    page.mouse.move(200, 200)
    page.keyboard.press("2")  # answered through htmx
    page.wait_for_selector(f".report-meta strong:not(:text-is('{first}'))")
    assert Annotation.objects.count() == 1
    assert _violations(page, messages) == []

    page.goto(f"{live_server.url}/p/{project.slug}/studies/")
    page.fill("input[name=n_readers]", "5")
    page.press("input[name=n_readers]", "Enter")
    page.wait_for_selector("#power-answer:has-text('5 readers')")
    assert _violations(page, messages) == []

    page.goto(f"{live_server.url}/p/{project.slug}/members/")
    page.select_option("select.inline-select", "annotator")
    assert page.query_selector(".flash") is None  # nothing changes until it is confirmed
    page.click("form.inline button:has-text('Change role')")
    page.wait_for_selector(".flash")
    assert _violations(page, messages) == []

    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI ran under the policy
    assert _violations(page, messages) == []
