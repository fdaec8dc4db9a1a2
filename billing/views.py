from django.conf import settings
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
    PlanChangeSerializer,
    PlanInfoSerializer,
    PublicKeySerializer,
    SetupSessionSerializer,
)
from centrali.api.pagination import parse_page_params, set_page_headers
from centrali.errors import InvalidInput, NotFound
from centrali.paging import paginate
from workspaces.tenancy import ANY_MEMBER, BILLING_MANAGERS, WorkspaceAPIView

INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")


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
    @extend_schema(responses=PlanInfoSerializer, tags=["Plans"], description="Get current plan information")
    def get(self, request, slug):
        subscription = selectors.live_subscription(workspace=self.workspace)
        scheduled = (
            selectors.get_default_plan().code
            if subscription is not None and subscription.cancel_at_period_end
            else None
        )
        return Response(
            PlanInfoSerializer(
                {
                    "plan": self.workspace.plan,
                    "availablePlans": [plan.code for plan in selectors.available_plans()],
                    "scheduledPlan": scheduled,
                    "subscription": subscription,
                }
            ).data
        )


class PlanChangeView(BillingAPIView):
    allowed_when_suspended = frozenset({"PATCH"})  # moving plans is how a suspended workspace settles its bill

    @extend_schema(
        request=None,
        responses=PlanChangeSerializer,
        parameters=[OpenApiParameter("newPlan", str, OpenApiParameter.PATH, description="New plan ID")],
        tags=["Plans"],
        description="Update workspace plan (by code, or by the plan's uuid)",
    )
    def patch(self, request, slug, newPlan):
        plan = selectors.get_plan_by_ref(newPlan)
        if plan is None or not plan.is_public:
            raise NotFound(f"Plan '{newPlan}' not found.", code="PLAN_NOT_FOUND")
        change = services.change_plan(workspace=self.workspace, plan=plan)
        if change.scheduled_plan is not None:
            message = f"Plan '{change.scheduled_plan.code}' takes effect at the end of the billing period."
        elif change.previous_plan.pk == change.plan.pk:
            message = f"The workspace is already on plan '{change.plan.code}'."
        else:
            message = f"Plan changed from '{change.previous_plan.code}' to '{change.plan.code}'."
        return Response(PlanChangeSerializer({"message": message, "change": change}).data)


class SetupSessionView(BillingAPIView):
    allowed_when_suspended = frozenset({"POST"})  # a new card pays the uncollectible invoice

    @extend_schema(
        request=None,
        responses=SetupSessionSerializer,
        tags=["Billing"],
        description="Create Stripe setup session for adding payment method",
    )
    def post(self, request, slug):
        return Response({"clientSecret": services.create_setup_session(workspace=self.workspace)})


class PaymentMethodListView(BillingAPIView):
    @extend_schema(responses=PaymentMethodListSerializer, tags=["Billing"], description="List payment methods")
    def get(self, request, slug):
        methods, default_id, stale = services.refresh_payment_methods(workspace=self.workspace)
        return Response(
            PaymentMethodListSerializer({"methods": methods, "default_id": default_id, "stale": stale}).data
        )


class DefaultPaymentMethodView(BillingAPIView):
    @extend_schema(responses=DefaultPaymentMethodSerializer, tags=["Billing"], description="Get default payment method")
    def get(self, request, slug):
        customer = selectors.customer_for(workspace=self.workspace)
        default = customer.default_payment_method if customer is not None else None
        return Response(DefaultPaymentMethodSerializer({"payment_method": default}).data)


class SetDefaultPaymentMethodView(BillingAPIView):
    allowed_when_suspended = frozenset({"POST"})

    @extend_schema(
        request=None,
        responses={200: OpenApiResponse(OpenApiTypes.STR)},
        parameters=[OpenApiParameter("pmId", str, OpenApiParameter.PATH)],
        tags=["Billing"],
        description="Set payment method as default",
    )
    def post(self, request, slug, pmId):
        services.set_default_payment_method(workspace=self.workspace, payment_method_id=pmId)
        return Response("Default payment method updated.")


class PaymentMethodDetailView(BillingAPIView):
    allowed_when_suspended = frozenset({"DELETE"})  # e.g. the card that keeps failing

    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.STR)},
        parameters=[OpenApiParameter("pmId", str, OpenApiParameter.PATH, description="Payment method ID")],
        tags=["Billing"],
        description="Delete a payment method",
    )
    def delete(self, request, slug, pmId):
        services.delete_payment_method(workspace=self.workspace, payment_method_id=pmId)
        return Response("Payment method deleted.")


class PublicKeyView(BillingAPIView):
    @extend_schema(responses=PublicKeySerializer, tags=["Billing"], description="Get Stripe public key")
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

    @extend_schema(responses=OverageSerializer, tags=["Billing"], description="Get overage billing settings")
    def get(self, request, slug):
        return Response(OverageSerializer(self._state()).data)

    @extend_schema(
        request=OverageUpdateSerializer,
        responses=OverageUpdatedSerializer,
        tags=["Billing"],
        description="Enable or disable overage billing",
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
            OpenApiParameter("page", int, default=1),
            OpenApiParameter("limit", int, default=20),
            OpenApiParameter("status", str, enum=INVOICE_STATUSES),
        ],
        responses=InvoiceSerializer(many=True),
        tags=["Invoices"],
        description="List all invoices (paging in the X-Total-Count and Link headers)",
    )
    def get(self, request, slug):
        params = parse_page_params(request.query_params)
        status = request.query_params.get("status") or None
        if status is not None and status not in INVOICE_STATUSES:
            raise InvalidInput.for_field("status", f"`status` must be one of: {', '.join(INVOICE_STATUSES)}.")
        invoices, total = paginate(selectors.workspace_invoices(workspace=self.workspace, status=status), params)
        response = Response(InvoiceSerializer(invoices, many=True).data)
        return set_page_headers(response, request, params, total)


class InvoiceDetailView(BillingAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("invoiceId", str, OpenApiParameter.PATH, description="Invoice ID")],
        responses=InvoiceSerializer,
        tags=["Invoices"],
        description="Get a specific invoice",
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

    @extend_schema(request=None, responses={200: None}, tags=["Billing"], description="Stripe webhook receiver")
    def post(self, request):
        event = webhooks.verify(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        applied = webhooks.process(event)
        return Response({"received": True, "duplicate": not applied}, status=http_status.HTTP_200_OK)
