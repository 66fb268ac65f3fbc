from django.urls import include, path

from wegweiser.accounts import views as account_views
from wegweiser.benefits.api import router as benefits_router
from wegweiser.core import views as core_views
from wegweiser.counseling.api import api

api.add_router("/benefits", benefits_router)

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("", include("wegweiser.organizations.urls")),
    path("", include("wegweiser.counseling.urls")),
    path("", include("wegweiser.benefits.urls")),
    path("", include("wegweiser.ideas.urls")),
    path("", include("wegweiser.catalogue.urls")),
    path("", include("wegweiser.partners.urls")),
    path("", include("wegweiser.maturity.urls")),
    path("api/v1/", api.urls),
]
