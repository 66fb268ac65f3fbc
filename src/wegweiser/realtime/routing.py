from django.urls import path

from wegweiser.counseling.consumers import ChatConsumer
from wegweiser.realtime.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/chat/", ChatConsumer.as_asgi()),
]
