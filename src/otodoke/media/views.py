"""Serving hosted images to LINE (public: LINE's servers fetch them without a login) and the
composer's upload endpoint (staff with the edit permission)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from otodoke.media import services
from otodoke.media.images import ImageRejectedError
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.workspaces.roles import Permission

# A year, immutable: a name is its content's hash, so what it names never changes.
CACHE_CONTROL = "public, max-age=31536000, immutable"


@require_GET
def serve_image(request: HttpRequest, key: str, name: str) -> HttpResponse:
    found = services.served_file(key, name)
    if found is None:
        raise Http404
    body, content_type = found
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = CACHE_CONTROL
    response["Content-Length"] = str(len(body))
    return response


@require_POST
@workspace_view(Permission.EDIT)
def upload(request: HttpRequest, access: WorkspaceAccess) -> JsonResponse:
    """One file from the composer (field `file`): its hosted URLs, or the reason it is refused."""
    upload_ = request.FILES.get("file")
    if upload_ is None:
        return JsonResponse({"error": _("Choose an image file.")}, status=400)
    try:
        image = services.upload_image(
            access.workspace, upload_.read(), name=upload_.name or "", actor=access.user
        )
    except ImageRejectedError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "key": image.key,
            "width": image.width,
            "height": image.height,
            "base_height": image.base_height(),
            **services.urls(image).as_dict(),
        }
    )
