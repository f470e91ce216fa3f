"""URLs of the rich-menu pages, spliced into the workspace patterns of web/urls.py (one line
there), so they live under /w/<slug>/richmenus/ with the web app's names (`web:richmenus`)."""

from django.urls import path

from otodoke.richmenus import views

urlpatterns = [
    path("richmenus/", views.richmenu_list, name="richmenus"),
    path("richmenus/new/", views.richmenu_new, name="richmenu_new"),
    path("richmenus/rules/new/", views.rule_new, name="richmenu_rule_new"),
    path("richmenus/rules/<int:rule_id>/", views.rule_change, name="richmenu_rule"),
    path("richmenus/<int:menu_id>/", views.richmenu_detail, name="richmenu"),
    path("richmenus/<int:menu_id>/settings/", views.richmenu_settings, name="richmenu_settings"),
    path("richmenus/<int:menu_id>/areas/", views.richmenu_areas, name="richmenu_areas"),
    path("richmenus/<int:menu_id>/publish/", views.richmenu_publish, name="richmenu_publish"),
    path("richmenus/<int:menu_id>/default/", views.richmenu_default, name="richmenu_default"),
    path("richmenus/<int:menu_id>/image", views.richmenu_image, name="richmenu_image"),
]
