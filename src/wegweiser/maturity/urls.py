from django.urls import path

from wegweiser.maturity import views

app_name = "maturity"
urlpatterns = [
    path("maturity/", views.home, name="home"),
    path("maturity/checks/<str:check_id>/", views.check_page, name="check"),
    path("maturity/checks/<str:check_id>/q/<int:number>/", views.answer, name="answer"),
    path("maturity/checks/<str:check_id>/finish/", views.finish, name="finish"),
    path("maturity/checks/<str:check_id>/close/", views.close, name="close"),
    path("maturity/checks/<str:check_id>/results/", views.results, name="results"),
    path("maturity/checks/<str:check_id>/results.pdf", views.results_pdf, name="results_pdf"),
    path("maturity/join/<str:token>/", views.join, name="join"),
]
