from django.urls import path

from wegweiser.organizations import views

app_name = "organizations"

urlpatterns = [
    path("orgs/", views.tree, name="tree"),
    path("orgs/<str:node_id>/", views.node_detail, name="node"),
    path("orgs/<str:node_id>/new/", views.node_create, name="node_create"),
    path("orgs/<str:node_id>/edit/", views.node_update, name="node_update"),
    path("orgs/<str:node_id>/members/add/", views.membership_add, name="membership_add"),
    path("orgs/<str:node_id>/members/invite/", views.staff_invite, name="staff_invite"),
    path("memberships/<str:membership_id>/delete/", views.membership_delete,
         name="membership_delete"),
    path("audit/", views.audit_log, name="audit"),
]
