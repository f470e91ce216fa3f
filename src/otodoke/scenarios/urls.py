"""URLs of the scenario pages, spliced into the workspace patterns of web/urls.py (one line
there), so they live under /w/<slug>/scenarios/ with the web app's names (`web:scenarios`)."""

from django.urls import path

from otodoke.scenarios import views, views_conditions

urlpatterns = [
    path("scenarios/", views.scenario_list, name="scenarios"),
    path("scenarios/new/", views.scenario_new, name="scenario_new"),
    path("scenarios/<int:scenario_id>/", views.scenario_detail, name="scenario"),
    path("scenarios/<int:scenario_id>/trigger/", views.scenario_trigger, name="scenario_trigger"),
    path("scenarios/<int:scenario_id>/rules/", views.scenario_rules, name="scenario_rules"),
    path(
        "scenarios/<int:scenario_id>/conditions/",
        views_conditions.scenario_conditions,
        name="scenario_conditions",
    ),
    path("scenarios/<int:scenario_id>/steps/new/", views.step_new, name="scenario_step_new"),
    path(
        "scenarios/<int:scenario_id>/steps/preview/",
        views.step_preview,
        name="scenario_step_preview",
    ),
    path("scenarios/<int:scenario_id>/steps/<int:index>/", views.step_edit, name="scenario_step"),
    path(
        "scenarios/<int:scenario_id>/steps/<int:index>/change/",
        views.step_change,
        name="scenario_step_change",
    ),
    path(
        "scenarios/<int:scenario_id>/<str:action>/",
        views.scenario_action,
        name="scenario_action",
    ),
    path("settings/automation/", views.quiet_hours, name="settings_automation"),
]
