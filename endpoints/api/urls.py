from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from endpoints.api import alerts, events, tunnels, views

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL of its own: no inline script under the CSP.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("v1/whoami", views.WhoamiView.as_view(), name="whoami"),
    path("v1/tunnels", tunnels.tunnels, name="tunnels"),
    path("v1/endpoints", views.EndpointRegisterView.as_view(), name="endpoint-register"),
    path("v1/endpoints/validate", views.EndpointValidateView.as_view(), name="endpoint-validate"),
    path("v1/endpoints/<str:endpoint_slug>/index", views.EndpointIndexView.as_view(), name="endpoint-index"),
    path(
        "v1/endpoints/<str:environment_id>/<str:endpoint_slug>/index/<str:hook_identifier>",
        views.EndpointIndexHookView.as_view(),
        name="endpoint-index-hook",
    ),
    path("v1/endpointindex/<str:index_id>", views.EndpointIndexStatusView.as_view(), name="endpoint-index-status"),
    path("v1/registry-events", events.RegistryEventsView.as_view(), name="registry-events"),
    path("v1/event-subscriptions", events.SubscriptionListView.as_view(), name="event-subscriptions"),
    path(
        "v1/event-subscriptions/<str:subscription_id>",
        events.SubscriptionDetailView.as_view(),
        name="event-subscription",
    ),
    path(
        "v1/event-subscriptions/<str:subscription_id>/rotate-secret",
        events.SubscriptionRotateSecretView.as_view(),
        name="event-subscription-rotate-secret",
    ),
    # Alert channels (e-mail, Slack-compatible webhooks) of the key's environment.
    path("v1/alert-channels", alerts.AlertChannelListView.as_view(), name="alert-channels"),
    path("v1/alert-channels/<str:channel_id>", alerts.AlertChannelDetailView.as_view(), name="alert-channel"),
]
