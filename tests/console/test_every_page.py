"""Every admin page of every registered model, for a superuser and for each staff group, against a
realistic back office: the changelist, a search, each filter choice, the change page of a row and the
add page where allowed, plus the console's own pages. None may answer 5xx."""

import re
from html import unescape

import pytest
from django.contrib import admin
from django.urls import reverse

from billing.models import WorkspaceBilling
from support.models import SupportIssue
from workspaces.models import ExportJob, Workspace

pytestmark = pytest.mark.django_db

FILTER_LINK = re.compile(r'<a href="(\?[^"]*)"')


def _filter_links(html):
    """The filter choices of a changelist page (the links of its filter sidebar)."""
    if 'id="changelist-filter"' not in html:
        return []
    sidebar = html.split('id="changelist-filter"', 1)[1].split("</nav>", 1)[0]
    return sorted({unescape(link) for link in FILTER_LINK.findall(sidebar)})


def _admin_pages(client):
    """(url, status) of every page reached; each model's changelist, search, filters, change and add pages."""
    seen = []

    def get(url):
        response = client.get(url)
        seen.append((url, response.status_code))
        return response

    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = get(changelist)
        if response.status_code != 200:
            continue
        html = response.content.decode()
        if model_admin.search_fields:
            get(f"{changelist}?q=acme")
        for link in _filter_links(html):
            get(changelist + link)
        obj = model_admin.get_queryset(response.wsgi_request).first()
        if obj is not None:
            get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        if model_admin.has_add_permission(response.wsgi_request):
            get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    return seen


def _console_pages(client, back_office):
    customer = back_office["customer"]
    pages = [reverse("admin:index"), reverse("admin:billing_invoices")]
    pages += [
        f"{reverse('admin:billing_invoices')}?status={status}"
        for status in ("open", "paid", "past_due", "uncollectible")
    ]
    pages += [f"{reverse('admin:billing_invoices')}?workspace=acme"]
    pages += [
        reverse("admin:billing_invoice", args=[invoice.djstripe_id])
        for invoice in customer.djstripe_customers.get().invoices.all()
    ]
    pages += [
        reverse("admin:workspaces_workspace_change", args=[workspace.pk]) for workspace in Workspace.objects.all()
    ]
    pages += [reverse("admin:billing_workspacebilling_change", args=[w.pk]) for w in WorkspaceBilling.objects.all()]
    pages += [reverse("admin:support_supportissue_change", args=[issue.pk]) for issue in SupportIssue.objects.all()]
    for action in ("suspend", "unsuspend", "extend-grace"):
        pages += [reverse("admin:workspaces_workspace_staff_action", args=[back_office["leaving"].pk, action])]
    pages += [
        reverse("admin:workspaces_workspace_staff_action", args=[customer.pk, "retry-provisioning"])
        + "?target=compute",
        reverse("admin:workspaces_workspace_staff_action", args=[customer.pk, "rerun-export"])
        + f"?target={ExportJob.objects.get(status='failed').pk}",
    ]
    return [(url, client.get(url).status_code) for url in pages]


@pytest.mark.parametrize("who", ["superuser", "support_agent", "billing_agent"])
def test_no_admin_page_answers_5xx(request, back_office, admin_client_for, who):
    client = admin_client_for(request.getfixturevalue(who))
    client.raise_request_exception = False  # collect every failing page, not the first

    pages = _admin_pages(client) + _console_pages(client, back_office)

    failures = [(url, status) for url, status in pages if status >= 500]
    assert not failures, "\n".join(url for url, _ in failures)
    assert len(pages) > 50
    if who == "superuser":
        # dj-stripe's invoice pages, which answered 500 on a lean invoice (KeyError 'paid' and 'footer')
        invoice = back_office["invoice"]
        assert (reverse("admin:djstripe_invoice_changelist"), 200) in pages
        assert client.get(reverse("admin:djstripe_invoice_change", args=[invoice.djstripe_id])).status_code == 200
    else:
        reached = {url for url, status in pages if status == 200}
        assert not any(url.startswith("/admin/djstripe/") for url in reached)
        assert reverse("admin:index") in reached
