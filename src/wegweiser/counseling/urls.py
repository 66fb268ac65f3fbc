from django.urls import path

from wegweiser.counseling import key_views, views

app_name = "counseling"

urlpatterns = [
    path("counseling/", views.finder, name="finder"),
    path("counseling/enquiry/<str:agency_id>/<str:topic_id>/", views.enquiry_new, name="enquiry_new"),
    path("conversations/", views.conversation_list, name="conversations"),
    path("conversations/<str:conversation_id>/", views.conversation, name="conversation"),
    path("conversations/<str:conversation_id>/send/", views.message_send, name="message_send"),
    path("conversations/<str:conversation_id>/files/", views.attachment_upload, name="attachment_upload"),
    path("conversations/<str:conversation_id>/accept/", views.enquiry_accept, name="enquiry_accept"),
    path("conversations/<str:conversation_id>/close/", views.conversation_close, name="conversation_close"),
    path("conversations/<str:conversation_id>/safety-code/", views.safety_code, name="safety_code"),
    path("conversations/<str:conversation_id>/archive/", views.conversation_archive,
         name="conversation_archive"),
    path("conversations/<str:conversation_id>/handover/", views.handover_request, name="handover_request"),
    path("handovers/<str:handover_id>/", views.handover_answer, name="handover_answer"),
    path("files/<str:attachment_id>/", views.attachment_download, name="attachment_download"),
    path("inbox/", views.inbox_view, name="inbox"),
    path("absence/", views.absence, name="absence"),
    path("statistics/", views.statistics_view, name="statistics"),
    path("orgs/<str:node_id>/topics/", views.topic_list, name="topic_list"),
    path("orgs/<str:node_id>/topics/new/", views.topic_create, name="topic_create"),
    path("topics/<str:topic_id>/edit/", views.topic_update, name="topic_update"),
    path("orgs/<str:node_id>/agency/", views.agency_settings, name="agency_settings"),
    path("account/notifications/", views.notifications, name="notifications"),
    path("account/data/", views.my_data, name="my_data"),
    path("keys/", key_views.keys_page, name="keys"),
    path("keys/identity/", key_views.identity, name="keys_identity"),
    path("keys/identity/password/", key_views.rewrap, name="keys_rewrap"),
    path("keys/teams/", key_views.teams, name="keys_teams"),
    path("keys/teams/<str:agency_id>/", key_views.team, name="keys_team"),
    path("keys/recover/", key_views.recover, name="keys_recover"),
]
