from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("alerts/", views.alerts_save, name="alerts_save"),
    path("plan/", views.plan, name="plan"),
    path("plan/<slug:slug>/confirm/", views.plan_confirm, name="plan_confirm"),
    path("details/", views.details, name="details"),
    path("invoices/<str:number>/", views.invoice, name="invoice"),
    path("invoices/<str:number>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
