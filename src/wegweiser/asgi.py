"""HTTP and WebSocket entry point (uvicorn wegweiser.asgi:application)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wegweiser.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from wegweiser.realtime.routing import websocket_urlpatterns  # noqa: E402
from wegweiser.realtime.security import OriginGuard  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginGuard(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything loaded so far (Django, the URL conf, templates' modules) lives as long as the
# process. Freezing it keeps the collector's full passes from walking those objects again and
# again: under chat load the full passes otherwise stall the event loop for 50-100 ms, which
# showed up directly as the delivery p99 (docs/performance.md).
gc.collect()
gc.freeze()
