from django.urls import path

from directory import views

app_name = "directory"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("therapists/", views.therapist_list, name="therapist-list"),
    path("therapists/<slug:slug>/", views.therapist_detail, name="therapist-detail"),
    path("therapists/<slug:slug>/report/", views.report_listing, name="therapist-report"),
    path("me/profile/", views.my_profile, name="my-profile"),
    path("me/profile/photo/", views.my_photo, name="my-photo"),
    path("me/profile/photo/remove/", views.my_photo_remove, name="my-photo-remove"),
    path("me/profile/submit/", views.my_profile_submit, name="my-profile-submit"),
    path("me/profile/<slug:section>/", views.my_profile_section, name="my-profile-section"),
    path("me/availability/confirm/", views.my_availability_confirm, name="my-availability-confirm"),
]
