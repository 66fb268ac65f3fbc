from django.urls import path

from wegweiser.catalogue import views

app_name = "catalogue"
urlpatterns = [
    path("tools/", views.tool_list, name="list"),
    path("tools/compare/", views.tool_compare, name="compare"),
    path("tools/advice/", views.advice, name="advice"),
    path("tools/<str:slug>/", views.tool_detail, name="detail"),
]
