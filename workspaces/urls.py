from django.urls import path

from workspaces import views

urlpatterns = [
    path("", views.WorkspaceCreateView.as_view(), name="workspace-create"),
    path("<slug:slug>", views.WorkspaceDetailView.as_view(), name="workspace-detail"),
    path("<slug:slug>/delete", views.WorkspaceSoftDeleteView.as_view(), name="workspace-delete"),
    path("<slug:slug>/restore", views.WorkspaceRestoreView.as_view(), name="workspace-restore"),
    path("<slug:slug>/capabilities", views.WorkspaceCapabilitiesView.as_view(), name="workspace-capabilities"),
    path("<slug:slug>/provision-status", views.ProvisionStatusView.as_view(), name="workspace-provision-status"),
    path("<slug:slug>/provision-status/retry", views.ProvisionRetryView.as_view(), name="workspace-provision-retry"),
    path("<slug:slug>/export", views.ExportView.as_view(), name="workspace-export"),
    path("<slug:slug>/export/<str:jobId>", views.ExportJobView.as_view(), name="workspace-export-job"),
    path(
        "<slug:slug>/export/<str:jobId>/download",
        views.ExportDownloadView.as_view(),
        name="workspace-export-download",
    ),
]
