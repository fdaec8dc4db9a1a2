from django.urls import path

from workspaces import views

urlpatterns = [
    path("", views.WorkspaceCreateView.as_view(), name="workspace-create"),
    path("<slug:slug>", views.WorkspaceDetailView.as_view(), name="workspace-detail"),
    path("<slug:slug>/delete", views.WorkspaceSoftDeleteView.as_view(), name="workspace-delete"),
    path("<slug:slug>/restore", views.WorkspaceRestoreView.as_view(), name="workspace-restore"),
    path("<slug:slug>/capabilities", views.WorkspaceCapabilitiesView.as_view(), name="workspace-capabilities"),
]
