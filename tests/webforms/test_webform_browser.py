"""A visitor on the firm's own site (another origin) fills in the embedded form in a real
Chromium; the message reaches the support queue. A site the form does not name cannot show it."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from interactions.models import Interaction
from tests.browser import shot, sign_in
from tests.factories import CustomerFactory
from webforms.embed import embed_snippet
from webforms.models import ContactForm

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRM_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Example Roastery · Contact</title>
<style>
 body {{ margin:0; font:16px/1.5 Georgia,serif; background:#f3ede4; color:#2b2118; }}
 header {{ background:#2b2118; color:#f3ede4; padding:18px 40px; font-size:1.4rem; }}
 main {{ display:grid; grid-template-columns:1fr 1fr; gap:40px; padding:32px 40px; }}
</style></head><body>
<header>Example Roastery</header>
<main><section><h1>Talk to us</h1><p>Wholesale, subscriptions, a grinder that makes odd
noises: write to us and a person answers, usually the same day.</p></section>
<section>{snippet}</section></main></body></html>"""


@pytest.fixture
def firm_site():
    """The firm's website: a tiny server on another port, serving a page with the snippet."""
    page = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    servers = []

    def start(snippet: str) -> str:
        page["html"] = FIRM_PAGE.format(snippet=snippet)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_visitor_sends_the_embedded_form_from_the_firms_site(
    page, live_server, firm_site, charlie
):
    form = ContactForm.objects.create(
        name="Contact us", slug="contact", intro="We answer within a day."
    )
    site = firm_site(embed_snippet(page_url=f"{live_server.url}/forms/contact/", title=form.name))
    form.allowed_origins = site
    form.save()

    page.goto(site + "/")
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Contact us")).to_be_visible()
    frame.get_by_label("Your name").fill("Greta Lind")
    frame.get_by_label("Email").fill("Greta@Example.org")
    frame.get_by_label("Phone (optional)").fill("+46 8 123 45 67")
    frame.get_by_label("Message").fill("Do you deliver to Malmö?\nWe are a café of 40 seats.")
    shot(page, "webform-embedded")
    time.sleep(3.2)  # a person takes longer than the form's three seconds
    frame.get_by_role("button", name="Send").click()
    expect(frame.get_by_role("status")).to_contain_text("we received your message")
    shot(page, "webform-embedded-sent")

    prospect = Customer.objects.get(email="greta@example.org")
    assert prospect.needs_triage and prospect.phone == "+46 8 123 45 67"
    inquiry = Interaction.objects.get(customer=prospect)
    assert inquiry.subject == "Contact us: Do you deliver to Malmö?"

    # Support finds it in the queue.
    page.goto(live_server.url)
    sign_in(page, "charlie")
    page.goto(live_server.url + "/interactions/queue/")
    expect(page.locator(".queue-item").first).to_contain_text("Contact us: Do you deliver")

    # ...and the new sender to check, from the badge in the navigation.
    known = CustomerFactory(name="Greta Lind", email="g.lind@roastery-friends.example")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New senders").click()
    expect(page.get_by_role("heading", name="New senders to check")).to_be_visible()
    item = page.locator(".triage-item").first
    expect(item).to_contain_text("greta@example.org")
    expect(item).to_contain_text("We are a café of 40 seats.")
    expect(item).to_contain_text("Maybe the same person as: Greta Lind")
    shot(page, "triage-new-senders")

    # It is the Greta we know, writing from another address: support records it on her.
    item.get_by_role("link", name="Greta Lind").last.click()
    page.get_by_text("Add an address they write from").click()
    page.get_by_label("Another email address").fill("Greta@Example.org")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("greta@example.org added")).to_be_visible()
    assert list(known.other_emails.values_list("address", flat=True)) == ["greta@example.org"]
    shot(page, "customer-other-addresses")

    page.goto(live_server.url + "/workspace/new-senders/")
    page.get_by_role("button", name="Checked: Greta Lind").click()
    expect(page.get_by_text("Nobody new to check.")).to_be_visible()
    expect(page.locator("nav .badge")).to_have_count(0)


def test_a_too_quick_robot_is_asked_to_send_again_inside_the_frame(page, live_server, firm_site):
    form = ContactForm.objects.create(name="Contact us", slug="contact")
    site = firm_site(embed_snippet(page_url=f"{live_server.url}/forms/contact/", title=form.name))
    form.allowed_origins = site
    form.save()

    page.goto(site + "/")
    frame = page.frame_locator("iframe")
    frame.get_by_label("Your name").fill("Bot")
    frame.get_by_label("Email").fill("bot@example.org")
    frame.get_by_label("Message").fill("Buy now")
    frame.get_by_role("button", name="Send").click()

    expect(frame.get_by_role("alert")).to_contain_text("send it again")
    expect(frame.get_by_label("Message")).to_have_value("Buy now")
    shot(page, "webform-embedded-too-fast")
    assert not Interaction.objects.exists()


def test_a_site_the_form_does_not_name_cannot_show_it(page, live_server, firm_site):
    ContactForm.objects.create(
        name="Contact us", slug="contact", allowed_origins="https://www.example-roastery.com"
    )
    site = firm_site(embed_snippet(page_url=f"{live_server.url}/forms/contact/", title="x"))
    blocked = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)

    page.goto(site + "/")
    page.wait_for_load_state("networkidle")

    assert page.frame_locator("iframe").get_by_role("button", name="Send").count() == 0
    assert blocked, "Chromium reports the frame-ancestors refusal"


def test_the_admin_copies_the_snippet_and_previews_the_form(page, live_server, ada):
    form = ContactForm.objects.create(
        name="Contact us", slug="contact", allowed_origins="https://www.example-roastery.com"
    )
    problems = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    sign_in(page, "ada")

    page.goto(f"/admin/webforms/contactform/{form.pk}/change/")
    snippet = page.get_by_label("Snippet to paste into a page of your site:")
    expect(snippet).to_have_value(
        f'<iframe src="{live_server.url}/forms/contact/" title="Contact us" loading="lazy" '
        'style="border:0;width:100%;max-width:600px;height:700px"></iframe>'
    )
    page.get_by_role("button", name="Copy the snippet").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    preview = page.frame_locator("iframe.webform-preview")
    expect(preview.get_by_role("button", name="Send")).to_be_visible()
    page.locator("iframe.webform-preview").scroll_into_view_if_needed()
    shot(page, "webform-admin")
    assert problems == []
