from django.urls import path

from wegweiser.partners import inbox_views, manage_views, views

app_name = "partners"
urlpatterns = [
    path("partners/", views.directory, name="directory"),
    path("partners/p/<str:partner_id>/", views.partner, name="partner"),
    path("partners/requests/", views.requests, name="requests"),
    path("partners/requests/new/", views.request_new, name="request_new"),
    path("partners/requests/<str:request_id>/", views.request_detail, name="request"),
    path("partners/requests/<str:request_id>/address/", views.request_address, name="request_address"),
    path("partners/requests/<str:request_id>/close/", views.request_close, name="request_close"),
    path("partners/inbox/", inbox_views.inbox, name="inbox"),
    path("partners/inbox/<str:request_id>/", inbox_views.inbox_request, name="inbox_request"),
    path("partners/inbox/<str:request_id>/reply/", inbox_views.reply, name="reply"),
    path("partners/manage/", manage_views.manage, name="manage"),
    path("partners/manage/new/", manage_views.partner_new, name="partner_new"),
    path("partners/manage/<str:partner_id>/", manage_views.partner_edit, name="partner_edit"),
    path("partners/manage/<str:partner_id>/logins/add/", manage_views.member_add, name="member_add"),
    path("partners/manage/<str:partner_id>/logins/invite/", manage_views.member_invite, name="member_invite"),
    path(
        "partners/manage/<str:partner_id>/logins/<str:member_id>/remove/",
        manage_views.member_remove,
        name="member_remove",
    ),
]
