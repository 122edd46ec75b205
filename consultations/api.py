"""The consultation app's JSON API: the public accuracy figures."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from consultations import accuracy
from consultations.serializers import AccuracySerializer


class AccuracyView(APIView):
    """How true the directory is: fresh availability, replies in time, reports handled, silences (public)."""

    @extend_schema(responses={200: AccuracySerializer})
    def get(self, request: Request) -> Response:
        return Response(AccuracySerializer(accuracy.figures().as_dict()).data)
