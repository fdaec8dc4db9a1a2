import django_filters
from django.conf import settings
from django.http import QueryDict
from djstripe.models import Invoice
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http_status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import gateway, selectors, services, webhooks
from billing.serializers import (
    DefaultPaymentMethodSerializer,
    InvoiceSerializer,
    OverageSerializer,
    OverageUpdatedSerializer,
    OverageUpdateSerializer,
    PaymentMethodListSerializer,
    PlanChangeRequestSerializer,
    PlanChangeSerializer,
    PlanInfoSerializer,
    PublicKeySerializer,
    SetupSessionSerializer,
)
from centrali.api.filters import FilterSet
from centrali.api.pagination import parse_page_params, set_page_headers
from centrali.api.schema import error_response, limit_parameter, page_parameter, request_example, response_example
from centrali.errors import InvalidInput, NotFound
from workspaces.tenancy import ANY_MEMBER, BILLING_MANAGERS, WorkspaceAPIView

INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")

BILLING_UNAVAILABLE = error_response("BILLING_NOT_CONFIGURED: this deployment has no Stripe keys")
_PLAN = {
    "id": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
    "code": "pro",
    "name": "Pro",
    "description": "For growing teams",
    "price_monthly": 29.0,
    "price_yearly": 290.0,
    "limits": {"records": 1000000, "storage_gb": 100, "function_invocations": 1000000, "api_calls_per_month": 5000000},
}
_SUBSCRIPTION = {
    "id": "sub_1QxYz2AbCdEf",
    "status": "active",
    "cancelAtPeriodEnd": False,
    "currentPeriodStart": "2026-02-01T00:00:00Z",
    "currentPeriodEnd": "2026-03-01T00:00:00Z",
}
_CARD = {
    "id": "pm_1QxYz2AbCdEf",
    "type": "card",
    "brand": "visa",
    "last4": "4242",
    "expMonth": 12,
    "expYear": 2030,
    "isDefault": True,
}
_INVOICE = {
    "id": "in_1QxYz2AbCdEf",
    "workspace_id": "3f1c9a52-7d4e-4b8a-9c1e-2a6b0d5e8f10",
    "number": "ACME-0003",
    "amount": 29.0,
    "amount_paid": 29.0,
    "amount_due": 0.0,
    "currency": "USD",
    "status": "paid",
    "invoice_date": "2026-02-01T00:00:00Z",
    "due_date": None,
    "period_start": "2026-02-01T00:00:00Z",
    "period_end": "2026-03-01T00:00:00Z",
    "pdf_url": "https://pay.stripe.com/invoice/acct_123/test_abc/pdf",
    "hosted_invoice_url": "https://invoice.stripe.com/i/acct_123/test_abc",
}


class InvoiceFilter(FilterSet):
    error_code = "VALIDATION_ERROR"  # what the contract's invoice list has always answered
    status = django_filters.ChoiceFilter(
        choices=[(status, status) for status in INVOICE_STATUSES], field_name="stripe_data__status"
    )

    class Meta:
        model = Invoice
        fields: list[str] = []


class BillingAPIView(WorkspaceAPIView):
    """Billing reads: any member; writes: owner/admin/billing. 503 without Stripe keys.

    A suspended workspace keeps the writes it needs to get back in good standing (cards,
    plan, overage): each such view lists them in `allowed_when_suspended`.
    """

    required_roles = {"GET": ANY_MEMBER, "HEAD": ANY_MEMBER, "OPTIONS": ANY_MEMBER, "*": BILLING_MANAGERS}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        gateway.require_configured()


class PlanView(BillingAPIView):
    @extend_schema(
        summary="The workspace's plan and the plans on offer",
        description=(
            "The current plan with its quota and limits, the subscription (null on the free plan), a downgrade "
            "scheduled for the period end, and the catalogue of plans one can move to. Any member."
        ),
        responses={200: PlanInfoSerializer, 503: BILLING_UNAVAILABLE},
        examples=[
            response_example(
                {
                    "currentPlan": "pro",
                    "availablePlans": ["free", "pro"],
                    "quota": {"storageMB": 102400, "computeExecutions": 1000000, "smartQueries": 10000},
                    "plan": _PLAN,
                    "scheduledPlan": None,
                    "subscription": _SUBSCRIPTION,
                    "interval": "month",
                    "catalogue": [
                        {
                            **_PLAN,
                            "currency": "USD",
                            "quota": {"storageMB": 102400, "computeExecutions": 1000000, "smartQueries": 10000},
                            "features": {"ai": {"enabled": True}, "backups": {"enabled": True}},
                        }
                    ],
                }
            )
        ],
        tags=["Plans"],
    )
    def get(self, request, slug):
        subscription = selectors.live_subscription(workspace=self.workspace)
        catalogue = selectors.available_plans()
        scheduled = (
            selectors.get_default_plan().code
            if subscription is not None and subscription.cancel_at_period_end
            else None
        )
        return Response(
            PlanInfoSerializer(
                {
                    "plan": self.workspace.plan,
                    "availablePlans": [plan.code for plan in catalogue],
                    "scheduledPlan": scheduled,
                    "subscription": subscription,
                    "interval": selectors.subscription_interval(subscription) if subscription is not None else None,
                    "catalogue": catalogue,
                }
            ).data
        )


class PlanChangeView(BillingAPIView):
    allowed_when_suspended = frozenset({"PATCH"})  # moving plans is how a suspended workspace settles its bill

    @extend_schema(
        summary="Change the workspace's plan",
        request=PlanChangeRequestSerializer,
        responses={
            200: PlanChangeSerializer,
            404: error_response("PLAN_NOT_FOUND, or WORKSPACE_NOT_FOUND"),
            503: BILLING_UNAVAILABLE,
        },
        examples=[
            request_example({"interval": "year"}),
            response_example(
                {
                    "message": "Plan changed from 'free' to 'pro'.",
                    "previousPlan": "free",
                    "currentPlan": "pro",
                    "scheduledPlan": None,
                    "effectiveAt": "2026-02-01T10:00:00Z",
                    "plan": _PLAN,
                    "subscription": _SUBSCRIPTION,
                    "interval": "year",
                }
            ),
        ],
        parameters=[OpenApiParameter("newPlan", str, OpenApiParameter.PATH, description="New plan ID")],
        tags=["Plans"],
        description=(
            "Update workspace plan (by code, or by the plan's uuid). The optional `interval` (`month` or "
            "`year`, in the body or as `?interval=`) chooses the plan's monthly or yearly price."
        ),
    )
    def patch(self, request, slug, newPlan):
        plan = selectors.get_plan_by_ref(newPlan)
        if plan is None or not plan.is_public:
            raise NotFound(f"Plan '{newPlan}' not found.", code="PLAN_NOT_FOUND")
        change = services.change_plan(workspace=self.workspace, plan=plan, interval=_requested_interval(request))
        if change.scheduled_plan is not None:
            message = f"Plan '{change.scheduled_plan.code}' takes effect at the end of the billing period."
        elif change.previous_plan.pk == change.plan.pk:
            message = f"The workspace is already on plan '{change.plan.code}'."
        else:
            message = f"Plan changed from '{change.previous_plan.code}' to '{change.plan.code}'."
        return Response(PlanChangeSerializer({"message": message, "change": change}).data)


def _requested_interval(request):
    """PATCH /plan's `interval`, from the body or the query string (None: not given)."""
    body = request.data.dict() if isinstance(request.data, QueryDict) else request.data
    data = dict(body) if isinstance(body, dict) else body
    if isinstance(data, dict) and "interval" in request.query_params:
        query = request.query_params["interval"]
        if data.setdefault("interval", query) != query:
            raise InvalidInput.for_field(
                "interval", "`interval` is given in the body and the query with different values."
            )
    serializer = PlanChangeRequestSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data.get("interval")


class SetupSessionView(BillingAPIView):
    allowed_when_suspended = frozenset({"POST"})  # a new card pays the uncollectible invoice

    @extend_schema(
        summary="Start adding a card",
        description=(
            "Creates a Stripe SetupIntent for the workspace's customer: confirm it in the browser with Stripe.js "
            "(`clientSecret` and the public key); the card is then listed under payment methods."
        ),
        request=None,
        responses={200: SetupSessionSerializer, 503: BILLING_UNAVAILABLE},
        examples=[
            response_example({"clientSecret": "seti_1QxYz2AbCdEf_secret_Gh1jK2", "setupIntentId": "seti_1QxYz2AbCdEf"})
        ],
        tags=["Billing"],
    )
    def post(self, request, slug):
        return Response(SetupSessionSerializer(services.create_setup_session(workspace=self.workspace)).data)


class PaymentMethodListView(BillingAPIView):
    @extend_schema(
        summary="List payment methods",
        description=(
            "The workspace's cards, refreshed from Stripe; `stale` is true when Stripe was unreachable and this is "
            "the last synced copy. Any member."
        ),
        responses={200: PaymentMethodListSerializer, 503: BILLING_UNAVAILABLE},
        examples=[response_example({"data": [_CARD], "defaultPaymentMethodId": _CARD["id"], "stale": False})],
        tags=["Billing"],
    )
    def get(self, request, slug):
        methods, default_id, stale = services.refresh_payment_methods(workspace=self.workspace)
        return Response(
            PaymentMethodListSerializer({"methods": methods, "default_id": default_id, "stale": stale}).data
        )


class DefaultPaymentMethodView(BillingAPIView):
    @extend_schema(
        summary="The default payment method",
        description="The card invoices are charged to, or null. Any member.",
        responses={200: DefaultPaymentMethodSerializer, 503: BILLING_UNAVAILABLE},
        examples=[response_example({"defaultPaymentMethod": _CARD})],
        tags=["Billing"],
    )
    def get(self, request, slug):
        customer = selectors.customer_for(workspace=self.workspace)
        default = customer.default_payment_method if customer is not None else None
        return Response(DefaultPaymentMethodSerializer({"payment_method": default}).data)


class SetDefaultPaymentMethodView(BillingAPIView):
    allowed_when_suspended = frozenset({"POST"})

    @extend_schema(
        summary="Make a card the default",
        description="Invoices are charged to this card from now on.",
        request=None,
        responses={
            200: OpenApiResponse(OpenApiTypes.STR),
            404: error_response("PAYMENT_METHOD_NOT_FOUND, or WORKSPACE_NOT_FOUND"),
            503: BILLING_UNAVAILABLE,
        },
        examples=[response_example("Default payment method updated.")],
        parameters=[OpenApiParameter("pmId", str, OpenApiParameter.PATH)],
        tags=["Billing"],
    )
    def post(self, request, slug, pmId):
        services.set_default_payment_method(workspace=self.workspace, payment_method_id=pmId)
        return Response("Default payment method updated.")


class PaymentMethodDetailView(BillingAPIView):
    allowed_when_suspended = frozenset({"DELETE"})  # e.g. the card that keeps failing

    @extend_schema(
        summary="Remove a card",
        description="Detaches the card from the workspace's customer.",
        responses={
            200: OpenApiResponse(OpenApiTypes.STR),
            404: error_response("PAYMENT_METHOD_NOT_FOUND, or WORKSPACE_NOT_FOUND"),
            503: BILLING_UNAVAILABLE,
        },
        examples=[response_example("Payment method deleted.")],
        parameters=[OpenApiParameter("pmId", str, OpenApiParameter.PATH, description="Payment method ID")],
        tags=["Billing"],
    )
    def delete(self, request, slug, pmId):
        services.delete_payment_method(workspace=self.workspace, payment_method_id=pmId)
        return Response("Payment method deleted.")


class PublicKeyView(BillingAPIView):
    @extend_schema(
        summary="Stripe publishable key",
        description="The key Stripe.js needs to confirm a setup session in the browser. Any member.",
        responses={200: PublicKeySerializer, 503: BILLING_UNAVAILABLE},
        examples=[response_example({"publicKey": "pk_test_51QxYz2AbCdEf"})],
        tags=["Billing"],
    )
    def get(self, request, slug):
        return Response({"publicKey": settings.STRIPE_PUBLISHABLE_KEY})


class OverageView(BillingAPIView):
    allowed_when_suspended = frozenset({"PATCH"})  # turning overage off stops further charges

    def _state(self):
        workspace = self.workspace
        return {
            "settings": selectors.get_overage_settings(workspace=workspace),
            "has_default_payment_method": selectors.has_default_payment_method(workspace=workspace),
            "rates": workspace.plan.overage_rates,
        }

    @extend_schema(
        summary="Overage billing settings",
        description=(
            "Whether usage past the plan's limits is billed (instead of refused), the spending cap in cents, "
            "whether a default card allows enabling it, and the plan's overage rates. Any member."
        ),
        responses={200: OverageSerializer, 503: BILLING_UNAVAILABLE},
        examples=[
            response_example(
                {
                    "overageEnabled": True,
                    "overageSpendingCapCents": 5000,
                    "overageEnabledAt": "2026-02-01T10:00:00Z",
                    "hasDefaultPaymentMethod": True,
                    "overageRates": {
                        "executions": 0.0001,
                        "cpuSeconds": 0.00002,
                        "memoryGbSeconds": 0.000005,
                        "storagePerGb": 0.1,
                        "blobStoragePerGb": 0.05,
                    },
                }
            )
        ],
        tags=["Billing"],
    )
    def get(self, request, slug):
        return Response(OverageSerializer(self._state()).data)

    @extend_schema(
        summary="Enable or disable overage billing",
        description=(
            "Turns billing of usage past the plan's limits on or off, with an optional cap in cents (null: no cap). "
            "Enabling needs a default card."
        ),
        request=OverageUpdateSerializer,
        responses={200: OverageUpdatedSerializer, 503: BILLING_UNAVAILABLE},
        examples=[
            request_example({"overageEnabled": True, "overageSpendingCapCents": 5000}),
            response_example(
                {"overageEnabled": True, "overageSpendingCapCents": 5000, "overageEnabledAt": "2026-02-01T10:00:00Z"}
            ),
        ],
        tags=["Billing"],
    )
    def patch(self, request, slug):
        serializer = OverageUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cap = data.get("overageSpendingCapCents", services.UNSET)
        updated = services.update_overage(
            workspace=self.workspace, enabled=data["overageEnabled"], spending_cap_cents=cap
        )
        return Response(OverageUpdatedSerializer(updated).data)


class InvoiceListView(BillingAPIView):
    @extend_schema(
        parameters=[
            page_parameter(),
            limit_parameter(default=20),
            OpenApiParameter("status", str, enum=INVOICE_STATUSES),
        ],
        summary="List invoices",
        description=(
            "The workspace's invoices, newest first, optionally of one `status`; paging is in the X-Total-Count "
            "and Link headers. Any member."
        ),
        responses={
            200: InvoiceSerializer(many=True),
            400: error_response("VALIDATION_ERROR: an unknown status; INVALID_PAGINATION: bad paging"),
            503: BILLING_UNAVAILABLE,
        },
        examples=[response_example(_INVOICE)],
        tags=["Invoices"],
    )
    def get(self, request, slug):
        params = parse_page_params(request.query_params)
        invoices, total = InvoiceFilter.page(
            request.query_params,
            params,
            rows=lambda: selectors.workspace_invoices(workspace=self.workspace),
            first_page=lambda limit: selectors.first_invoices_page(workspace=self.workspace, limit=limit),
        )
        response = Response(InvoiceSerializer(invoices, many=True).data)
        return set_page_headers(response, request, params, total)


class InvoiceDetailView(BillingAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("invoiceId", str, OpenApiParameter.PATH, description="Invoice ID")],
        summary="Get an invoice",
        description="One of the workspace's invoices, by its Stripe id. Any member.",
        responses={
            200: InvoiceSerializer,
            404: error_response("INVOICE_NOT_FOUND, or WORKSPACE_NOT_FOUND"),
            503: BILLING_UNAVAILABLE,
        },
        examples=[response_example(_INVOICE)],
        tags=["Invoices"],
    )
    def get(self, request, slug, invoiceId):
        invoice = selectors.get_workspace_invoice(workspace=self.workspace, invoice_id=invoiceId)
        if invoice is None:
            raise NotFound(f"Invoice '{invoiceId}' not found.", code="INVOICE_NOT_FOUND")
        return Response(InvoiceSerializer(invoice).data)


class StripeWebhookView(APIView):
    """POST /webhooks/stripe: Stripe's signed events (no bearer token; the signature is the auth)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        summary="Stripe webhook receiver",
        description=(
            "Stripe's signed events (subscriptions, invoices, payment methods). The `Stripe-Signature` header is "
            "the credential. The event is recorded and acknowledged at once, then applied by a worker; an event "
            "already recorded answers `duplicate: true`."
        ),
        request=None,
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                {"type": "string", "minLength": 1, "maxLength": 4096},
                OpenApiParameter.HEADER,
                required=True,
                description="Stripe's signature of the payload (`t=<timestamp>,v1=<HMAC-SHA256>`); without it, 400",
            )
        ],
        responses={
            200: OpenApiResponse(
                {
                    "type": "object",
                    "properties": {"received": {"type": "boolean"}, "duplicate": {"type": "boolean"}},
                },
                description="The event was received",
            ),
            400: error_response("INVALID_SIGNATURE or MALFORMED_REQUEST: not a Stripe-signed event"),
        },
        examples=[response_example({"received": True, "duplicate": False})],
        tags=["Billing"],
    )
    def post(self, request):
        event = webhooks.verify(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        known = webhooks.receive(event)
        return Response({"received": True, "duplicate": known}, status=http_status.HTTP_200_OK)
