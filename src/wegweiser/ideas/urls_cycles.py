"""Improvement cycles: the list per federation, a new cycle, its page and its POST endpoints."""

from django.urls import URLPattern, path

from wegweiser.ideas import cycle_views as views

urlpatterns: list[URLPattern] = [
    path("ideas/f/<str:federation_id>/cycles/", views.cycle_list, name="cycles"),
    path("ideas/f/<str:federation_id>/cycles/new/", views.cycle_new, name="cycle_new"),
    path("ideas/cycles/<str:cycle_id>/", views.cycle_detail, name="cycle"),
    path("ideas/cycles/<str:cycle_id>/edit/", views.cycle_edit, name="cycle_edit"),
    path("ideas/cycles/<str:cycle_id>/close/", views.cycle_close, name="cycle_close"),
    path("ideas/cycles/<str:cycle_id>/reopen/", views.cycle_reopen, name="cycle_reopen"),
    path("ideas/cycles/<str:cycle_id>/measurements/", views.measurement_add, name="measurement_add"),
    path("ideas/cycles/<str:cycle_id>/measurements/delete/", views.measurement_delete,
         name="measurement_delete"),
    path("ideas/cycles/<str:cycle_id>/pdsa/", views.pdsa_start, name="pdsa_start"),
    path("ideas/cycles/<str:cycle_id>/pdsa/<str:pdsa_id>/", views.pdsa_update, name="pdsa_update"),
]
