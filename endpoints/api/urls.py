from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from endpoints.api import alerts, events, registry, tunnels, views

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from a URL of its own: no inline script under the CSP.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("v1/whoami", views.WhoamiView.as_view(), name="whoami"),
    path("v1/tunnels", tunnels.tunnels, name="tunnels"),
    # GET lists (the registry API below), POST registers (the CLI's route).
    path("v1/endpoints", registry.EndpointsView.as_view(), name="endpoint-register"),
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
    # -- the registry API (issue #22): reads, soft delete and a dry run of one endpoint ------------
    # One segment after v1/endpoints/<slug>/, never `index` (the POST above); the deploy hook has
    # three, so none of these can shadow it. `v1/endpoints/validate` stays the POST above.
    path("v1/endpoints/<str:endpoint_slug>", registry.EndpointDetailView.as_view(), name="endpoint-detail"),
    path("v1/endpoints/<str:endpoint_slug>/indexes", registry.EndpointIndexesView.as_view(), name="endpoint-indexes"),
    path("v1/endpoints/<str:endpoint_slug>/jobs", registry.EndpointJobsView.as_view(), name="endpoint-jobs"),
    path("v1/endpoints/<str:endpoint_slug>/sources", registry.EndpointSourcesView.as_view(), name="endpoint-sources"),
    path(
        "v1/endpoints/<str:endpoint_slug>/triggers", registry.EndpointTriggersView.as_view(), name="endpoint-triggers"
    ),
    path(
        "v1/endpoints/<str:endpoint_slug>/schedules",
        registry.EndpointSchedulesView.as_view(),
        name="endpoint-schedules",
    ),
    path("v1/endpoints/<str:endpoint_slug>/plan", registry.EndpointPlanView.as_view(), name="endpoint-plan"),
]
