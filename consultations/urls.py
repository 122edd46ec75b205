from django.urls import path
from django.views.generic import RedirectView

from consultations import views

app_name = "consultations"
urlpatterns = [
    path("about/accuracy/", views.accuracy, name="accuracy"),
    path("consultations/new/", views.new, name="new"),
    path("consultations/sent/", views.sent, name="sent"),
    # The client's private link: confirms the request, then shows where it stands.
    path("consultations/<str:token>/", views.status, name="status"),
    # One inbox for physicians' offers and clients' requests; the offers' old address leads there.
    path("me/inbox/", views.inbox, name="inbox"),
    path("me/offers/", RedirectView.as_view(pattern_name="consultations:inbox"), name="offers"),
    path("me/consultations/<int:consultation_id>/", views.detail, name="detail"),
    path("me/consultations/<int:consultation_id>/accept/", views.accept, name="accept"),
    path("me/consultations/<int:consultation_id>/decline/", views.decline, name="decline"),
]
