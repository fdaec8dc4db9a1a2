"""The Link header of a bare-array page (RFC 8288): absolute URLs of the next, previous, first and last
pages, keeping the request's other query parameters."""

from django.test import RequestFactory
from rest_framework.response import Response

from centrali.api.pagination import set_page_headers
from centrali.paging import PageParams


def _headers(query, *, page, limit, total):
    request = RequestFactory().get("/workspace/api/v1/acme/invoices", query, HTTP_HOST="testserver")
    return set_page_headers(Response([]), request, PageParams(page=page, limit=limit), total)


def test_a_middle_page_links_to_its_neighbours_and_both_ends():
    response = _headers({"status": "paid", "page": "2", "limit": "10"}, page=2, limit=10, total=45)

    base = "http://testserver/workspace/api/v1/acme/invoices?status=paid"
    assert response["Link"] == (
        f'<{base}&page=3&limit=10>; rel="next", <{base}&page=1&limit=10>; rel="prev", '
        f'<{base}&page=1&limit=10>; rel="first", <{base}&page=5&limit=10>; rel="last"'
    )
    assert response["X-Total-Count"] == "45"


def test_the_first_page_without_parameters_names_page_and_limit_in_that_order():
    response = _headers({}, page=1, limit=20, total=24)

    base = "http://testserver/workspace/api/v1/acme/invoices"
    assert response["Link"] == (
        f'<{base}?page=2&limit=20>; rel="next", <{base}?page=1&limit=20>; rel="first", '
        f'<{base}?page=2&limit=20>; rel="last"'
    )
