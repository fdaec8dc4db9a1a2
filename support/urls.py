from django.urls import path

from support import views

urlpatterns = [
    path("<slug:slug>/support-issues", views.SupportIssueListView.as_view(), name="support-issues"),
    path("<slug:slug>/support-issues/<str:id>", views.SupportIssueDetailView.as_view(), name="support-issue"),
    path(
        "<slug:slug>/support-issues/<str:id>/comments", views.CommentListView.as_view(), name="support-issue-comments"
    ),
    path(
        "<slug:slug>/support-issues/<str:id>/comments/<str:commentId>",
        views.CommentDetailView.as_view(),
        name="support-issue-comment",
    ),
]
