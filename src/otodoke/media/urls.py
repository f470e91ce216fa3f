"""Hosted images, public: /media/i/<key>/original.jpg, …/preview.jpg, …/map/<width>."""

from django.urls import path, re_path

from otodoke.media import views

public_patterns = [
    re_path(
        r"^media/i/(?P<key>[0-9a-f]{40})/(?P<name>original\.(?:jpg|png)|preview\.jpg|map/\d{3,4})$",
        views.serve_image,
        name="hosted-image",
    ),
]

# Mounted under /w/<slug>/ by the staff UI's URLs.
workspace_patterns = [path("media/upload/", views.upload, name="media_upload")]
