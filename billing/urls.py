from django.urls import path

from billing import views

urlpatterns = [
    path("webhooks/stripe", views.StripeWebhookView.as_view(), name="stripe-webhook"),
    path("<slug:slug>/plan", views.PlanView.as_view(), name="billing-plan"),
    path("<slug:slug>/plan/<str:newPlan>", views.PlanChangeView.as_view(), name="billing-plan-change"),
    path("<slug:slug>/create-setup-session", views.SetupSessionView.as_view(), name="billing-setup-session"),
    path("<slug:slug>/payment-methods", views.PaymentMethodListView.as_view(), name="billing-payment-methods"),
    path(
        "<slug:slug>/payment-methods/default",
        views.DefaultPaymentMethodView.as_view(),
        name="billing-payment-method-default",
    ),
    path(
        "<slug:slug>/payment-methods/<str:pmId>/default",
        views.SetDefaultPaymentMethodView.as_view(),
        name="billing-payment-method-set-default",
    ),
    path(
        "<slug:slug>/payment-methods/<str:pmId>", views.PaymentMethodDetailView.as_view(), name="billing-payment-method"
    ),
    path("<slug:slug>/public-key", views.PublicKeyView.as_view(), name="billing-public-key"),
    path("<slug:slug>/overage", views.OverageView.as_view(), name="billing-overage"),
    path("<slug:slug>/invoices", views.InvoiceListView.as_view(), name="billing-invoices"),
    path("<slug:slug>/invoice/<str:invoiceId>", views.InvoiceDetailView.as_view(), name="billing-invoice"),
]
