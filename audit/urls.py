from django.urls import path

from audit import views

urlpatterns = [
    path("internal/audit-events", views.PlatformAuditEventsView.as_view(), name="internal-audit-events"),
    path("<slug:slug>/audit/activity", views.AuditActivityView.as_view(), name="audit-activity"),
    path("<slug:slug>/audit/export", views.AuditExportView.as_view(), name="audit-export"),
    path(
        "<slug:slug>/audit/<str:resourceType>/<str:resourceId>/history",
        views.AuditResourceHistoryView.as_view(),
        name="audit-resource-history",
    ),
]
