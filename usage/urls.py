from django.urls import path

from usage import views

urlpatterns = [
    path("internal/usage-events", views.UsageEventIngestView.as_view(), name="internal-usage-events"),
    path("internal/workspaces/<slug:slug>/quota", views.WorkspaceQuotaView.as_view(), name="internal-workspace-quota"),
    path("<slug:slug>/usage/current", views.CurrentUsageView.as_view(), name="usage-current"),
    path("<slug:slug>/usage/historical", views.HistoricalUsageView.as_view(), name="usage-historical"),
    path("<slug:slug>/usage/<str:billingPeriod>", views.PeriodUsageView.as_view(), name="usage-period"),
    path("<slug:slug>/overview", views.OverviewView.as_view(), name="workspace-overview"),
]
