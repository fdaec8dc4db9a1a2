from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from centrali.api.authentication import PlatformServiceAuthentication


class PlatformServiceAPIView(APIView):
    """Base of the `internal/...` endpoints: other Centrali services, never a workspace member."""

    authentication_classes = [PlatformServiceAuthentication]
    permission_classes = [IsAuthenticated]
