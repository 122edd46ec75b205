"""The product's URLs plus the framework floor: a DRF view that does nothing (benchmarks only)."""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as product_urlpatterns


class NoopView(APIView):
    """What any DRF endpoint costs before it does anything: routing, middleware, DRF, JSON."""

    def get(self, request: Request) -> Response:
        return Response({"results": []})


urlpatterns = [path("bench/noop/", NoopView.as_view(), name="bench-noop"), *product_urlpatterns]
