from django.urls import path

from wegweiser.benefits import application_views as apps
from wegweiser.benefits import views

app_name = "benefits"
urlpatterns = [
    path("rules/", views.rules_index, name="rules_index"),
    path("rules/<str:ruleset_id>/", views.ruleset_detail, name="ruleset_detail"),
    path("benefits/", apps.my_applications, name="my_applications"),
    path("benefits/applications/<str:application_id>/", apps.application, name="application"),
    path("benefits/applications/<str:application_id>/withdraw/", apps.withdraw, name="withdraw"),
    path("benefits/applications/<str:application_id>/receipts/", apps.receipt_upload, name="receipt_upload"),
    path("benefits/receipts/<str:receipt_id>/", apps.receipt_download, name="receipt"),
    path("benefits/receipts/<str:receipt_id>/delete/", apps.receipt_delete, name="receipt_delete"),
    path("benefits/queue/", apps.queue, name="queue"),
    path("benefits/queue/<str:application_id>/", apps.case, name="case"),
    path("benefits/decisions/<str:decision_id>/approve/", apps.approve, name="approve"),
    path("benefits/decisions/<str:decision_id>/letter.pdf", apps.letter, name="letter"),
    path("benefits/offices/<str:office_id>/policy/", apps.policy, name="policy"),
    path("benefits/microsimulation/", apps.microsimulation, name="microsimulation"),
]
