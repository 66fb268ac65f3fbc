"""Workshop pages; included into ``ideas.urls`` (namespace ``ideas``)."""

from django.urls import URLPattern, path

from wegweiser.ideas import workshop_views as views

urlpatterns: list[URLPattern] = [
    path("ideas/f/<str:federation_id>/workshops/", views.workshop_list, name="workshops"),
    path("ideas/f/<str:federation_id>/workshops/new/", views.workshop_new, name="workshop_new"),
    path("ideas/workshops/<str:workshop_id>/", views.workshop_detail, name="workshop"),
    path("ideas/workshops/<str:workshop_id>/edit/", views.workshop_edit, name="workshop_edit"),
    path("ideas/workshops/<str:workshop_id>/cancel/", views.workshop_cancel, name="workshop_cancel"),
    path("ideas/workshops/<str:workshop_id>/register/", views.workshop_register, name="workshop_register"),
    path("ideas/workshops/<str:workshop_id>/unregister/", views.workshop_unregister,
         name="workshop_unregister"),
    path("ideas/workshops/<str:workshop_id>/outcome/", views.workshop_outcome, name="workshop_outcome"),
]
