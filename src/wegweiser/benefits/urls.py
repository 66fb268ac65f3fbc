from django.urls import path

from wegweiser.benefits import views

app_name = "benefits"
urlpatterns = [
    path("rules/", views.rules_index, name="rules_index"),
    path("rules/<str:ruleset_id>/", views.ruleset_detail, name="ruleset_detail"),
]
