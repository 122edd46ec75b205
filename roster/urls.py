"""The roster's pages (config.urls includes this under roster/)."""

from django.urls import path

from roster import views

app_name = "roster"
urlpatterns = [
    path("claim/<str:token>/", views.claim, name="claim"),
]
