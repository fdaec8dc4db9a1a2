"""A local Stripe: the `localstripe` package, run in-process on loopback, with its gaps filled.

Used by the test suite (tests/billing/conftest.py) and by `make run` (`python -m
devtools.stripe_sandbox --port 8420`). localstripe is a development dependency; nothing
in production imports this module.

Each shim below reproduces one behaviour of real Stripe that localstripe 1.15.10 lacks
and that dj-stripe 2.11 or this service relies on:

- state stays in memory (or in this instance's own --state-file): localstripe pickles its
  whole store to a fixed file in the system temp folder on every write, so two instances
  clobber each other;
- it binds 127.0.0.1 only (localstripe binds every interface);
- `GET /v1/account`: dj-stripe reads the account before syncing objects;
- Prices (`/v1/prices`): stored as localstripe Plans (real Stripe accepts a plan id
  wherever a price id goes) and answered in the Price shape;
- `GET /v1/customers/{id}/payment_methods`, and `GET /v1/products/{id}/features` (no
  entitlements: an empty list);
- subscriptions: `items[].price` accepted on create/update, `proration_behavior` and
  `payment_behavior` accepted (`error_if_incomplete` answers 402 when the first payment
  fails), `metadata` applied on update, items carry `price` and `subscription`, and
  `default_tax_rates` is a list (dj-stripe syncs all of these);
- invoices: `expand[]=discounts` is accepted and `discounts` is a list; `hosted_invoice_url`
  and `invoice_pdf` are set once finalized;
- confirming a SetupIntent attaches its payment method to the SetupIntent's customer;
- the events localstripe never sends: `setup_intent.succeeded`, `payment_method.attached`,
  `payment_method.detached`, `invoice.paid`;
- `Idempotency-Key`: a POST repeated with the same key gets the first answer again, and
  the key reused with other parameters is refused (400 idempotency_error), as Stripe does.

For tests, `on_request()` reproduces what cannot be caused from outside: Stripe being
slow after it applied a change (a client-side timeout), answering a chosen error or
body, or running a callback while a request is in flight.
"""

import argparse
import asyncio
import json
import logging
import os
import pickle
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localstripe import resources as ls
from localstripe import server as ls_server
from localstripe.errors import UserError
from localstripe.webhooks import schedule_webhook

if TYPE_CHECKING:
    from aiohttp import web

_installed = False


def _price_of(plan):
    """A localstripe Plan in the shape of a Stripe Price."""
    return {
        "id": plan.id,
        "object": "price",
        "active": plan.active,
        "billing_scheme": plan.billing_scheme,
        "created": plan.created,
        "currency": plan.currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": (plan.metadata or {}).get("lookup_key"),
        "metadata": plan.metadata or {},
        "nickname": plan.nickname,
        "product": plan.product,
        "recurring": {
            "aggregate_usage": None,
            "interval": plan.interval,
            "interval_count": plan.interval_count,
            "trial_period_days": plan.trial_period_days,
            "usage_type": plan.usage_type,
        },
        "tax_behavior": "unspecified",
        "tiers_mode": plan.tiers_mode,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": plan.amount,
        "unit_amount_decimal": str(plan.amount),
    }


class _Exported:
    """Wraps a ready dict so localstripe's route helpers can `_export()` it."""

    def __init__(self, data):
        self.data = data

    def _export(self, expand=None):
        return self.data


def _price_create(
    product=None,
    unit_amount=None,
    currency=None,
    recurring=None,
    nickname=None,
    metadata=None,
    lookup_key=None,
    active=True,
    **kwargs,
):
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs))
    if not isinstance(recurring, dict) or "interval" not in recurring:
        raise UserError(400, "Only recurring prices are supported")
    metadata = dict(metadata or {})
    if lookup_key:
        metadata["lookup_key"] = lookup_key
    plan = ls.Plan(
        id="price_" + ls.random_id(14),
        product=product,
        amount=unit_amount,
        currency=currency,
        interval=recurring["interval"],
        interval_count=ls.try_convert_to_int(recurring.get("interval_count", 1)),
        nickname=nickname,
        metadata=metadata,
        active=ls.try_convert_to_bool(active),
    )
    return _Exported(_price_of(plan))


def _price_retrieve(id, **kwargs):
    return _Exported(_price_of(ls.Plan._api_retrieve(id)))


def _price_update(id, active=None, metadata=None, nickname=None, **kwargs):
    if kwargs:
        raise UserError(400, "Prices are immutable except active, metadata and nickname")
    plan = ls.Plan._api_retrieve(id)
    if active is not None:
        plan.active = ls.try_convert_to_bool(active)
    if metadata:
        plan.metadata = {**(plan.metadata or {}), **metadata}
    if nickname is not None:
        plan.nickname = nickname
    return _Exported(_price_of(plan))


def _price_list(product=None, active=None, limit=None, starting_after=None, **kwargs):
    plans = [v for k, v in ls.store.items() if k.startswith("plan:")]
    if product:
        plans = [p for p in plans if p.product == product]
    if active is not None:
        plans = [p for p in plans if p.active == ls.try_convert_to_bool(active)]
    data = [_price_of(p) for p in sorted(plans, key=lambda p: p.created)]
    return _Exported({"object": "list", "url": "/v1/prices", "has_more": False, "data": data})


def _account(**kwargs):
    return _Exported(
        {
            "id": "acct_localstripe0000000",
            "object": "account",
            "business_type": "company",
            "charges_enabled": True,
            "country": "US",
            "default_currency": "usd",
            "details_submitted": True,
            "email": "billing@localstripe.test",
            "payouts_enabled": True,
            "type": "standard",
            "settings": {
                "dashboard": {"display_name": "Centrali (local sandbox)", "timezone": "Etc/UTC"},
                "branding": {"icon": None, "logo": None, "primary_color": None, "secondary_color": None},
            },
            "business_profile": {
                "name": "Centrali (local sandbox)",
                "support_email": None,
                "support_phone": None,
                "support_url": None,
                "url": None,
                "mcc": None,
                "product_description": None,
            },
            "capabilities": {},
            "metadata": {},
            "created": 1700000000,
        }
    )


def _customer_payment_methods(id, type=None, limit=None, starting_after=None, **kwargs):
    ls.Customer._api_retrieve(id)
    methods = [v for k, v in ls.store.items() if k.startswith("payment_method:") and v.customer == id]
    if type:
        methods = [pm for pm in methods if pm.type == type]
    data = [pm._export() for pm in sorted(methods, key=lambda pm: pm.created)]
    return _Exported({"object": "list", "url": f"/v1/customers/{id}/payment_methods", "has_more": False, "data": data})


def _product_features(id, **kwargs):
    ls.Product._api_retrieve(id)
    return _Exported({"object": "list", "url": f"/v1/products/{id}/features", "has_more": False, "data": []})


def _translate_items(data):
    for item in data.get("items") or []:
        if "price" in item:
            item["plan"] = item.pop("price")
    return data


_state_file = None  # set by main() for `make run`; tests keep state in memory only


def _dump_store(store):
    if _state_file is None:
        return
    temporary = f"{_state_file}.tmp"
    with open(temporary, "wb") as f:
        pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, _state_file)


def _load_store(path):
    try:
        with open(path, "rb") as f:
            ls.store.update(pickle.load(f))  # noqa: S301 -- the sandbox's own state file under var/
    except FileNotFoundError:
        pass


def _patch_classes():
    # No shared pickle in the system temp folder: memory only, or this instance's own file.
    ls.Store.dump_to_disk = _dump_store

    sub_init = ls.Subscription.__init__

    def subscription_init(self, **data):
        data.pop("proration_behavior", None)
        error_if_incomplete = data.get("payment_behavior") == "error_if_incomplete"
        sub_init(self, **_translate_items(data))
        if self.default_tax_rates is None:
            self.default_tax_rates = []
        if error_if_incomplete and self.status == "incomplete":
            # Stripe creates nothing and answers 402 when the first payment fails.
            del ls.store[f"{self.object}:{self.id}"]
            raise UserError(402, "Your card was declined.", {"code": "card_declined"})

    ls.Subscription.__init__ = subscription_init

    sub_update = ls.Subscription._update

    def subscription_update(self, **data):
        data.pop("payment_behavior", None)
        behavior = data.pop("proration_behavior", None)
        if behavior is not None:
            data["prorate"] = behavior != "none"
        metadata = data.pop("metadata", None) or {}
        sub_update(self, **_translate_items(data))
        if metadata:  # localstripe ignores it; Stripe merges it and an empty value removes the key
            self.metadata = {**(self.metadata or {}), **metadata}
            self.metadata = {key: value for key, value in self.metadata.items() if value != ""}
        if self.default_tax_rates is None:
            self.default_tax_rates = []
        schedule_webhook(ls.Event("customer.subscription.updated", self))

    ls.Subscription._update = subscription_update

    item_export = ls.SubscriptionItem._export

    def subscription_item_export(self, expand=None):
        data = item_export(self, expand=expand)
        data["price"] = _price_of(self.plan)
        data["subscription"] = self._subscription
        return data

    ls.SubscriptionItem._export = subscription_item_export

    invoice_export = ls.Invoice._export

    def invoice_export_with_discounts(self, expand=None):
        expand = [path for path in (expand or []) if "discounts" not in path.split(".")]
        data = invoice_export(self, expand=expand)
        data.setdefault("discounts", [])
        if data.get("default_tax_rates") is None:
            data["default_tax_rates"] = []
        if data.get("id") and data.get("status") != "draft":
            data["hosted_invoice_url"] = f"https://invoice.localstripe.test/{data['id']}"
            data["invoice_pdf"] = f"https://invoice.localstripe.test/{data['id']}/pdf"
        else:
            data.setdefault("hosted_invoice_url", None)
            data.setdefault("invoice_pdf", None)
        return data

    ls.Invoice._export = invoice_export_with_discounts

    on_paid = ls.Invoice._on_payment_success

    def invoice_paid(self):
        on_paid(self)
        schedule_webhook(ls.Event("invoice.paid", self))

    ls.Invoice._on_payment_success = invoice_paid

    attach_pm = ls.SetupIntent._attach_pm

    def setup_intent_attach(self, pm):
        attach_pm(self, pm)
        if self.status == "succeeded":
            if self.customer:
                ls.PaymentMethod._api_attach(pm.id, customer=self.customer)
            schedule_webhook(ls.Event("setup_intent.succeeded", self))

    ls.SetupIntent._attach_pm = setup_intent_attach

    pm_attach = ls.PaymentMethod._api_attach.__func__
    pm_detach = ls.PaymentMethod._api_detach.__func__

    def payment_method_attach(cls, id, customer=None, **kwargs):
        obj = pm_attach(cls, id, customer=customer, **kwargs)
        schedule_webhook(ls.Event("payment_method.attached", obj))
        return obj

    def payment_method_detach(cls, id, **kwargs):
        obj = pm_detach(cls, id, **kwargs)
        schedule_webhook(ls.Event("payment_method.detached", obj))
        return obj

    ls.PaymentMethod._api_attach = classmethod(payment_method_attach)
    ls.PaymentMethod._api_detach = classmethod(payment_method_detach)


def _add_routes(app):
    extra = [
        ("GET", "/v1/account", _account),
        ("POST", "/v1/prices", _price_create),
        ("GET", "/v1/prices", _price_list),
        ("GET", "/v1/prices/{id}", _price_retrieve),
        ("POST", "/v1/prices/{id}", _price_update),
        ("GET", "/v1/customers/{id}/payment_methods", _customer_payment_methods),
        ("GET", "/v1/products/{id}/features", _product_features),
    ]
    for method, url, func in extra:
        app.router.add_route(method, url, ls_server.api_extra(func, url))
    # The extra attach/detach routes were bound to the unpatched functions at import.
    for resource in list(app.router.resources()):
        info = resource.get_info()
        if info.get("formatter") in ("/v1/payment_methods/{id}/attach", "/v1/payment_methods/{id}/detach"):
            for route in resource:
                func = (
                    ls.PaymentMethod._api_attach
                    if info["formatter"].endswith("attach")
                    else ls.PaymentMethod._api_detach
                )
                route._handler = ls_server.api_extra(func, info["formatter"])


# --- Idempotency-Key (real Stripe keeps a key's first answer for 24 hours)

# (secret key, idempotency key) -> (request body, status, answer body)
_idempotent_answers: dict[tuple[str, str], tuple[bytes, int, Any]] = {}


def _idempotency_middleware():
    from aiohttp import web

    @web.middleware
    async def idempotency(request, handler):
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        slot = (request.headers.get("Authorization", ""), key)
        body = await request.read()
        if slot in _idempotent_answers:
            first_body, status, answer = _idempotent_answers[slot]
            if first_body != body:
                error = {
                    "error": {
                        "type": "idempotency_error",
                        "message": (
                            "Keys for idempotent requests can only be used with the same parameters they were first used with."
                        ),
                    }
                }
                return web.json_response(error, status=400)
            return web.Response(body=answer, status=status, content_type="application/json")
        response = await handler(request)
        if response.status < 500:
            _idempotent_answers[slot] = (body, response.status, response.body)
        return response

    return idempotency


# --- test hooks


@dataclass
class RequestHook:
    """What the sandbox does around a matching request (tests only).

    before: a callable run in a worker thread (it may use the database) before Stripe
    handles the request; answer: (status, body) sent instead of Stripe's answer;
    delay: seconds to hold Stripe's answer after the change was applied.
    """

    method: str
    path: str  # a regular expression matched against the whole path
    before: Callable[[], object] | None = None
    answer: tuple[int, Any] | None = None
    delay: float = 0.0
    times: int | None = None  # None: every matching request

    def matches(self, request):
        return (
            (self.times is None or self.times > 0)
            and request.method == self.method
            and re.fullmatch(self.path, request.path)
        )


_hooks = []


def on_request(method, path, *, before=None, answer=None, delay=0.0, times=None):
    hook = RequestHook(method, path, before=before, answer=answer, delay=delay, times=times)
    _hooks.append(hook)
    return hook


def _hooks_middleware():
    from aiohttp import web

    @web.middleware
    async def hooks(request, handler):
        hook = next((hook for hook in _hooks if hook.matches(request)), None)
        if hook is None:
            return await handler(request)
        if hook.times is not None:
            hook.times -= 1
        if hook.before is not None:
            await asyncio.get_running_loop().run_in_executor(None, hook.before)
        if hook.answer is not None:
            status, body = hook.answer
            return web.Response(text=json.dumps(body), status=status, content_type="application/json")
        response = await handler(request)
        if hook.delay:
            await asyncio.sleep(hook.delay)
        return response

    return hooks


def install():
    """Apply the shims to the localstripe app (once per process)."""
    global _installed
    if not _installed:
        _patch_classes()
        _add_routes(ls_server.app)
        ls_server.app.middlewares.insert(0, _idempotency_middleware())
        ls_server.app.middlewares.insert(0, _hooks_middleware())
        _installed = True
    return ls_server.app


def reset():
    """Forget every object, idempotency key and test hook (between tests)."""
    ls.store.clear()
    _idempotent_answers.clear()
    _hooks.clear()


class SandboxServer:
    """localstripe on 127.0.0.1 in a background thread with its own event loop."""

    def __init__(self, port=0):
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        from aiohttp import web

        app = install()

        async def serve():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            self.port = sock.getsockname()[1]
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await web.SockSite(self._runner, sock).start()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(serve())
            except Exception as exc:  # reported to the starting thread
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="localstripe", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self):
        if self._loop is None or self._runner is None or self._thread is None:
            return  # never started, or start() raised
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


LOCAL_PORT = 8420
# The keys `make run` uses with the sandbox; they only open the local sandbox, and match
# the format dj-stripe insists on.
LOCAL_ENV = {
    "STRIPE_SECRET_KEY": "sk_test_localSandboxSecretKey000000",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_localSandboxPublicKey000000",
    "STRIPE_WEBHOOK_SECRET": "whsec_localSandboxWebhookSecret",
    "STRIPE_API_BASE": f"http://127.0.0.1:{LOCAL_PORT}",
}


def wait_until_listening(port, *, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def main(argv=None):
    from aiohttp import web

    global _state_file
    parser = argparse.ArgumentParser(description="Local Stripe sandbox (localstripe + shims) on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=LOCAL_PORT)
    parser.add_argument("--state-file", default="", help="Keep the sandbox's objects across restarts in this file.")
    parser.add_argument("--webhook-url", default="", help="Deliver events here, signed with --webhook-secret.")
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO)
    app = install()
    if args.state_file:
        _load_store(args.state_file)
        _state_file = args.state_file
    if args.webhook_url and args.webhook_secret:
        from localstripe.webhooks import register_webhook

        register_webhook("local", args.webhook_url, args.webhook_secret, None)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=logging.getLogger("aiohttp.access"))


if __name__ == "__main__":
    main()
