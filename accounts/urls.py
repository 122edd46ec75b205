from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.sign_up, name="sign-up"),
    path("me/", views.my_home, name="my-home"),
]
