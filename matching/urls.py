from django.urls import path

from matching import views

app_name = "matching"

urlpatterns = [
    path("match/", views.find_my_match, name="find-my-match"),
    path("referrals/", views.referral_list, name="referral-list"),
    path("referrals/new/", views.referral_create, name="referral-create"),
    path("referrals/<uuid:referral_id>/", views.referral_detail, name="referral-detail"),
    path("referrals/<uuid:referral_id>/offer/", views.referral_offer, name="referral-offer"),
    path("referrals/<uuid:referral_id>/withdraw/", views.referral_withdraw, name="referral-withdraw"),
    path("referrals/<uuid:referral_id>/close/", views.referral_close, name="referral-close"),
    path("me/offers/<int:offer_id>/", views.offer_detail, name="offer-detail"),
    path("me/offers/<int:offer_id>/accept/", views.offer_accept, name="offer-accept"),
    path("me/offers/<int:offer_id>/decline/", views.offer_decline, name="offer-decline"),
    path("me/offers/<int:offer_id>/schedule/", views.offer_schedule, name="offer-schedule"),
]
