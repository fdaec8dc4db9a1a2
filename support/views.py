from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from centrali.api.pagination import page_envelope, parse_cursor_params, parse_page_params
from centrali.api.schema import error_response
from centrali.errors import InvalidInput, PermissionDenied
from centrali.paging import paginate
from support import selectors, services
from support.models import Comment, IssueStatus
from support.serializers import (
    CommentCreateSerializer,
    CommentPageSerializer,
    CommentSerializer,
    CommentUpdateSerializer,
    SupportIssueCreateSerializer,
    SupportIssuePageSerializer,
    SupportIssueSerializer,
    SupportIssueUpdateSerializer,
)
from workspaces.tenancy import ANY_MEMBER, WorkspaceAPIView

TAGS = ["Support"]
ISSUE_ID = OpenApiParameter("id", str, OpenApiParameter.PATH)
COMMENT_ID = OpenApiParameter("commentId", str, OpenApiParameter.PATH)
_COMMENT_ID_FIELD = Comment._meta.get_field("id")


class SupportAPIView(WorkspaceAPIView):
    """Any member of the workspace reads, opens issues and comments (finer rules in the services)."""

    required_roles = dict.fromkeys(("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"), ANY_MEMBER)
    # A suspended customer still needs to reach support.
    allowed_when_suspended = frozenset({"POST", "PUT", "DELETE"})

    def issue(self):
        return selectors.get_issue(workspace=self.workspace, issue_id=self.kwargs["id"])


class SupportIssueListView(SupportAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("page", int, default=1),
            OpenApiParameter("limit", int, default=20, description="1..100"),
            OpenApiParameter("status", str, enum=IssueStatus.values),
        ],
        # GETs document their 400 here: the schema hook adds one to writes only.
        responses={
            200: SupportIssuePageSerializer,
            400: error_response("INVALID_PAGINATION or INVALID_FILTER: bad paging or status"),
        },
        tags=TAGS,
        operation_id="support_issues_list",
    )
    def get(self, request, slug):
        params = parse_page_params(request.query_params)
        status_filter = request.query_params.get("status") or None
        if status_filter and status_filter not in IssueStatus.values:
            raise InvalidInput.for_field(
                "status", f"`status` must be one of: {', '.join(IssueStatus.values)}.", code="INVALID_FILTER"
            )
        issues, total = paginate(selectors.issues_of(workspace=self.workspace, status=status_filter), params)
        return Response(page_envelope(SupportIssueSerializer(issues, many=True).data, params, total))

    @extend_schema(request=SupportIssueCreateSerializer, responses={201: SupportIssueSerializer}, tags=TAGS)
    def post(self, request, slug):
        serializer = SupportIssueCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issue = services.create_issue(
            workspace=self.workspace,
            author=request.user,
            title=data["title"],
            description=data["description"],
            issue_type=data["type"],
            priority=data["priority"],
            category=data["category"],
        )
        return Response(SupportIssueSerializer(issue).data, status=status.HTTP_201_CREATED)


class SupportIssueDetailView(SupportAPIView):
    @extend_schema(parameters=[ISSUE_ID], responses=SupportIssueSerializer, tags=TAGS)
    def get(self, request, slug, id):
        return Response(SupportIssueSerializer(self.issue()).data)

    @extend_schema(
        parameters=[ISSUE_ID], request=SupportIssueUpdateSerializer, responses=SupportIssueSerializer, tags=TAGS
    )
    def put(self, request, slug, id):
        issue = self.issue()
        if not services.may_update_issue(user=request.user, role=self.membership.role, issue=issue):
            raise PermissionDenied(
                "Only the issue's creator, an owner or an admin may update it.", code="NOT_ISSUE_CREATOR"
            )
        serializer = SupportIssueUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issue = services.update_issue(issue=issue, actor=request.user, **serializer.validated_data)
        return Response(SupportIssueSerializer(issue).data)


class CommentListView(SupportAPIView):
    @extend_schema(
        parameters=[
            ISSUE_ID,
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int, default=20, description="1..100"),
        ],
        responses={200: CommentPageSerializer, 400: error_response("INVALID_PAGINATION or INVALID_CURSOR: bad paging")},
        tags=TAGS,
        operation_id="support_issue_comments_list",
    )
    def get(self, request, slug, id):
        issue = self.issue()
        cursor = parse_cursor_params(request.query_params, model_field=_COMMENT_ID_FIELD, default_limit=20)
        comments, next_cursor, has_more = selectors.public_comments_page(issue=issue, cursor=cursor)
        return Response(CommentPageSerializer({"data": comments, "nextCursor": next_cursor, "hasMore": has_more}).data)

    @extend_schema(
        parameters=[ISSUE_ID], request=CommentCreateSerializer, responses={200: CommentSerializer}, tags=TAGS
    )
    def post(self, request, slug, id):
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.add_comment(
            issue=self.issue(),
            author=request.user,
            body=serializer.validated_data["comment"],
            display_name=serializer.validated_data["displayName"],
        )
        # The spec answers comment creation with 200.
        return Response(CommentSerializer(comment).data, status=status.HTTP_200_OK)


class CommentDetailView(SupportAPIView):
    def comment(self):
        return selectors.get_public_comment(issue=self.issue(), comment_id=self.kwargs["commentId"])

    @extend_schema(parameters=[ISSUE_ID, COMMENT_ID], responses=CommentSerializer, tags=TAGS)
    def get(self, request, slug, id, commentId):
        return Response(CommentSerializer(self.comment()).data)

    @extend_schema(
        parameters=[ISSUE_ID, COMMENT_ID], request=CommentUpdateSerializer, responses=CommentSerializer, tags=TAGS
    )
    def put(self, request, slug, id, commentId):
        comment = self.comment()
        serializer = CommentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.edit_comment(comment=comment, actor=request.user, body=serializer.validated_data["comment"])
        return Response(CommentSerializer(comment).data)

    @extend_schema(parameters=[ISSUE_ID, COMMENT_ID], responses={204: None}, tags=TAGS)
    def delete(self, request, slug, id, commentId):
        services.delete_comment(comment=self.comment(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
