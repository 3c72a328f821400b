"""`/api/v1/tunnels`: Kongflow offers no tunnels.

The v2 CLI's `dev` asks `HEAD /api/v1/tunnels` whether the server can tunnel to the developer's
machine (only when the API or the app is not on `localhost`); `.ok` false makes it fall back to
its own ngrok tunnel, or to the URL given with `-t`. A clean, empty 404 says "no" without noise.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def tunnels(request: HttpRequest) -> HttpResponse:
    if request.method == "HEAD":
        return HttpResponse(status=404, content_type="application/json")
    return JsonResponse(
        {"error": "Tunnels are not supported by this server: run the CLI with -t <your app's public URL>"},
        status=404,
    )
