from django.urls import path

from wegweiser.ideas import triage_views as triage
from wegweiser.ideas import views
from wegweiser.ideas.urls_cycles import urlpatterns as cycle_urls
from wegweiser.ideas.urls_workshops import urlpatterns as workshop_urls

app_name = "ideas"
urlpatterns = [
    *workshop_urls,
    *cycle_urls,
    path("ideas/", views.start, name="start"),
    path("ideas/f/<str:federation_id>/", views.board, name="board"),
    path("ideas/f/<str:federation_id>/new/", views.item_new, name="item_new"),
    path("ideas/f/<str:federation_id>/similar/", views.similar, name="similar"),
    path("ideas/f/<str:federation_id>/notices/", views.notices, name="notices"),
    path("ideas/f/<str:federation_id>/matrix/", triage.matrix, name="matrix"),
    path("ideas/f/<str:federation_id>/overview/", triage.overview, name="overview"),
    path("ideas/f/<str:federation_id>/overview.csv", triage.overview_csv, name="overview_csv"),
    path("ideas/f/<str:federation_id>/moderation/", triage.moderation, name="moderation"),
    path("ideas/f/<str:federation_id>/stages/", triage.stages, name="stages"),
    path("ideas/items/<str:item_id>/", views.item, name="item"),
    path("ideas/items/<str:item_id>/edit/", views.item_edit, name="item_edit"),
    path("ideas/items/<str:item_id>/support/", views.support, name="support"),
    path("ideas/items/<str:item_id>/unsupport/", views.unsupport, name="unsupport"),
    path("ideas/items/<str:item_id>/follow/", views.follow, name="follow"),
    path("ideas/items/<str:item_id>/comment/", views.comment, name="comment"),
    path("ideas/items/<str:item_id>/report/", views.report, name="report"),
    path("ideas/items/<str:item_id>/files/", views.attachment_add, name="attachment_add"),
    path("ideas/files/<str:attachment_id>/", views.attachment, name="attachment"),
    path("ideas/items/<str:item_id>/triage/", triage.triage, name="triage"),
    path("ideas/items/<str:item_id>/triage/note/", triage.note, name="note"),
    path("ideas/items/<str:item_id>/triage/score/", triage.score, name="score"),
    path("ideas/items/<str:item_id>/triage/move/", triage.move, name="move"),
    path("ideas/items/<str:item_id>/triage/evaluator/", triage.evaluator, name="evaluator"),
    path("ideas/items/<str:item_id>/triage/moderate/", triage.moderate, name="moderate"),
]
