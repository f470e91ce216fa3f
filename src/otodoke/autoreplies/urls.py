"""URLs of the 自動応答 pages, spliced into the workspace patterns of web/urls.py (one line
there), so they live under /w/<slug>/autoreplies/ with the web app's names."""

from django.urls import path

from otodoke.autoreplies import views

urlpatterns = [
    path("autoreplies/", views.rule_list, name="autoreplies"),
    path("autoreplies/new/", views.rule_new, name="autoreply_new"),
    path("autoreplies/<int:rule_id>/", views.rule_edit, name="autoreply"),
    path("autoreplies/<int:rule_id>/<str:action>/", views.rule_action, name="autoreply_action"),
]
