from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("", views.home, name="home"),
    path("therapists/", views.therapist_list, name="therapist-list"),
    path("therapists/<slug:slug>/", views.therapist_detail, name="therapist-detail"),
]
