from django.urls import path

from otodoke.line import views

app_name = "line"

urlpatterns = [
    # Must match Workspace.webhook_path().
    path("line/webhook/<str:webhook_key>/", views.webhook, name="webhook"),
    path("link/<slug:slug>/", views.link_verify, name="link_verify"),
    path("link/<slug:slug>/unlink/", views.unlink, name="unlink"),
]
