"""URLs of the segment, audience and export pages, spliced into the workspace patterns of
web/urls.py (one line there, so the campaign pages' URLs can grow beside them)."""

from django.urls import path

from otodoke.web.views import audiences, segments, segments_export

urlpatterns = [
    path("segments/", segments.segment_list, name="segments"),
    path("segments/new/", segments.segment_new, name="segment_new"),
    path("segments/builder/", segments.segment_builder, name="segment_builder"),
    path("segments/preview/", segments.segment_preview, name="segment_preview"),
    path("segments/<int:segment_id>/", segments.segment_edit, name="segment"),
    path("segments/<int:segment_id>/count/", segments.segment_count, name="segment_count"),
    path("segments/<int:segment_id>/delete/", segments.segment_delete, name="segment_delete"),
    path(
        "segments/<int:segment_id>/export/", segments_export.segment_export, name="segment_export"
    ),
    path(
        "segments/<int:segment_id>/snapshot/",
        audiences.audience_snapshot,
        name="segment_snapshot",
    ),
    path("audiences/", audiences.audience_list, name="audiences"),
    path("audiences/upload/", audiences.audience_upload, name="audience_upload"),
    path(
        "audiences/from-contacts/",
        audiences.audience_from_contacts,
        name="audience_from_contacts",
    ),
    path("audiences/<int:audience_id>/", audiences.audience_detail, name="audience"),
    path("audiences/<int:audience_id>/rename/", audiences.audience_rename, name="audience_rename"),
    path("audiences/<int:audience_id>/delete/", audiences.audience_delete, name="audience_delete"),
    path(
        "audiences/<int:audience_id>/export/",
        segments_export.audience_export,
        name="audience_export",
    ),
    path("exports/<str:token>/", segments_export.export_result, name="export_result"),
    path("exports/<str:token>/<str:which>/", segments_export.export_file, name="export_file"),
]
